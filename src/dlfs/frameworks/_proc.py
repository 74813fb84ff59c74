"""Run a piece of an experiment in a fresh Python process, with a timeout.

A fresh process is how the experiments get a new thread count for TensorFlow
(fixed at its first use), a model loaded with nothing of the exporting
process in memory, and the workers of a data-parallel run.  The child writes
one JSON object as its last line on stdout.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def child_env(threads: int | None = None, **extra: str) -> dict:
    """The environment of a child: this one, ``dlfs`` importable, quiet TensorFlow,
    and ``threads`` threads for OpenMP and the BLAS if given."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("KERAS_BACKEND", "tensorflow")
    if threads is not None:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(threads)
    env.update(extra)
    return env


def run_module(module: str, args: list[str], *, timeout: float, threads: int | None = None,
               env: dict | None = None) -> dict:
    """``python -m module *args`` in a fresh process; its last stdout line parsed as JSON.

    Raises RuntimeError (with the child's stderr) if it fails, and
    subprocess.TimeoutExpired (after killing it) if it runs past ``timeout`` seconds.
    """
    proc = subprocess.run([sys.executable, "-m", module, *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else child_env(threads))
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(map(str, args))} failed "
                           f"(exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def start_module(module: str, args: list[str], *, env: dict) -> subprocess.Popen:
    """Start ``python -m module *args`` without waiting (see :func:`wait_all`)."""
    return subprocess.Popen([sys.executable, "-m", module, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def wait_all(procs: list[subprocess.Popen], timeout: float) -> list[dict]:
    """Wait for every process (killing all of them if one runs past ``timeout`` seconds
    or fails) and return their JSON results in order."""
    outs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            if p.returncode != 0:
                raise RuntimeError(f"worker failed (exit {p.returncode}):\n{err[-3000:]}")
            outs.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    return outs


def free_port() -> int:
    """A TCP port that is free on the loopback interface right now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
