"""Data-parallel training on localhost: PyTorch DDP and TensorFlow's MultiWorkerMirroredStrategy.

Each worker is a separate Python process (``python -m dlfs.frameworks.distributed
torch|tf rank world port_or_ports outdir n_train epochs seed``) that

1. takes **one Adam step in float64** from the seed's ``dlfs`` weights on its
   share of a global batch of ``GLOBAL_BATCH`` images and saves the weights
   (the parent checks them against one process that takes the same step on the
   whole global batch), then
2. **trains in float32** for ``epochs`` epochs on the first ``n_train`` images:
   every global batch (drawn in ``dlfs.fit``'s order) is split between the
   workers, whose gradients are averaged (DDP's all-reduce; the strategy's
   collective all-reduce inside the Keras optimiser), and saves its final
   weights (the parent checks that all workers hold the same ones).

Only loopback addresses are used; the parent starts the workers with a timeout
and kills any that outlive it, and every worker leaves its process group.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import interop
from ..recipes import mnist_cnn as cnn
from . import _proc
from .race import epoch_orders, initial_model, load_data

GLOBAL_BATCH = cnn.RECIPE.batch_size


def _shard(idx: np.ndarray, rank: int, world: int) -> np.ndarray:
    """This worker's contiguous share of a global batch's indices."""
    n = len(idx)
    return idx[rank * n // world:(rank + 1) * n // world]


def _save(path: Path, arrays) -> None:
    np.savez(path, *[np.asarray(a) for a in arrays])


def torch_worker(rank: int, world: int, port: int, outdir: Path, n_train: int,
                 epochs: int, seed: int) -> dict:
    """One PyTorch DDP worker (gloo, TCP rendezvous on 127.0.0.1:port)."""
    import datetime

    torch = interop.import_torch()
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                            rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=120))
    try:
        (X, y), _, _ = load_data(n_train, seed=seed)
        lr, loss_fn = cnn.RECIPE.lr, torch.nn.CrossEntropyLoss()
        # 1. one float64 step on this worker's share of the first global batch
        model = DDP(interop.to_torch(initial_model(seed, dtype=np.float64)))
        opt = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-8)
        idx = _shard(np.arange(GLOBAL_BATCH), rank, world)
        loss_fn(model(torch.from_numpy(X[idx]).double()),
                torch.from_numpy(y[idx])).backward()
        opt.step()
        _save(outdir / f"torch_step_{rank}.npz",
              [p.detach() for p in model.parameters()])
        # 2. float32 training, every global batch split between the workers
        model = DDP(interop.to_torch(initial_model(seed), dtype=torch.float32))
        opt = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-8)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        seconds = []
        for order in epoch_orders(len(X), epochs, seed):
            dist.barrier()
            start = time.perf_counter()
            for i in range(0, len(order) - GLOBAL_BATCH + 1, GLOBAL_BATCH):
                local = torch.from_numpy(
                    _shard(order[i:i + GLOBAL_BATCH], rank, world))
                opt.zero_grad()
                # backward all-reduces the gradients
                loss_fn(model(Xt[local]), yt[local]).backward()
                opt.step()
            seconds.append(time.perf_counter() - start)
        _save(outdir / f"torch_final_{rank}.npz",
              [p.detach() for p in model.parameters()])
        return {"rank": rank, "seconds": seconds}
    finally:
        dist.destroy_process_group()


def tf_worker(rank: int, world: int, ports: list[int], outdir: Path,
              n_train: int, epochs: int, seed: int) -> dict:
    """One TensorFlow worker of a MultiWorkerMirroredStrategy.

    The cluster is in ``TF_CONFIG``; the worker trains by a custom loop,
    ``strategy.run`` of a ``GradientTape`` step.
    """
    import os

    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
        "task": {"type": "worker", "index": rank}})
    keras = interop.import_keras()
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    (X, y), _, _ = load_data(n_train, seed=seed)
    Xn = np.ascontiguousarray(X.transpose(0, 2, 3, 1))

    def make(dtype):
        with strategy.scope():          # variables mirrored on every worker
            model = interop.to_keras(
                initial_model(seed, dtype=np.dtype(dtype)), dtype=dtype)
            opt = keras.optimizers.Adam(cnn.RECIPE.lr, epsilon=1e-8)
            opt.build(model.trainable_variables)

        @tf.function
        def train_step(xb, yb):
            def replica_step(xb, yb):
                with tf.GradientTape() as tape:
                    per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(
                        yb, model(xb, training=True))
                    # sum / global batch, as the workers' gradients add up
                    loss = tf.nn.compute_average_loss(
                        per_example, global_batch_size=GLOBAL_BATCH)
                grads = tape.gradient(loss, model.trainable_variables)
                opt.apply_gradients(zip(grads, model.trainable_variables))
                return loss
            per_replica = strategy.run(replica_step, args=(xb, yb))
            return strategy.reduce("SUM", per_replica, None)
        return model, train_step

    model, train_step = make("float64")
    idx = _shard(np.arange(GLOBAL_BATCH), rank, world)
    train_step(tf.constant(Xn[idx], tf.float64), tf.constant(y[idx]))
    _save(outdir / f"tf_step_{rank}.npz",
          [v.numpy() for v in model.trainable_variables])
    model, train_step = make("float32")
    seconds = []
    for order in epoch_orders(len(X), epochs, seed):
        start = time.perf_counter()
        for i in range(0, len(order) - GLOBAL_BATCH + 1, GLOBAL_BATCH):
            local = _shard(order[i:i + GLOBAL_BATCH], rank, world)
            train_step(tf.constant(Xn[local]), tf.constant(y[local]))
        seconds.append(time.perf_counter() - start)
    _save(outdir / f"tf_final_{rank}.npz",
          [v.numpy() for v in model.trainable_variables])
    return {"rank": rank, "seconds": seconds}


# -- the single-process references --------------------------------------------------------
def torch_reference_step(seed: int, n_train: int) -> list[np.ndarray]:
    """PyTorch's parameters after one float64 Adam step on the whole first global batch."""
    torch = interop.import_torch()
    (X, y), _, _ = load_data(n_train, seed=seed)
    model = interop.to_torch(initial_model(seed, dtype=np.float64))
    opt = torch.optim.Adam(model.parameters(), lr=cnn.RECIPE.lr, eps=1e-8)
    torch.nn.functional.cross_entropy(model(torch.from_numpy(X[:GLOBAL_BATCH]).double()),
                                      torch.from_numpy(y[:GLOBAL_BATCH])).backward()
    opt.step()
    return [p.detach().numpy() for p in model.parameters()]


def keras_reference_step(seed: int, n_train: int) -> list[np.ndarray]:
    """Keras's parameters after one float64 Adam step on the whole first global batch."""
    keras = interop.import_keras()
    import tensorflow as tf

    (X, y), _, _ = load_data(n_train, seed=seed)
    model = interop.to_keras(initial_model(seed, dtype=np.float64), dtype="float64")
    opt = keras.optimizers.Adam(cnn.RECIPE.lr, epsilon=1e-8)
    xb = tf.constant(X[:GLOBAL_BATCH].transpose(0, 2, 3, 1))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            y[:GLOBAL_BATCH], model(xb, training=True)))
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                            model.trainable_variables))
    return [v.numpy() for v in model.trainable_variables]


def _load(path: Path) -> list[np.ndarray]:
    with np.load(path) as f:
        return [f[f"arr_{k}"] for k in range(len(f.files))]


def _max_diff(a: list, b: list) -> float:
    return max(float(np.max(np.abs(u - v))) for u, v in zip(a, b))


def run(framework: str, *, world: int = 2, n_train: int = 2048, epochs: int = 2,
        seed: int = 0, threads: int = 1, timeout: float = 300) -> dict:
    """Start ``world`` workers of ``framework`` ("torch" or "tf") on localhost, wait for
    them (at most ``timeout`` s each) and check them.

    Returns the seconds per epoch (median over epochs, slowest worker), the largest
    difference between the workers' one-step weights and the single-process step's
    (``step_vs_single``), and between the workers' final weights (``workers_differ``,
    0.0 when all are identical).
    """
    if framework not in ("torch", "tf"):
        raise ValueError(f"framework must be 'torch' or 'tf', got {framework!r}")
    with tempfile.TemporaryDirectory(prefix=f"dlfs-{framework}-dp-") as tmp:
        outdir = Path(tmp)
        if framework == "torch":
            where = str(_proc.free_port())
        else:
            where = ",".join(str(_proc.free_port()) for _ in range(world))
        env = _proc.child_env(threads)
        start = time.perf_counter()
        procs = [_proc.start_module("dlfs.frameworks.distributed",
                                    [framework, rank, world, where, outdir, n_train, epochs,
                                     seed], env=env)
                 for rank in range(world)]
        results = _proc.wait_all(procs, timeout)
        wall = time.perf_counter() - start
        steps = [_load(outdir / f"{framework}_step_{r}.npz") for r in range(world)]
        finals = [_load(outdir / f"{framework}_final_{r}.npz") for r in range(world)]
    reference = (torch_reference_step if framework == "torch" else keras_reference_step)(
        seed, n_train)
    seconds = np.max([r["seconds"] for r in results], axis=0)     # the slowest worker
    return {"framework": framework, "world": world, "threads": threads,
            "seconds_per_epoch": float(np.median(seconds)), "wall_seconds": wall,
            "step_vs_single": max(_max_diff(s, reference) for s in steps),
            "workers_differ": max(_max_diff(finals[0], f) for f in finals[1:]) if world > 1
            else 0.0}


def sentence(dp: dict) -> str:
    """What the timings of the data-parallel runs show, in words: ``dp`` maps
    (framework, processes, threads) to :func:`run`'s result for (1, 1), (1, 2), (2, 1)."""
    parts = []
    for fw, name in (("torch", "PyTorch"), ("tf", "TensorFlow")):
        one, threads2, procs2 = (dp[(fw, 1, 1)]["seconds_per_epoch"],
                                 dp[(fw, 1, 2)]["seconds_per_epoch"],
                                 dp[(fw, 2, 1)]["seconds_per_epoch"])
        if procs2 < threads2:
            how = "faster than"
        elif procs2 <= 1.1 * threads2:
            how = "about as fast as"
        else:
            how = "slower than"
        parts.append(f"with {name}, one epoch took {procs2:.2f} s on two processes of one "
                     f"thread, {one:.2f} s on one process with one thread and {threads2:.2f} s "
                     f"on one process with two threads, so two processes were {how} two "
                     f"threads")
    return "In this build, " + "; ".join(parts) + "."


def _main(argv: list[str]) -> None:
    framework, rank, world, where, outdir, n_train, epochs, seed = argv
    args = (int(rank), int(world))
    rest = (Path(outdir), int(n_train), int(epochs), int(seed))
    if framework == "torch":
        out = torch_worker(*args, int(where), *rest)
    else:
        out = tf_worker(*args, [int(p) for p in where.split(",")], *rest)
    print(json.dumps(out))


if __name__ == "__main__":
    _main(sys.argv[1:])
