"""The ``dlfs`` command: train and evaluate the book's models from a shell.

    dlfs train mnist --epochs 10 --save mnist.npz     # the chapter's MLP recipe, 10 epochs
    dlfs train mnist --model cnn --limit 6000         # the CNN recipe on 6,000 digits
    dlfs evaluate mnist --params mnist.npz
    dlfs train cats --json                            # last line: one JSON object
    dlfs train mnist --checkpoint run.npz             # a checkpoint after every epoch...
    dlfs train mnist --checkpoint run.npz --resume run.npz   # ...to continue the run from

``dlfs train`` runs a recipe (:mod:`dlfs.recipes.mnist`, :mod:`dlfs.recipes.mnist_cnn`,
:mod:`dlfs.recipes.cats`): its ``RECIPE`` holds the defaults, and the options
given on the command line change those fields and nothing else
(``RECIPE.with_(...)``).  It trains with the recipe's ``train`` (training and
validation data only), then reads the test set once with the recipe's
``final_test``, and reports both the validation and the test accuracy.  An
option the chosen recipe does not have is refused, never ignored.  The same
``--seed`` gives the same run at the same number of BLAS threads (for the
mnist MLP, every seed trains on the chapter's training/validation split).

``--checkpoint PATH`` saves a training checkpoint
(:class:`dlfs.train.SaveCheckpoint`) after every epoch, replacing the last
one atomically; it records the run's options.  ``--resume PATH`` continues
the run of such a checkpoint (:func:`dlfs.train.fit`'s ``resume``) and ends
with the parameters and history the uninterrupted run would have, bit for bit
at the same number of BLAS threads.  The dataset, ``--model``, ``--seed``,
``--limit`` and every recipe value must be the run's, except ``--epochs``,
which may be larger (to train longer) but not smaller than the epochs the
checkpoint holds; anything else (another dataset, model, seed, option value
or ``--limit``, a file that is not a checkpoint of ``dlfs train``, a missing
file) exits 2 naming what differs.  Output options (``--save``,
``--checkpoint``, ``--quiet``, ``--json``) are free.
Early stopping (``--patience``, the mnist cnn's best epoch) and learning-rate
schedules resume with the run: the checkpoint holds the best epoch's
parameters, and the schedule follows the epoch number.

Exit status: 0 on success; 2 for a bad option or combination of options
(argparse's convention, checked before any data is loaded: values, options
that do not apply to the chosen model, split and batch sizes against the
dataset's size, the ``--save`` and ``--checkpoint`` targets and the
``--resume`` checkpoint); 1 with a one-line message for a
run-time failure (a missing or corrupt dataset or parameter file, an
unusable data cache, a diverging run, too little memory, a failed save after
training -- the model is then written beside the requested path or the
message says where it could not be; even an internal error is one line,
``DLFS_DEBUG=1`` shows its traceback); 130 after Ctrl-C (nothing is saved);
141 when the output pipe is closed early.  This module is argparse and
dispatch only; no library module imports it.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import losses
from ._checks import check_positive
from .data import DatasetError, datasets
from .data.transforms import split_sizes
from .io import (MAX_LAYERS, ParameterFileError, check_sample_size, check_save_path, load_model,
                 read_checkpoint, save_model)
from .layers import ACTIVATION_LAYERS
from .optim import OPTIMIZERS, AdamW, make_optimizer
from .recipes import cats, cats_cnn, mnist, mnist_cnn
from .schedules import ExponentialDecay, check_rates
from .train import (SaveCheckpoint, TrainingDiverged, TrainingInterrupted, check_batching,
                    evaluate)

#: The recipe each ``dataset``/``--model`` pair runs.
RECIPES = {("mnist", "mlp"): mnist, ("mnist", "cnn"): mnist_cnn, ("cats", "mlp"): cats,
           ("cats", "cnn"): cats_cnn}

#: Command-line option -> recipe field; an option given for a recipe without that field
#: is refused (exit 2).
FIELDS = {"hidden": "--hidden", "epochs": "--epochs", "batch_size": "--batch-size",
          "lr": "--lr", "optimizer": "--optimizer", "activation": "--activation",
          "weight_decay": "--weight-decay", "dropout": "--dropout", "batchnorm": "--batchnorm",
          "patience": "--patience", "val_fraction": "--val-fraction",
          "drop_last": "--drop-last", "lr_decay": "--lr-decay", "shift": "--shift"}


def _defaults(recipe) -> dict:
    d = recipe.as_dict()
    return {"hidden": ",".join(map(str, d["hidden"])), "epochs": d["epochs"],
            "batch_size": d["batch_size"], "lr": d["lr"]}


#: Per-dataset defaults of the MLP, read from the recipes (they live there, once).
DEFAULTS = {"mnist": _defaults(mnist.RECIPE), "cats": _defaults(cats.RECIPE)}
#: Evaluation may hold this many values of one batch at its widest layer (512 MiB float32).
EVAL_BUDGET = 2**27
#: The largest ``--shift`` in pixels (28-pixel digits shifted further leave the frame).
MAX_SHIFT = 27


# -- argument types -----------------------------------------------------------------------------

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


def _shift(text: str) -> int:
    value = _non_negative(int)(text)
    if value > MAX_SHIFT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SHIFT} (a 28x28 digit shifted "
                                         f"further leaves the picture), got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlfs", description="Train and evaluate the book's models from a shell.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train a recipe's model on a dataset, then report validation and test "
             "accuracy",
        description="Options change the recipe's values (shown in brackets); an option the "
                    "chosen recipe does not have is refused.")
    train.set_defaults(subparser=train)
    train.add_argument("dataset", choices=sorted(DEFAULTS))
    train.add_argument("--model", choices=["mlp", "cnn"], default="mlp",
                       help="cnn: a convolutional network of Part 3 (mnist: "
                            "dlfs.recipes.mnist_cnn, cats: dlfs.recipes.cats_cnn)")
    m, c, n = mnist.RECIPE, cats.RECIPE, mnist_cnn.RECIPE
    train.add_argument("--hidden", type=_hidden_sizes, metavar="SIZES",
                       help=f"hidden layer sizes, comma-separated [mnist "
                            f"{DEFAULTS['mnist']['hidden']}; cats "
                            f"{DEFAULTS['cats']['hidden'] or 'none'}; cnn {n.hidden}]")
    train.add_argument("--activation", choices=sorted(set(ACTIVATION_LAYERS) - {"softmax"}),
                       help=f"mnist mlp only [{m.activation}]")
    train.add_argument("--epochs", type=_positive(int),
                       help=f"[mnist {m.epochs}; cats {c.epochs}; cnn {n.epochs}]")
    train.add_argument("--batch-size", type=_positive(int),
                       help=f"[mnist {m.batch_size}; cats {c.batch_size}; cnn {n.batch_size}]")
    train.add_argument("--lr", type=_positive(float),
                       help=f"learning rate [mnist {m.lr:g}; cats {c.lr:g}; cnn {n.lr:g}]")
    train.add_argument("--optimizer", choices=sorted(OPTIMIZERS),
                       help=f"mlp only [mnist {m.optimizer}; cats {c.optimizer}]")
    train.add_argument("--weight-decay", type=_non_negative(float), metavar="L2",
                       help=f"mlp only [mnist {m.weight_decay:g}; cats {c.weight_decay:g}; "
                            f"adamw without it: {AdamW().weight_decay:g}]")
    train.add_argument("--dropout", type=_dropout, metavar="P",
                       help=f"mlp only [mnist {m.dropout:g}; cats {c.dropout:g}]")
    train.add_argument("--batchnorm", action="store_true", help="mnist mlp only")
    train.add_argument("--patience", type=_positive(int),
                       help="mnist mlp only: early stopping on validation loss, restoring the "
                            "best epoch")
    train.add_argument("--val-fraction", type=_fraction,
                       help=f"share held out for validation [mnist {m.val_fraction:g}; cnn "
                            f"{n.val_fraction:.4g}]")
    train.add_argument("--limit", type=_positive(int), metavar="N",
                       help="train on the first N training images only (quick runs)")
    train.add_argument("--seed", type=_non_negative(int), default=0,
                       help="the same seed gives the same run at the same number of BLAS "
                            "threads [0]")
    train.add_argument("--drop-last", action="store_true",
                       help="mnist mlp only: leave out each epoch's incomplete last mini-batch "
                            "(by default only a single leftover sample with --batchnorm is)")
    train.add_argument("--lr-decay", type=_non_negative(float), metavar="K",
                       help=f"mnist: lr * exp(-K * epoch) [mlp {m.lr_decay:g}; cnn "
                            f"{n.lr_decay:g}]")
    train.add_argument("--shift", type=_shift, metavar="PX",
                       help=f"random shifts of up to PX pixels (mnist, mnist cnn, cats cnn) "
                            f"[{m.shift}; 0: off]")
    train.add_argument("--save", metavar="PATH", help="write the trained parameters (.npz)")
    train.add_argument("--checkpoint", metavar="PATH",
                       help="save a checkpoint after every epoch (replacing the last), to "
                            "continue the run with --resume PATH")
    train.add_argument("--resume", metavar="PATH",
                       help="continue the run of this checkpoint: give the options it was "
                            "started with (--epochs may be larger)")
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


# -- options -> recipe, checked before anything is loaded ---------------------------------------

def _recipe_from_options(args):
    """The recipe module and ``RECIPE`` with the options given; exit 2 for any that do not fit."""
    module = RECIPES.get((args.dataset, args.model))
    if module is None:
        args.subparser.error(f"there is no --model {args.model} recipe for {args.dataset}")
    recipe, changes = module.RECIPE, {}
    fields = recipe.as_dict()
    for field, option in FIELDS.items():
        value = getattr(args, field)
        if value is None or value is False:
            continue                                    # not given: the recipe decides
        if field not in fields:
            args.subparser.error(f"argument {option}: does not apply to the {recipe.name} "
                                 f"recipe (its options: {_options_of(fields)})")
        if field == "hidden":
            value = tuple(value)
            if isinstance(fields["hidden"], int):       # one hidden layer (the CNN)
                if len(value) != 1:
                    args.subparser.error(f"argument --hidden: the {recipe.name} recipe has "
                                         f"one hidden layer; give one size, got {args.hidden}")
                value = value[0]
        changes[field] = value
    if args.optimizer == "adamw" and args.weight_decay is None and "weight_decay" in fields:
        changes["weight_decay"] = AdamW().weight_decay     # AdamW's own default, not 0
    try:
        recipe = recipe.with_(**changes)
    except (TypeError, ValueError) as err:
        args.subparser.error(f"the {recipe.name} recipe: {err}")
    return module, recipe


def _options_of(fields: dict) -> str:
    return ", ".join(option for field, option in FIELDS.items() if field in fields)


def _n_images(args) -> int | None:
    """How many training images the run reads (None: the dataset's size is unknown)."""
    size = datasets.train_size(args.dataset)
    return args.limit if size is None else min(args.limit or size, size)


def _check_train(args, recipe) -> None:
    """Split and batch sizes against the dataset's size, the schedule, the --save and
    --checkpoint targets, the --resume checkpoint."""
    n = _n_images(args)
    described = " ".join(f"{FIELDS[k]} {v:g}" for k, v in (
        ("val_fraction", getattr(recipe, "val_fraction", None)),
        ("batch_size", recipe.batch_size)) if v is not None)
    if n is not None:
        try:
            n_train = split_sizes(n, recipe.val_fraction)[0] if hasattr(
                recipe, "val_fraction") else n
            check_batching(n_train, recipe.batch_size,
                           min_batch=2 if getattr(recipe, "batchnorm", False) else 1,
                           drop_last=getattr(recipe, "drop_last", None))
        except ValueError as err:
            limit = f" --limit {args.limit}" if args.limit is not None else ""
            batchnorm = " --batchnorm" if getattr(recipe, "batchnorm", False) else ""
            args.subparser.error(f"the {recipe.name} recipe with {described}{limit}"
                                 f"{batchnorm}: {err}")
    if hasattr(recipe, "optimizer"):
        try:
            make_optimizer(recipe.optimizer, recipe.lr, weight_decay=recipe.weight_decay)
        except ValueError as err:
            args.subparser.error(f"--optimizer {recipe.optimizer} with --lr {recipe.lr:g}, "
                                 f"--weight-decay {recipe.weight_decay:g}: {err}")
    if getattr(recipe, "lr_decay", None):
        try:
            check_rates(ExponentialDecay(recipe.lr, recipe.lr_decay), recipe.epochs)
        except ValueError as err:
            args.subparser.error(f"--lr {recipe.lr:g} with --lr-decay {recipe.lr_decay:g}: "
                                 f"{err}")
    if args.save is not None:
        try:
            check_save_path(args.save)
        except ValueError as err:
            args.subparser.error(f"argument --save: {err}")
        hidden = getattr(recipe, "hidden", ())
        if isinstance(hidden, tuple):                # Dense [BatchNorm] act [Dropout] each
            per_layer = (2 + bool(getattr(recipe, "batchnorm", False))
                         + bool(getattr(recipe, "dropout", 0)))
            if len(hidden) * per_layer + 1 > MAX_LAYERS:
                args.subparser.error(f"argument --hidden: {len(hidden)} hidden layers make "
                                     f"{len(hidden) * per_layer + 1} layers; a parameter file "
                                     f"holds at most {MAX_LAYERS}, so --save could not work")
    if args.checkpoint is not None:
        try:
            target = check_save_path(args.checkpoint)
        except ValueError as err:
            args.subparser.error(f"argument --checkpoint: {err}")
        if args.save is not None and check_save_path(args.save) == target:
            args.subparser.error("argument --checkpoint: the same file as --save (the trained "
                                 "model would replace the checkpoint)")
    if args.resume is not None:
        args.resumed_epoch = _check_resume(args, recipe)


def _run_info(args, recipe) -> dict:
    """What decides a run of ``dlfs train``: recorded in its checkpoints, compared by
    --resume (the number of epochs aside)."""
    n = _n_images(args)
    limit = None if n is not None and n == datasets.train_size(args.dataset) else n
    return {"command": "dlfs train", "dataset": args.dataset, "model": args.model,
            "seed": args.seed, "limit": limit, "recipe": recipe.as_dict()}


def _check_resume(args, recipe) -> int:
    """The epoch the --resume checkpoint holds; exit 2 unless it is one of ``dlfs train``'s
    for this run (a missing or damaged file, another run's options, too few --epochs)."""
    def fail(message):
        args.subparser.error(f"argument --resume: {args.resume} {message}")

    try:
        checkpoint = read_checkpoint(args.resume)
    except FileNotFoundError:
        fail("does not exist")
    except ParameterFileError as err:
        args.subparser.error(f"argument --resume: {err}")
    theirs, ours = checkpoint.info, _run_info(args, recipe)
    if not isinstance(theirs, dict) or theirs.get("command") != "dlfs train":
        fail("is a training checkpoint, but not one of dlfs train --checkpoint: there is no "
             "record of its run's options to check these against")
    run = f"{theirs.get('dataset')} --model {theirs.get('model')}"
    if run != f"{args.dataset} --model {args.model}":
        fail(f"is a checkpoint of dlfs train {run}, not of {args.dataset} --model "
             f"{args.model}")
    different = [(f"--{key}", theirs.get(key), ours[key]) for key in ("seed", "limit")
                 if theirs.get(key) != ours[key]]
    their_recipe = theirs.get("recipe") if isinstance(theirs.get("recipe"), dict) else {}
    for field in sorted(set(their_recipe) | set(ours["recipe"])):
        if field != "epochs" and their_recipe.get(field) != ours["recipe"].get(field):
            option = FIELDS.get(field, f"the recipe's {field}")
            different.append((option, their_recipe.get(field), ours["recipe"].get(field)))
    if different:
        fail("is from another run: " + "; ".join(
            f"{option} {_shown(a)} there, {_shown(b)} here" for option, a, b in different)
             + "; give the options the run was started with")
    if recipe.epochs < checkpoint.epoch:
        fail(f"holds {_epochs(checkpoint.epoch)}, more than --epochs {recipe.epochs}; give "
             f"--epochs {checkpoint.epoch} or more")
    return checkpoint.epoch


def _shown(value) -> str:
    """An option's value as it is typed (None: not given)."""
    if value is None:
        return "none"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


# -- running ----------------------------------------------------------------------------------

def _load_data(module, recipe, args):
    """``(data, test)``: what the recipe trains on, through the dataset loaders (``--limit``
    applied), and the test set for its ``final_test`` (None: ``final_test`` loads it, or
    the recipe has none)."""
    if module is mnist:
        # Split seed 0 whatever --seed is: the split of the chapter's search and final runs.
        # The test arrays go to final_test only, never into the training data.
        train, val, test, _ = datasets.load_dataset(
            "mnist", seed=0, val_fraction=recipe.val_fraction, limit=args.limit)
        return mnist.MnistData(*train, *val), test
    if module is mnist_cnn:
        return mnist_cnn.load_mnist_images(seed=args.seed, val_fraction=recipe.val_fraction,
                                           limit=args.limit), None
    x_train, y_train = module.load_data()[:2]           # cats, cats_cnn: training pictures
    return (x_train[:args.limit], y_train[:args.limit]), None


def cmd_train(args) -> dict:
    module, recipe = _recipe_from_options(args)
    _check_train(args, recipe)
    data, test = _load_data(module, recipe, args)
    if not args.quiet:
        print(f"{recipe.name} recipe: {json.dumps(recipe.as_dict())}, seed {args.seed}",
              file=sys.stderr)
        if args.resume:
            print(f"resuming after epoch {args.resumed_epoch} from {args.resume}",
                  file=sys.stderr)
    callbacks = [] if args.checkpoint is None else [
        SaveCheckpoint(args.checkpoint, info=_run_info(args, recipe))]
    result = module.train(recipe, data, seed=args.seed,
                          progress=False if args.quiet else None, callbacks=callbacks,
                          resume=args.resume)
    if hasattr(module, "final_test"):   # the user's final run: its one reading of the test set
        result = module.final_test(result) if test is None else module.final_test(result, test)
    if not args.quiet:
        print(result.model.summary(result.input_shape), file=sys.stderr)
        _print_history(result.history)
    saved = None
    if args.save:
        saved, args.save_problem = _save(result.model, args.save, result.input_shape)
        args.saved_to = saved
    return {"command": "train", "dataset": args.dataset, "model": args.model,
            **result.summary(), "saved": saved, "checkpoint": args.checkpoint,
            "resumed_after": getattr(args, "resumed_epoch", None)}


def _resumable(args, interrupt) -> str:
    """After Ctrl-C in training: what the --checkpoint holds, if it holds this run's
    epochs up to the interrupted one ("" otherwise)."""
    path = args.checkpoint
    if path is None or not isinstance(interrupt, TrainingInterrupted):
        return ""
    try:
        epoch = read_checkpoint(path).epoch
    except (OSError, ValueError):
        return ""
    return "" if epoch != interrupt.epoch - 1 else (
        f"; the checkpoint {path} holds {_epochs(epoch)}: add --resume {path} to continue")


def _epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def _print_history(h) -> None:
    columns = [("loss", h.loss), ("acc", h.accuracy), ("val_loss", h.val_loss),
               ("val_acc", h.val_accuracy), ("lr", h.lr)]
    columns = [(name, values) for name, values in columns if len(values) == h.epochs]
    print(f"{'epoch':>5} " + " ".join(f"{name:>8}" for name, _ in columns), file=sys.stderr)
    for i in range(h.epochs):
        print(f"{i + 1:>5} " + " ".join(f"{v[i]:8.2e}" if name == "lr" else f"{v[i]:8.4f}"
                                        for name, v in columns), file=sys.stderr)


def _save(model, path: str, input_shape) -> tuple[str | None, str | None]:
    """Save after training: ``(where it was saved or None, what went wrong or None)``.

    If the target went bad during training, the model is written beside it
    (or in the current folder, or the temporary folder) and the problem says where.
    """
    try:
        save_model(model, path, input_shape=input_shape)
        return path, None
    except (OSError, ValueError) as err:
        first = f"could not save the trained parameters to {path}: {_reason(err)}"
    stem = Path(Path(path).name).stem or "model"
    tried = []
    for folder in (Path(path).parent, Path.cwd(), Path(tempfile.gettempdir())):
        fallback = folder / f"{stem}.{os.getpid()}.npz"
        try:
            save_model(model, fallback, input_shape=input_shape)
        except (OSError, ValueError):
            tried.append(str(fallback))
            continue
        return str(fallback), f"{first}; saved them to {fallback} instead"
    return None, f"{first}; also could not write {', '.join(tried)}: nothing was saved"


def _reason(err: BaseException) -> str:
    text = str(err)
    return text if not isinstance(err, OSError) or not err.strerror else (
        f"{err.strerror}" + (f": {err.filename}" if err.filename else ""))


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
    input_shape = _model_input_shape(model)
    X, labels, n_classes, sample = _test_inputs(args.dataset, input_shape)
    n_out = datasets.n_outputs(n_classes)
    out_shape, size = None, 1
    if X is not None:
        size = check_sample_size(model, X.shape[1:], args.params)   # a forged width or padding
        dtype = next((layer.dtype for layer in model.layers if layer.dtype is not None),
                     np.float32)
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
        takes = ("records no input shape and does not start with a Dense layer"
                 if input_shape is None else
                 f"maps {_describe_inputs(input_shape)} inputs to "
                 f"{_describe_inputs(out_shape) if out_shape else '?'} outputs")
        raise ParameterFileError(
            f"{args.params} was not trained on {args.dataset}: the model {takes}, the dataset "
            f"needs {_describe_inputs(sample)} -> {n_out}")
    batch_size = max(1, min(4096, EVAL_BUDGET // size))
    test_loss, test_acc = evaluate(model, losses.for_outputs(n_out), X,
                                   datasets.as_targets(labels, n_classes), batch_size=batch_size)
    return {"command": "evaluate", "dataset": args.dataset, "params": args.params,
            "test_accuracy": test_acc, "test_loss": test_loss, "n_params": model.n_params()}


def _test_inputs(dataset: str, input_shape):
    """The test set laid out for the model (X None if no layout fits), labels, classes, shape.

    Only the test file is read.  A cats model with fewer inputs than a picture has
    values is one of the cats recipe's, which takes pooled pictures.
    """
    pictures = datasets.dataset_module(dataset).IMAGE_SHAPE
    if (dataset == "cats" and input_shape is not None and len(input_shape) == 1
            and input_shape[0] < int(np.prod(pictures))):
        pooled = cats.pooled_test_set(input_shape[0])
        if pooled is not None:
            return pooled[0], pooled[1], datasets.N_CLASSES[dataset], pictures
    if (dataset == "cats" and input_shape is not None and len(input_shape) == 3
            and tuple(input_shape) != (3, *pictures[:2])):
        pooled = cats_cnn.pooled_test_set(input_shape)     # a cats cnn model: pooled pictures
        if pooled is not None:
            return pooled[0], pooled[1], datasets.N_CLASSES[dataset], pictures
    images, labels, n_classes = datasets.load_test_set(dataset)
    X = None if input_shape is None else datasets.arrange_inputs(images, input_shape)
    return X, labels, n_classes, images.shape[1:]


# -- the command ------------------------------------------------------------------------------

class _Nowhere(io.TextIOBase):
    """Stands in for a standard stream that was closed when the command started."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


def _open_missing_streams() -> None:
    """A closed stdout/stderr (cron, daemons) is None in Python: write nowhere instead.

    Otherwise ``print(..., file=sys.stderr)`` would write to stdout (``file=None``)
    and spoil ``--json``, and the final flush would be an AttributeError.
    """
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, _Nowhere())


def _report(result: dict, args) -> None:
    if args.json:
        print(json.dumps(result))
    else:
        val = result.get("val_accuracy")
        print((f"validation accuracy: {val:.4f}  " if val is not None else "")
              + f"test accuracy: {result['test_accuracy']:.4f}"
              + (f"  (trained {result['epochs']} epochs in {result['train_seconds']:.1f} s)"
                 if args.command == "train" else ""))
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    _open_missing_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = cmd_train(args) if args.command == "train" else cmd_evaluate(args)
        _report(result, args)
        if getattr(args, "save_problem", None):        # trained and reported, not saved as asked
            print(f"dlfs: error: {args.save_problem}", file=sys.stderr)
            return 1
    except BrokenPipeError:
        # The reader went away (``dlfs ... | head``): stop quietly, like a killed pipe.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141
    except KeyboardInterrupt as interrupt:
        where = (f" in epoch {interrupt.epoch} of {interrupt.epochs}"
                 if isinstance(interrupt, TrainingInterrupted) else "")
        saved = getattr(args, "saved_to", None)
        outcome = ("" if args.command != "train" else
                   f"; the parameters were saved to {saved}" if saved else
                   _resumable(args, interrupt) or "; nothing was saved")
        print(f"dlfs: interrupted{where}{outcome}", file=sys.stderr)
        return 130
    except MemoryError as err:
        what = (f" ({err})" if str(err) else "")
        fix = ("--batch-size, --hidden, --limit" if args.command == "train"
               else "the model in --params")
        print(f"dlfs: error: out of memory{what}; reduce {fix}", file=sys.stderr)
        return 1
    except (DatasetError, ParameterFileError, TrainingDiverged, OSError) as err:
        print(f"dlfs: error: {_reason(err) if type(err) is OSError else err}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, ArithmeticError) as err:      # a run-time check
        print(f"dlfs: error: {err}", file=sys.stderr)
        return 1
    except Exception as err:          # noqa: BLE001  a bug: still one line, and say so
        if os.environ.get("DLFS_DEBUG"):
            raise
        print(f"dlfs: internal error: {type(err).__name__}: {err} (please report it; "
              "DLFS_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
