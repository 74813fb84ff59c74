"""The ``dlfs`` command: train and evaluate the book's models from a shell.

    dlfs train mnist --hidden 256,128 --epochs 10 --save mnist.npz
    dlfs evaluate mnist --params mnist.npz
    dlfs train cats --json          # last line: one JSON object

Usage errors exit with status 2 (argparse's convention); data or parameter
file problems exit with status 1 and a one-line message.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from .io import ParameterFileError, load_model, save_model
from .layers import ACTIVATION_LAYERS, Conv2D, Dense
from .losses import BinaryCrossEntropy, SoftmaxCrossEntropy
from .model import mlp
from .optim import OPTIMIZERS, make_optimizer
from .train import evaluate, fit

#: Per-dataset defaults; options given on the command line override them.
DEFAULTS = {
    "mnist": {"hidden": "256,128", "epochs": 10, "batch_size": 128, "lr": 1e-3},
    "cats": {"hidden": "20,7,5", "epochs": 100, "batch_size": 32, "lr": 1e-4},
}


def load_dataset(name: str, *, seed: int, val_fraction: float, limit: int | None):
    """Train/validation/test arrays, float32 features of shape (n, n_features).

    MNIST has 10 classes (labels 0-9); cats is binary, with targets of shape
    (n, 1) for a single logit output.
    """
    from .data import load_cats, load_mnist, to_float, train_val_split

    if name == "mnist":
        x_train, y_train, x_test, y_test = load_mnist()
        n_classes = 10
    else:
        x_train, y_train, x_test, y_test, _ = load_cats()
        n_classes = 2
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
    X, X_test = to_float(x_train), to_float(x_test)
    X_tr, y_tr, X_val, y_val = train_val_split(X, y_train, val_fraction, seed=seed)
    return (X_tr, y_tr), (X_val, y_val), (X_test, y_test), n_classes


def _targets(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Binary problems train one logit on (n, 1) float targets; others use labels."""
    return y.reshape(-1, 1).astype(np.float32) if n_classes == 2 else y


def _loss_for(n_outputs: int):
    return BinaryCrossEntropy(from_logits=True) if n_outputs == 1 else SoftmaxCrossEntropy()


def _hidden_sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}")
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    return parse


def _fraction(text: str) -> float:
    value = _positive(float)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text}")
    return value


def _dropout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlfs", description="Train and evaluate the book's models from a shell.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train an MLP on a dataset and report test accuracy")
    train.add_argument("dataset", choices=sorted(DEFAULTS))
    train.add_argument("--model", choices=["mlp", "cnn"], default="mlp",
                       help="cnn: the convolutional network of Part 3 (mnist only; uses "
                            "--epochs, --batch-size, --lr, --limit, --seed, --save)")
    train.add_argument("--hidden", type=_hidden_sizes, metavar="SIZES",
                       help="hidden layer sizes, comma-separated (mnist: 256,128; cats: 20,7,5)")
    train.add_argument("--activation", default="relu",
                       choices=sorted(set(ACTIVATION_LAYERS) - {"softmax"}))
    train.add_argument("--epochs", type=_positive(int))
    train.add_argument("--batch-size", type=_positive(int))
    train.add_argument("--lr", type=_positive(float), help="learning rate")
    train.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS))
    train.add_argument("--weight-decay", type=float, default=0.0, metavar="L2")
    train.add_argument("--dropout", type=_dropout, default=0.0, metavar="P")
    train.add_argument("--batchnorm", action="store_true")
    train.add_argument("--patience", type=_positive(int),
                       help="early stopping on validation loss, restoring the best epoch")
    train.add_argument("--val-fraction", type=_fraction, default=0.1)
    train.add_argument("--limit", type=_positive(int), metavar="N",
                       help="train on the first N training images only (quick runs)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--save", metavar="PATH", help="write the trained parameters (.npz)")
    _add_output_flags(train)

    ev = commands.add_parser("evaluate", help="test accuracy of saved parameters")
    ev.add_argument("dataset", choices=sorted(DEFAULTS))
    ev.add_argument("--params", required=True, metavar="PATH", help="file written by train --save")
    _add_output_flags(ev)
    return parser


def _add_output_flags(p):
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch table")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object with the results as the last line")


def cmd_train(args) -> dict:
    if args.model == "cnn":
        return cmd_train_cnn(args)
    defaults = DEFAULTS[args.dataset]
    hidden = args.hidden if args.hidden is not None else _hidden_sizes(defaults["hidden"])
    epochs = args.epochs or defaults["epochs"]
    batch_size = args.batch_size or defaults["batch_size"]
    lr = args.lr or defaults["lr"]

    train, val, test, n_classes = load_dataset(args.dataset, seed=args.seed,
                                               val_fraction=args.val_fraction, limit=args.limit)
    n_out = 1 if n_classes == 2 else n_classes
    model = mlp([train[0].shape[1], *hidden, n_out], activation=args.activation,
                dropout=args.dropout, batchnorm=args.batchnorm,
                rng=np.random.default_rng(args.seed))
    loss = _loss_for(n_out)
    optimizer = make_optimizer(args.optimizer, lr, weight_decay=args.weight_decay)
    if not args.quiet:
        print(model.summary((train[0].shape[1],)), file=sys.stderr)

    start = time.perf_counter()
    history = fit(model, loss, optimizer, train[0], _targets(train[1], n_classes),
                  epochs=epochs, batch_size=batch_size,
                  validation=(val[0], _targets(val[1], n_classes)), patience=args.patience,
                  seed=args.seed, progress=False if args.quiet else None)
    train_seconds = time.perf_counter() - start

    if not args.quiet:
        print(f"{'epoch':>5} {'loss':>8} {'acc':>7} {'val_loss':>8} {'val_acc':>7}",
              file=sys.stderr)
        for i in range(history.epochs):
            print(f"{i + 1:>5} {history.loss[i]:8.4f} {history.accuracy[i]:7.4f} "
                  f"{history.val_loss[i]:8.4f} {history.val_accuracy[i]:7.4f}", file=sys.stderr)
    if args.save:
        save_model(model, args.save)
    test_loss, test_acc = evaluate(model, loss, test[0], _targets(test[1], n_classes))
    return {
        "command": "train", "dataset": args.dataset, "test_accuracy": test_acc,
        "test_loss": test_loss, "val_accuracy": history.val_accuracy[-1],
        "train_accuracy": history.accuracy[-1], "train_seconds": round(train_seconds, 3),
        "epochs": history.epochs, "stopped_early": history.stopped_early,
        "best_epoch": None if history.best_epoch is None else history.best_epoch + 1,
        "n_params": model.n_params(), "hidden": hidden, "optimizer": args.optimizer, "lr": lr,
        "batch_size": batch_size, "seed": args.seed, "saved": args.save,
    }


def cmd_train_cnn(args) -> dict:
    """``dlfs train mnist --model cnn``: the recipe of :mod:`dlfs.recipes.mnist_cnn`."""
    from .recipes.mnist_cnn import train_mnist_cnn

    if args.dataset != "mnist":
        print("dlfs train: error: --model cnn is for mnist only", file=sys.stderr)
        raise SystemExit(2)
    result = train_mnist_cnn(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                             limit=args.limit, seed=args.seed, progress=False if args.quiet
                             else None)
    model = result.pop("model")
    result.pop("history")
    if args.save:
        save_model(model, args.save)
    return {"command": "train", "dataset": "mnist", "model": "cnn", **result,
            "saved": args.save}


def cmd_evaluate(args) -> dict:
    model = load_model(args.params)
    if args.dataset == "mnist" and isinstance(model.layers[0], Conv2D):     # the Part 3 CNN
        from .recipes.mnist_cnn import load_mnist_images
        _, _, (X_test, y_test) = load_mnist_images(dtype=model.layers[0].dtype)
        test_loss, test_acc = evaluate(model, SoftmaxCrossEntropy(), X_test, y_test, 1000)
        return {"command": "evaluate", "dataset": "mnist", "params": args.params,
                "test_accuracy": test_acc, "test_loss": test_loss, "n_params": model.n_params()}
    _, _, test, n_classes = load_dataset(args.dataset, seed=0, val_fraction=0.1, limit=None)
    first = next((l for l in model.layers if isinstance(l, Dense)), None)
    last = next((l for l in reversed(model.layers) if isinstance(l, Dense)), None)
    n_out = 1 if n_classes == 2 else n_classes
    if first is None or first.n_in != test[0].shape[1] or last.n_out != n_out:
        raise ParameterFileError(f"{args.params} was not trained on {args.dataset}: the model "
                                 f"maps {first.n_in if first else '?'} inputs to "
                                 f"{last.n_out if last else '?'} outputs, the dataset needs "
                                 f"{test[0].shape[1]} -> {n_out}")
    X_test = test[0].astype(first.dtype, copy=False)
    loss = _loss_for(n_out)
    test_loss, test_acc = evaluate(model, loss, X_test, _targets(test[1], n_classes))
    return {"command": "evaluate", "dataset": args.dataset, "params": args.params,
            "test_accuracy": test_acc, "test_loss": test_loss, "n_params": model.n_params()}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .data import DatasetError

    try:
        result = cmd_train(args) if args.command == "train" else cmd_evaluate(args)
    except (DatasetError, ParameterFileError, FileNotFoundError) as err:
        print(f"dlfs: error: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
    else:
        print(f"test accuracy: {result['test_accuracy']:.4f}"
              + (f"  (trained {result['epochs']} epochs in {result['train_seconds']:.1f} s)"
                 if args.command == "train" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
