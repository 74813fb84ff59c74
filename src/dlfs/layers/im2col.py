r"""im2col and col2im: convolution as one matrix product.

A 2-D cross-correlation of a batch ``X`` of shape (N, C, H, W) with a kernel
bank ``W`` of shape (C_out, C, kh, kw) is a sum over the ``C * kh * kw``
kernel entries.  :func:`im2col` copies, for every output position, the input
patch it sees into one column of a matrix ``cols`` of shape
(C * kh * kw, N * OH * OW); the convolution is then the single product
``W.reshape(C_out, -1) @ cols``, which BLAS runs at full speed.

The copy loops over the ``kh * kw`` kernel *offsets* (25 for a 5x5 kernel),
never over samples or pixels: each offset moves one strided block of the whole
batch at once.  :func:`col2im` is the adjoint (transpose) of :func:`im2col`: it
adds every column back onto the positions it was copied from, which is exactly
what the backward pass needs.
"""
from __future__ import annotations

import numpy as np

from .._docs import implements


def conv_output_size(size: int, kernel: int, stride: int = 1,
                     padding: int = 0, *, what: str = "input") -> int:
    """Output length (size + 2 padding - kernel) // stride + 1 along one axis.

    The division may leave a remainder r = (size + 2 padding - kernel) %
    stride: the last r rows of the padded input are then covered by no
    kernel position.  They are accepted (and dropped, as PyTorch does) only
    if they are all padding, r <= padding; a geometry that would drop rows
    of the input itself is refused.

    Raises
    ------
    ValueError
        If the input is empty, the kernel is larger than the padded input,
        or the uncovered remainder includes input rows, naming the sizes.
    """
    if size < 1:
        raise ValueError(f"the {what} is empty ({size} rows): nothing to "
                         "convolve")
    padded = size + 2 * padding
    if kernel > padded:
        raise ValueError(f"kernel size {kernel} is larger than the padded "
                         f"{what} {padded} ({size} + 2*{padding})")
    remainder = (padded - kernel) % stride
    if remainder > padding:
        raise ValueError(
            f"output size ({size} + 2*{padding} - {kernel}) / {stride} + 1 = "
            f"{(padded - kernel) / stride + 1:g} is not an integer, and the "
            f"last {remainder} padded row(s), which no kernel position "
            f"covers, include {remainder - padding} row(s) of the {what} "
            f"itself: choose a padding or stride that tiles the {what}")
    return (padded - kernel) // stride + 1


implements(conv_output_size, "eq-conv-output-size")


def im2col(x: np.ndarray, kh: int, kw: int, stride: int = 1,
           padding: int = 0) -> np.ndarray:
    """Patches of the zero-padded ``x`` as the columns of a matrix.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input batch (any memory layout).
    kh, kw : int
        Kernel height and width.
    stride, padding : int
        As in ``Conv2D``; the geometry must pass
        ``conv_output_size``.

    Returns
    -------
    ndarray of shape (C * kh * kw, OH * OW * N)
        Row ``(c, i, j)`` (in C order) holds
        ``Xpad[n, c, i + stride*p, j + stride*q]`` in column ``(p, q, n)``.

    Notes
    -----
    The sample index is the *fastest* one in both the padded copy of ``x``
    and in ``cols``: each kernel offset then copies blocks of ``OW * N``
    contiguous numbers (for stride 1) instead of rows of ``OW`` numbers per
    sample.  The caller sees this only through the column order.
    """
    n, c, h, w = x.shape
    oh = conv_output_size(h, kh, stride, padding, what="input height")
    ow = conv_output_size(w, kw, stride, padding, what="input width")
    xp = np.zeros((c, h + 2 * padding, w + 2 * padding, n), dtype=x.dtype)
    xp[:, padding:padding + h, padding:padding + w] = x.transpose(1, 2, 3, 0)
    cols = np.empty((c, kh, kw, oh, ow, n), dtype=x.dtype)
    for i in range(kh):                     # loop over kernel offsets only
        for j in range(kw):
            cols[:, i, j] = xp[:, i:i + stride * oh:stride,
                               j:j + stride * ow:stride]
    return cols.reshape(c * kh * kw, oh * ow * n)


implements(im2col, "eq-conv-im2col")


def col2im(cols: np.ndarray, x_shape: tuple[int, int, int, int], kh: int,
           kw: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Adjoint of ``im2col``: add each column back onto its input patch.

    The adjoint of ``im2col`` (the chapter on backpropagation through
    convolution proves it), so it computes the input gradient, the padding
    cropped; with ``cols = W^T G`` computed by the caller, it is also the
    *transposed convolution* of the frameworks (``conv_transpose2d``).

    Parameters
    ----------
    cols : ndarray of shape (C * kh * kw, OH * OW * N)
    x_shape : tuple (N, C, H, W)
        Shape of the (unpadded) input that ``im2col`` received.

    Returns
    -------
    ndarray of shape (N, C, H, W)
        Entries covered by several patches receive the sum of their
        columns; the padding is cropped.  A view whose memory order is
        (C, H, W, N).
    """
    n, c, h, w = x_shape
    hp, wp = h + 2 * padding, w + 2 * padding
    oh, ow = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    cols = cols.reshape(c, kh, kw, oh, ow, n)
    out = np.zeros((c, hp, wp, n), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, i:i + stride * oh:stride,
                j:j + stride * ow:stride] += cols[:, i, j]
    return out[:, padding:padding + h,
               padding:padding + w].transpose(3, 0, 1, 2)


implements(col2im, "eq-conv-grad-x", "eq-conv-transposed")
