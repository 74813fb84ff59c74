"""The selection protocol's table: scores, choice, ties, round trip, bad input."""
import json

import numpy as np
import pytest

from dlfs.recipes import selection
from dlfs.recipes.selection import Row, SearchTable, mean_sd, search


def test_mean_sd_is_sample_sd():
    m, s = mean_sd([1.0, 2.0, 3.0])
    assert m == 2.0 and s == pytest.approx(1.0)
    assert mean_sd([0.5]) == (0.5, 0.0)


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [[1.0, 2.0]]])
def test_mean_sd_refuses_bad_input(bad):
    with pytest.raises(ValueError):
        mean_sd(bad)


def test_search_scores_every_candidate_and_seed_and_chooses_the_best():
    calls = []

    def score(changes, seed):
        calls.append((changes["x"], seed))
        return changes["x"] / 10 + seed / 1000

    table = search({"a": {"x": 1}, "b": {"x": 3}, "c": {"x": 2}}, score, recipe="toy",
                   protocol="x/10", seeds=(0, 1), log=None)
    assert calls == [(1, 0), (1, 1), (3, 0), (3, 1), (2, 0), (2, 1)]
    assert table.chosen.name == "b"
    assert table.row("b").scores == [0.3, 0.301]
    assert table.info["numpy"] == np.__version__ and "blas" in table.info


def test_a_tie_goes_to_the_candidate_listed_first():
    table = SearchTable("toy", "p", [0], [Row("simple", {}, [0.9]), Row("big", {"w": 2}, [0.9])])
    assert table.chosen.name == "simple"


def test_round_trip_and_tampered_choice(tmp_path):
    table = SearchTable("toy", "p", [0, 1], [Row("a", {"lr": 0.1}, [0.8, 0.82], 1.5),
                                             Row("b", {"lr": 0.01}, [0.85, 0.86], 2.0)])
    path = table.save(tmp_path / "t.json")
    again = SearchTable.load(path)
    assert again.as_dict() == table.as_dict() and again.chosen.name == "b"
    raw = json.loads(path.read_text())
    raw["chosen"] = "a"                         # a hand-edited winner is refused
    path.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="chosen"):
        SearchTable.load(path)
    path.write_text("{}")
    with pytest.raises(ValueError, match="not a search table"):
        SearchTable.load(path)


def test_bad_tables_and_lookups_are_refused():
    with pytest.raises(ValueError, match="at least one"):
        SearchTable("toy", "p", [0], [])
    with pytest.raises(ValueError, match="unique"):
        SearchTable("toy", "p", [0], [Row("a", {}, [1.0]), Row("a", {}, [0.5])])
    table = SearchTable("toy", "p", [0], [Row("a", {}, [1.0])])
    with pytest.raises(KeyError, match="the candidates are a"):
        table.row("z")
    with pytest.raises(ValueError, match="not finite"):
        search({"a": {}}, lambda c, s: float("nan"), recipe="toy", protocol="p", log=None)
    with pytest.raises(FileNotFoundError, match="no search table"):
        selection.load_search("no-such-search")


def test_lines_star_the_winner():
    table = SearchTable("toy", "p", [0], [Row("a", {}, [0.5]), Row("bb", {}, [0.7])])
    lines = table.lines(digits=2)
    assert lines[1].startswith("* bb") and lines[0].startswith("  a ")
