"""The verdict of the frameworks chapter: line counts and sentences generated from the
measurements, so that the text cannot contradict them."""
from __future__ import annotations

import inspect

from .. import interop
from ..recipes import mnist_cnn as cnn
from .race import race_verdict


def code_lines(fn) -> int:
    """Lines of a function without its docstring, comments and blank lines."""
    source = inspect.getsource(fn)
    doc = inspect.getdoc(fn)
    if doc:
        parts = source.split('"""')
        source = parts[0] + '"""'.join(parts[2:]) if len(parts) >= 3 else source
    return sum(1 for line in source.splitlines()
               if line.strip() and not line.strip().startswith("#"))


def model_lines() -> dict:
    """Lines of the three model definitions of the chapter."""
    return {"dlfs": code_lines(cnn.mnist_cnn), "PyTorch": code_lines(interop.torch_cnn),
            "Keras": code_lines(interop.keras_cnn)}


def sentence(summary: dict, ratios: dict, runs: dict) -> str:
    """The verdict paragraph's measured part, from the race and the timings."""
    secs = {lib: s["seconds"] for lib, s in summary.items()}
    fast = min(secs, key=secs.get)
    slow = max(secs, key=secs.get)
    goal_1 = max(ratios["conv1_1"], ratios["conv2_1"], ratios["step128_1"]) <= 2.0
    goal_2 = max(ratios["conv1_2"], ratios["conv2_2"], ratios["step128_2"]) <= 2.0
    goal = {(True, True): "meets the goal of a factor of two at one and at two threads",
            (True, False): "meets the goal of a factor of two at one thread but not at two",
            (False, True): "meets the goal of a factor of two at two threads but not at one",
            (False, False): "misses the goal of a factor of two"}[(goal_1, goal_2)]
    return (f"{race_verdict(runs)}. {fast} trained fastest and {slow} slowest per epoch "
            f"(a factor of {secs[slow] / secs[fast]:.1f}), and `dlfs` {goal}.")
