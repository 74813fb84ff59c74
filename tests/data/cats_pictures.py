"""Random stand-ins for the cat/non-cat pictures, shared by the cats recipe tests."""
import numpy as np


def pictures(n, seed=0):
    """``n`` random uint8 pictures of shape (64, 64, 3) and balanced 0/1 labels."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8),
            rng.permutation(np.arange(n) % 2).astype(np.int64))
