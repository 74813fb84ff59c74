"""The ``dlfs`` command: train and evaluate the book's models from a shell.

    dlfs train mnist --hidden 256,128 --epochs 10 --save mnist.npz
    dlfs evaluate mnist --params mnist.npz
    dlfs train cats --json          # last line: one JSON object

Exit status: 0 on success; 2 for a bad option or combination of options
(argparse's convention, checked before anything is loaded or trained); 1 with
a one-line message for a run-time failure (a missing or corrupt dataset or
parameter file, an unusable data cache, a diverging training run); 130 after
Ctrl-C (nothing is saved); 141 when the output pipe is closed early.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from . import losses
from ._checks import check_positive
from .data import datasets
from .io import ParameterFileError, check_save_path, load_model, save_model
from .layers import ACTIVATION_LAYERS
from .model import mlp
from .optim import OPTIMIZERS, make_optimizer
from .train import TrainingDiverged, TrainingInterrupted, check_batching, evaluate, fit

#: Per-dataset defaults; options given on the command line override them.
DEFAULTS = {
    # The MNIST defaults are the case study's recipe (dlfs.recipes.mnist.RECIPE).
    "mnist": {"hidden": "512,256", "epochs": 15, "batch_size": 128, "lr": 1e-3},
    "cats": {"hidden": "20,7,5", "epochs": 100, "batch_size": 32, "lr": 1e-4},
}
#: Training set sizes, so that options can be checked before anything is loaded.
TRAIN_SIZES = {"mnist": 60_000, "cats": 209}


def __getattr__(name: str):
    # Temporary, until the recipes import dlfs.data.datasets and dlfs.losses themselves:
    # the old names resolve at call time, so tests that patch the new seams patch these too.
    moved = {"load_dataset": (datasets, "load_dataset"), "load_test_set": (datasets, "load_test_set"),
             "arrange_inputs": (datasets, "arrange_inputs"), "_targets": (datasets, "as_targets"),
             "_loss_for": (losses, "for_outputs")}
    if name in moved:
        module, attr = moved[name]
        return getattr(module, attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _hidden_sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def _checked(kind, **check):
    """An argparse type: convert with ``kind``, then the library's own :func:`check_positive`."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}")
        try:
            check_positive(value, "value", integer=kind is int, **check)
        except (TypeError, ValueError) as err:
            raise argparse.ArgumentTypeError(str(err).removeprefix("value ")) from None
        return value
    return parse


def _positive(kind):
    return _checked(kind)


def _non_negative(kind):
    return _checked(kind, allow_zero=True)


def _fraction(text: str) -> float:
    value = _positive(float)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text}")
    return value


def _dropout(text: str) -> float:
    value = _non_negative(float)(text)
    if not value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _check_combination(args) -> None:
    """Checks that need several options (and the dataset's size), with the library's rules."""
    from .data.transforms import split_sizes

    if args.command != "train":
        return
    n = TRAIN_SIZES[args.dataset] if args.limit is None else min(args.limit,
                                                                 TRAIN_SIZES[args.dataset])
    batch_size = args.batch_size or DEFAULTS[args.dataset]["batch_size"]
    try:
        n_train, _ = split_sizes(n, args.val_fraction)
        check_batching(n_train, batch_size, min_batch=2 if args.batchnorm else 1,
                       drop_last=True if args.drop_last else None)
    except ValueError as err:
        limit = f" --limit {args.limit}" if args.limit is not None else ""
        batchnorm = " --batchnorm" if args.batchnorm else ""
        args.subparser.error(f"{args.dataset} with --val-fraction {args.val_fraction}{limit}, "
                             f"--batch-size {batch_size}{batchnorm}: {err}")
    if args.save is not None:
        try:
            check_save_path(args.save)
        except ValueError as err:
            args.subparser.error(f"argument --save: {err}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlfs", description="Train and evaluate the book's models from a shell.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train an MLP on a dataset and report test accuracy")
    train.set_defaults(subparser=train)
    train.add_argument("dataset", choices=sorted(DEFAULTS))
    train.add_argument("--model", choices=["mlp", "cnn"], default="mlp",
                       help="cnn: the convolutional network of Part 3 (mnist only; uses "
                            "--epochs, --batch-size, --lr, --limit, --seed, --save)")
    train.add_argument("--hidden", type=_hidden_sizes, metavar="SIZES",
                       help="hidden layer sizes, comma-separated (mnist: 512,256; cats: 20,7,5)")
    train.add_argument("--activation", default="relu",
                       choices=sorted(set(ACTIVATION_LAYERS) - {"softmax"}))
    train.add_argument("--epochs", type=_positive(int))
    train.add_argument("--batch-size", type=_positive(int))
    train.add_argument("--lr", type=_positive(float), help="learning rate")
    train.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS))
    train.add_argument("--weight-decay", type=_non_negative(float), default=0.0, metavar="L2")
    train.add_argument("--dropout", type=_dropout, default=0.0, metavar="P")
    train.add_argument("--batchnorm", action="store_true")
    train.add_argument("--patience", type=_positive(int),
                       help="early stopping on validation loss, restoring the best epoch")
    train.add_argument("--val-fraction", type=_fraction, default=0.1)
    train.add_argument("--limit", type=_positive(int), metavar="N",
                       help="train on the first N training images only (quick runs)")
    train.add_argument("--seed", type=_non_negative(int), default=0)
    train.add_argument("--drop-last", action="store_true",
                       help="leave out each epoch's incomplete last mini-batch (by default "
                            "only a single leftover sample with --batchnorm is left out)")
    train.add_argument("--lr-decay", type=_non_negative(float), metavar="K",
                       help="mnist only: lr * exp(-K * epoch) (default 0.2)")
    train.add_argument("--shift", type=_non_negative(int), metavar="PX",
                       help="mnist only: random shifts of up to PX pixels (default 1; 0: off)")
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


def _cats_recipe_applies(args) -> bool:
    """``dlfs train cats`` with no model or training option runs the chapter's recipe."""
    return args.dataset == "cats" and all(
        getattr(args, name) == value for name, value in (
            ("hidden", None), ("activation", "relu"), ("epochs", None), ("batch_size", None),
            ("lr", None), ("optimizer", "adam"), ("weight_decay", 0.0), ("dropout", 0.0),
            ("batchnorm", False), ("patience", None), ("val_fraction", 0.1), ("limit", None),
            ("drop_last", False)))


def cmd_train(args) -> dict:
    if args.model == "cnn":
        return cmd_train_cnn(args)
    if _cats_recipe_applies(args):
        from .recipes.cats import run_cli
        return run_cli(args)
    if args.dataset == "mnist":
        from .recipes import mnist
        return mnist.run_cli(args)
    defaults = DEFAULTS[args.dataset]
    hidden = args.hidden if args.hidden is not None else _hidden_sizes(defaults["hidden"])
    epochs = args.epochs or defaults["epochs"]
    batch_size = args.batch_size or defaults["batch_size"]
    lr = args.lr or defaults["lr"]

    train, val, test, n_classes = datasets.load_dataset(args.dataset, seed=args.seed,
                                               val_fraction=args.val_fraction, limit=args.limit)
    n_out = 1 if n_classes == 2 else n_classes
    input_shape = train[0].shape[1:]
    model = mlp([int(np.prod(input_shape)), *hidden, n_out], activation=args.activation,
                dropout=args.dropout, batchnorm=args.batchnorm,
                rng=np.random.default_rng(args.seed))
    loss = losses.for_outputs(n_out)
    optimizer = make_optimizer(args.optimizer, lr, weight_decay=args.weight_decay)
    if not args.quiet:
        print(model.summary(input_shape), file=sys.stderr)

    start = time.perf_counter()
    history = fit(model, loss, optimizer, train[0], datasets.as_targets(train[1], n_classes),
                  epochs=epochs, batch_size=batch_size,
                  validation=(val[0], datasets.as_targets(val[1], n_classes)), patience=args.patience,
                  seed=args.seed, progress=False if args.quiet else None,
                  drop_last=True if args.drop_last else None)
    train_seconds = time.perf_counter() - start

    if not args.quiet:
        print(f"{'epoch':>5} {'loss':>8} {'acc':>7} {'val_loss':>8} {'val_acc':>7}",
              file=sys.stderr)
        for i in range(history.epochs):
            print(f"{i + 1:>5} {history.loss[i]:8.4f} {history.accuracy[i]:7.4f} "
                  f"{history.val_loss[i]:8.4f} {history.val_accuracy[i]:7.4f}", file=sys.stderr)
    if args.save:
        try:
            save_model(model, args.save, input_shape=input_shape)
        except (OSError, ValueError) as err:      # the path changed during training
            raise OSError(f"could not save the trained parameters to {args.save}: {err}") \
                from None
        args.saved_to = args.save
    test_loss, test_acc = evaluate(model, loss, test[0], datasets.as_targets(test[1], n_classes))
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
        args.subparser.error("--model cnn is for mnist only")
    result = train_mnist_cnn(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                             limit=args.limit, seed=args.seed, progress=False if args.quiet
                             else None)
    model = result.pop("model")
    result.pop("history")
    if args.save:
        save_model(model, args.save, input_shape=(1, 28, 28))
        args.saved_to = args.save
    return {"command": "train", "dataset": "mnist", "model": "cnn", **result,
            "saved": args.save}


def _model_input_shape(model) -> tuple[int, ...] | None:
    """The recorded input shape, or for older files the first layer's ``n_in``."""
    if getattr(model, "input_shape", None) is not None:
        return tuple(model.input_shape)
    n_in = model.layers[0].config().get("n_in")
    return None if n_in is None else (n_in,)


def _describe_inputs(shape) -> str:
    return "?" if shape is None else f"{shape[0]}" if len(shape) == 1 else f"{shape}"


def cmd_evaluate(args) -> dict:
    model = load_model(args.params)
    images, labels, n_classes = datasets.load_test_set(args.dataset)
    n_out = 1 if n_classes == 2 else n_classes
    input_shape = _model_input_shape(model)
    X = None if input_shape is None else datasets.arrange_inputs(images, input_shape)
    if X is None and args.dataset == "cats" and input_shape is not None and len(input_shape) == 1:
        from .recipes.cats import pooled_test_set      # a model of the cats recipe
        pooled = pooled_test_set(input_shape[0])
        X = None if pooled is None else pooled[0]
    out_shape = None
    if X is not None:
        dtype = next(iter(model.state().values()), np.empty(0, np.float32)).dtype
        X = X.astype(dtype, copy=False)
        try:
            out_shape = model.forward(X[:1], training=False).shape[1:]
        except (ValueError, TypeError):
            X = None
    if X is None and input_shape is not None:
        try:
            out_shape = model.output_shape(input_shape)
        except ValueError:
            pass
    if X is None or out_shape != (n_out,):
        raise ParameterFileError(
            f"{args.params} was not trained on {args.dataset}: the model maps "
            f"{_describe_inputs(input_shape)} inputs to "
            f"{_describe_inputs(out_shape) if out_shape else '?'} outputs, the dataset needs "
            f"{_describe_inputs(images.shape[1:])} -> {n_out}")
    loss = losses.for_outputs(n_out)
    test_loss, test_acc = evaluate(model, loss, X, datasets.as_targets(labels, n_classes))
    return {"command": "evaluate", "dataset": args.dataset, "params": args.params,
            "test_accuracy": test_acc, "test_loss": test_loss, "n_params": model.n_params()}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_combination(args)
    from .data import DatasetError

    try:
        result = cmd_train(args) if args.command == "train" else cmd_evaluate(args)
        if args.json:
            print(json.dumps(result))
        else:
            print(f"test accuracy: {result['test_accuracy']:.4f}"
                  + (f"  (trained {result['epochs']} epochs in {result['train_seconds']:.1f} s)"
                     if args.command == "train" else ""))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``dlfs ... | head``): stop quietly, like a killed pipe.
        if sys.stdout is sys.__stdout__:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt as interrupt:
        where = (f" in epoch {interrupt.epoch} of {interrupt.epochs}"
                 if isinstance(interrupt, TrainingInterrupted) else "")
        saved = getattr(args, "saved_to", None)
        outcome = ("" if args.command != "train" else
                   f"; the parameters were saved to {saved}" if saved else "; nothing was saved")
        print(f"dlfs: interrupted{where}{outcome}", file=sys.stderr)
        return 130
    except (DatasetError, ParameterFileError, TrainingDiverged, OSError) as err:
        print(f"dlfs: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
