"""What every recipe shares: a frozen configuration type, one result type, one cache.

* :class:`Recipe` is the base of every recipe's configuration (a frozen
  dataclass): :meth:`Recipe.with_` makes a changed copy and refuses fields
  the recipe does not have, and each recipe checks its values when it is
  built.
* :class:`Result` is what every recipe's ``train`` returns; its test fields
  stay None until the recipe's ``final_test``, the one reader of the test
  set, fills them.
* :func:`cached` trains once and loads the identical result afterwards, from
  a per-user cache, under a key that covers everything the result depends on:
  the recipe, the seed, the data, the source of :mod:`dlfs` and NumPy's version.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._checks import check_choice, check_positive
from .._files import atomic_write
from ..io import load_model, save_model
from ..model import Sequential
from ..optim import OPTIMIZERS
from ..train import History

#: Environment variable naming the folder of trained recipe results.
CACHE_DIR_ENV = "DLFS_CACHE_DIR"


def check_sizes(sizes, name: str) -> None:
    """``sizes`` must be a tuple of positive integers (layer widths, channels)."""
    if not isinstance(sizes, tuple):
        raise TypeError(f"{name} must be a tuple of positive integers, got {sizes!r}")
    for size in sizes:
        check_positive(size, f"each of {name}", integer=True)


@dataclass(frozen=True)
class Recipe:
    """Base of the recipes' configurations: frozen, checked, changed only by copying.

    A subclass is a frozen dataclass whose fields are the recipe's choices,
    with the chapter's values as defaults, and whose :meth:`check` refuses
    values the recipe cannot use.
    """

    #: What the recipe is called in messages ("the mnist recipe").
    name = "recipe"

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ValueError or TypeError for a value the recipe cannot use.

        Checks the fields recipes share, when the recipe has them; a subclass
        calls it and adds the checks of its own fields.
        """
        have = {f.name for f in dataclasses.fields(self)}
        for name in ("epochs", "batch_size", "patience"):      # patience None: no stopping
            if name in have and not (name == "patience" and self.patience is None):
                check_positive(getattr(self, name), name, integer=True)
        for name, allow_zero in (("lr", False), ("lr_decay", True), ("weight_decay", True)):
            if name in have:
                check_positive(getattr(self, name), name, allow_zero=allow_zero)
        if "optimizer" in have:
            check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        if "val_fraction" in have and not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction!r}")
        if "dropout" in have and not (isinstance(self.dropout, (int, float))
                                      and 0 <= self.dropout < 1):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    def with_(self, **changes) -> Recipe:
        """A copy with some fields changed (``RECIPE.with_(epochs=3)``), checked.

        Raises ValueError naming the fields a recipe has when asked for one it
        does not have (an option that does not apply to this recipe).
        """
        known = [f.name for f in dataclasses.fields(self)]
        unknown = [k for k in changes if k not in known]
        if unknown:
            raise ValueError(f"the {self.name} recipe has no option "
                             f"{', '.join(map(repr, unknown))}; its options are "
                             f"{', '.join(known)}")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        """The fields as JSON-friendly values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}


@dataclass
class Result:
    """What a recipe's ``train`` returns: the model, its history and the headline numbers.

    ``train_seconds`` counts the epochs (with augmentation and validation),
    not the data loading; a resumed run's counts the epochs trained after
    resuming (``history.seconds`` keeps every epoch's time of the passes over
    the training set, before and after); ``input_shape`` is the shape of
    one input sample of ``model`` (what :func:`dlfs.io.save_model` records).
    """

    model: Sequential
    history: History
    recipe: Recipe
    seed: int
    train_seconds: float
    input_shape: tuple[int, ...]
    #: Whether the model has the parameters of the best validation epoch (else the last).
    restored_best: bool = False
    extra: dict = field(default_factory=dict)
    #: Filled only by the recipe's ``final_test``, the one reader of the test set
    #: (None until then: ``train`` never looks at test data).
    test_loss: float | None = None
    test_accuracy: float | None = None

    @property
    def best_epoch(self) -> int | None:
        """The epoch (from 1) with the lowest validation loss, or None without validation."""
        best = self.history.best_epoch
        return None if best is None else best + 1

    @property
    def val_accuracy(self) -> float | None:
        """Validation accuracy of the epoch whose parameters the model has."""
        h = self.history
        if not h.val_accuracy:
            return None
        return h.val_accuracy[h.best_epoch if self.restored_best else -1]

    def summary(self) -> dict:
        """JSON-serialisable numbers (what ``dlfs train ... --json`` prints)."""
        h = self.history
        return {"test_accuracy": self.test_accuracy, "test_loss": self.test_loss,
                "val_accuracy": self.val_accuracy,
                "train_accuracy": h.accuracy[-1] if h.accuracy else None,
                "train_seconds": round(self.train_seconds, 3), "epochs": h.epochs,
                "stopped_early": h.stopped_early, "best_epoch": self.best_epoch,
                "seed": self.seed, "n_params": self.model.n_params(),
                "recipe": self.recipe.as_dict(), **self.extra}


def cache_folder(cache_dir: str | os.PathLike | None = None) -> Path:
    """The folder of cached results: ``cache_dir``, else ``$DLFS_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/dlfs/results`` (``~/.cache/dlfs/results``): per user, never a
    shared temporary folder."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dlfs" / "results"


def _private_folder(root: Path) -> Path:
    """Create ``root`` (mode 0700) or check that only its owner can write to it."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = root.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise OSError(f"the result cache {root} is not a folder (a symbolic link?); "
                      f"remove it or set {CACHE_DIR_ENV} to another folder")
    if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o002):
        raise OSError(f"the result cache {root} belongs to another user or every user may "
                      f"write to it; set {CACHE_DIR_ENV} to a folder of your own")
    return root


def _regular_file(path: Path) -> bool:
    """A regular file itself, not a symbolic link to one."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def data_key(data) -> str:
    """SHA-256 of every array in ``data`` (a dataclass, tuple, list or dict of arrays),
    with their shapes and dtypes."""
    digest = hashlib.sha256()

    def feed(obj) -> None:
        if isinstance(obj, np.ndarray):
            digest.update(repr((obj.shape, obj.dtype.str)).encode())
            digest.update(np.ascontiguousarray(obj).data)
        elif dataclasses.is_dataclass(obj):
            for f in dataclasses.fields(obj):
                feed(getattr(obj, f.name))
        elif isinstance(obj, dict):
            for k in sorted(obj):
                digest.update(repr(k).encode())
                feed(obj[k])
        elif isinstance(obj, (tuple, list)):
            digest.update(f"[{len(obj)}".encode())
            for item in obj:
                feed(item)
        else:
            raise TypeError(f"cannot hash {type(obj).__name__} data for the result cache")

    feed(data)
    return digest.hexdigest()


def source_key() -> str:
    """SHA-256 of the source of :mod:`dlfs` (every ``.py`` file) and NumPy's version."""
    digest = hashlib.sha256(np.__version__.encode())
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cached(train, recipe: Recipe, data, *, seed: int = 0,
           cache_dir: str | os.PathLike | None = None) -> tuple[Result, bool]:
    """``train(recipe, data, seed=seed)``, or the identical result of an earlier call.

    Training is deterministic (the same recipe, seed, data, code and NumPy
    give the same numbers at the same BLAS thread count), so a second caller
    may load what the first one computed.  The file names hash all of these,
    the data's every byte included, so any change retrains.  Files are
    written atomically (a random temporary name created exclusively, then
    renamed), so a planted symbolic link is replaced, never written through,
    and a reader never sees half a file.

    Parameters
    ----------
    train : callable (recipe, data, *, seed) -> Result
    recipe : Recipe
    data
        The data ``train`` gets, as arrays (hashed into the key).
    seed : int
    cache_dir : path-like, optional
        See :func:`cache_folder`.

    Returns
    -------
    result : Result
        ``train_seconds`` is the time of the run that actually trained.
    cached : bool
        Whether the result came from the cache.
    """
    key = hashlib.sha256(repr((recipe.as_dict(), type(recipe).__qualname__, seed,
                               data_key(data), source_key())).encode()).hexdigest()[:32]
    root = _private_folder(cache_folder(cache_dir))
    params = root / f"{recipe.name}-{key}.npz"
    meta = root / f"{recipe.name}-{key}.json"
    if _regular_file(params) and _regular_file(meta):
        try:
            info = json.loads(meta.read_text())
            return Result(load_model(params), History(**info["history"]), recipe, seed,
                          info["train_seconds"], tuple(info["input_shape"]),
                          info["restored_best"], info["extra"],
                          test_loss=info["test_loss"], test_accuracy=info["test_accuracy"]), True
        except (OSError, ValueError, KeyError, TypeError):   # damaged: train again
            pass
    result = train(recipe, data, seed=seed)
    for path in (params, meta):          # save_model follows links: never write through one
        if path.is_symlink() or (path.exists() and not _regular_file(path)):
            path.unlink()
    save_model(result.model, params, input_shape=result.input_shape)
    info = {"history": dataclasses.asdict(result.history),
            "train_seconds": result.train_seconds, "test_loss": result.test_loss,
            "test_accuracy": result.test_accuracy, "input_shape": list(result.input_shape),
            "restored_best": result.restored_best, "extra": result.extra}
    with atomic_write(meta) as out:
        out.write(json.dumps(info).encode())
    return result, False
