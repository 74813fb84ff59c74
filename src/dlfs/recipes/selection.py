"""Model selection on validation data: the one protocol every case study follows.

1. A recipe module lists its candidates: named changes to its base recipe
   (``{"no shifts": {"shift": 0}, ...}``), each a complete, reproducible
   training procedure.
2. :func:`search` scores every candidate with a function that sees training
   and validation data only (validation accuracy on a held-out split, or the
   mean over cross-validation folds), for one or more seeds.
3. The candidate with the highest mean score is chosen
   (:attr:`SearchTable.chosen`; a tie goes to the one listed first, the
   simpler).  Nothing is chosen by hand.
4. The whole table (every candidate, every score, the time it took, the
   machine) is saved as JSON in ``dlfs/recipes/searches/`` and shown by the
   chapter; the recipe's ``RECIPE`` must be the chosen candidate.
5. The chosen recipe is trained with several seeds, and the test set is read
   once per final model, by the recipe's one test function, after the choice.

Searches that take long run outside the book build
(``python -m dlfs.recipes.<name> --search``); the chapter reads the table and
re-trains the chosen point, which must give the recorded score.
"""
from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from .._files import atomic_write

#: Folder of the committed search tables (inside the package, so installed copies have them).
SEARCHES = Path(__file__).resolve().parent / "searches"


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``; 0 for a single value)."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"need a non-empty 1-D sequence of finite numbers, got {values!r}")
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


@dataclass
class Row:
    """One candidate of a search: its name, its changes to the base recipe, its scores."""

    name: str
    changes: dict
    scores: list[float]
    seconds: float = 0.0

    @property
    def mean(self) -> float:
        return mean_sd(self.scores)[0]

    @property
    def sd(self) -> float:
        return mean_sd(self.scores)[1]


@dataclass
class SearchTable:
    """Every candidate of a search with its validation scores, and which one wins.

    ``protocol`` says in words what a score is (e.g. "validation accuracy on
    the seed-0 stratified split of 6,000 training images, after training with
    seed s"); ``info`` records the machine and versions the search ran on.
    """

    recipe: str
    protocol: str
    seeds: list[int]
    rows: list[Row]
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.rows:
            raise ValueError("a search needs at least one candidate")
        names = [r.name for r in self.rows]
        if len(set(names)) != len(names):
            raise ValueError(f"candidate names must be unique, got {names}")

    @property
    def chosen(self) -> Row:
        """The row with the highest mean score; means within 1e-12 tie, and a tie
        goes to the row listed first."""
        best = max(r.mean for r in self.rows)
        return next(r for r in self.rows if r.mean >= best - 1e-12)

    def row(self, name: str) -> Row:
        """The row called ``name`` (KeyError naming the rows if there is none)."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no candidate {name!r}; the candidates are "
                       f"{', '.join(r.name for r in self.rows)}")

    def as_dict(self) -> dict:
        return {"recipe": self.recipe, "protocol": self.protocol, "seeds": self.seeds,
                "rows": [asdict(r) for r in self.rows], "chosen": self.chosen.name,
                "info": self.info}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the table as JSON, atomically; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as out:
            out.write((json.dumps(self.as_dict(), indent=1) + "\n").encode())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> SearchTable:
        """Read a table written by :meth:`save`; ValueError if it is not one."""
        try:
            raw = json.loads(Path(path).read_text())
            table = cls(raw["recipe"], raw["protocol"], list(raw["seeds"]),
                        [Row(r["name"], dict(r["changes"]), [float(s) for s in r["scores"]],
                             float(r.get("seconds", 0.0))) for r in raw["rows"]],
                        dict(raw.get("info", {})))
        except (KeyError, TypeError, json.JSONDecodeError) as err:
            raise ValueError(f"{path} is not a search table: {err!r}") from err
        if raw.get("chosen") not in (None, table.chosen.name):
            raise ValueError(f"{path} records {raw['chosen']!r} as chosen, but its scores "
                             f"choose {table.chosen.name!r}")
        return table

    def lines(self, digits: int = 4) -> list[str]:
        """The table as text lines: name, mean ± sd, the scores, seconds; the winner starred."""
        width = max(len(r.name) for r in self.rows)
        out = []
        for r in self.rows:
            star = "*" if r is self.chosen else " "
            scores = " ".join(f"{s:.{digits}f}" for s in r.scores)
            out.append(f"{star} {r.name:<{width}}  {r.mean:.{digits}f} ± {r.sd:.{digits}f}"
                       f"  [{scores}]  {r.seconds:7.1f} s")
        return out


def machine_info() -> dict:
    """What a search ran on: date, Python, NumPy, BLAS threads, processor count."""
    from .._blas import blas_info          # lazy: threadpoolctl is only needed here
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "numpy": np.__version__,
            "machine": platform.machine(), "cpus": os.cpu_count(), "blas": blas_info()}


def search(candidates: Mapping[str, dict], score: Callable[[dict, int], float], *,
           recipe: str, protocol: str, seeds: Sequence[int] = (0,),
           log: Callable[[str], None] | None = print) -> SearchTable:
    """Score every candidate for every seed: ``score(changes, seed)`` → a validation score.

    ``score`` must train on training data and measure on validation data
    only; it never gets the test set.  Candidates are scored in order, and a
    line per candidate goes to ``log`` (None: silent).
    """
    if not candidates:
        raise ValueError("no candidates to search")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("need at least one seed")
    rows = []
    for name, changes in candidates.items():
        start = time.perf_counter()
        scores = []
        for s in seeds:
            value = float(score(dict(changes), s))
            if not math.isfinite(value):
                raise ValueError(f"candidate {name!r}, seed {s}: score {value} is not finite")
            scores.append(value)
        rows.append(Row(name, dict(changes), scores, round(time.perf_counter() - start, 2)))
        if log is not None:
            log(f"{name}: " + " ".join(f"{v:.4f}" for v in scores))
    return SearchTable(recipe, protocol, seeds, rows, machine_info())


def load_search(name: str) -> SearchTable:
    """The committed search table ``dlfs/recipes/searches/<name>.json``."""
    path = SEARCHES / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in SEARCHES.glob("*.json")) if SEARCHES.is_dir() else []
        raise FileNotFoundError(f"no search table {name!r} in {SEARCHES}; known: {known}")
    return SearchTable.load(path)


__all__ = ["Row", "SEARCHES", "SearchTable", "load_search", "machine_info", "mean_sd",
           "search"]
