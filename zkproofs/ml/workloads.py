"""MNIST-shaped data made offline, for benchmarks and tests (nothing is downloaded).

scikit-learn's bundled digits (1,797 images of 8×8 pixels, values 0–16) are upscaled to
28×28 images with values 0–255: each image is enlarged three times (24×24, bilinear),
placed on a 28×28 canvas with a shift of up to ±2 pixels in each direction, its
intensity scaled by 0.8–1.0 and lightly noised, then clipped to 0–255. Every random choice
comes from SHA-256 in counter mode over a label and the sample's index, so the same call
always gives the same data (and zkproofs never touches an insecure random generator).

The training and test images of a split use disjoint digits images, so a model trained on
one and scored on the other is measured on images it never saw.
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np

SIZE = 28
SCALE = 3


def _uniform(label: bytes, n: int, k: int) -> np.ndarray:
    """n×k floats in [0, 1) from SHA-256 in counter mode (deterministic, public)."""
    need = n * k * 4
    blocks = -(-need // 64)
    stream = b"".join(
        hashlib.sha512(label + struct.pack(">Q", i)).digest() for i in range(blocks)
    )
    words = np.frombuffer(stream[:need], dtype="<u4").astype(np.float64)
    return (words / 2.0**32).reshape(n, k)


def _upscale(images: np.ndarray) -> np.ndarray:
    """Bilinear enlargement of (n, 8, 8) images by SCALE (pixel centres aligned)."""
    n, h, w = images.shape
    out_h, out_w = h * SCALE, w * SCALE
    ys = (np.arange(out_h) + 0.5) / SCALE - 0.5
    xs = (np.arange(out_w) + 0.5) / SCALE - 0.5
    y0 = np.clip(np.floor(ys).astype(int), 0, h - 1)
    x0 = np.clip(np.floor(xs).astype(int), 0, w - 1)
    y1, x1 = np.clip(y0 + 1, 0, h - 1), np.clip(x0 + 1, 0, w - 1)
    wy = np.clip(ys - y0, 0, 1)[:, None]
    wx = np.clip(xs - x0, 0, 1)[None, :]
    a = images[:, y0][:, :, x0]
    b = images[:, y0][:, :, x1]
    c = images[:, y1][:, :, x0]
    d = images[:, y1][:, :, x1]
    return (a * (1 - wy) * (1 - wx) + b * (1 - wy) * wx + c * wy * (1 - wx) + d * wy * wx)


def mnist_shaped(n: int, *, split: str = "test", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n images (n, 28, 28) int64 in [0, 255] and their labels, deterministic.

    ``split``: "train" draws from the first 1,437 digits images, "test" from the last 360
    (the split of ``train_test_split(test_size=0.2, random_state=0)`` is not needed: the
    bundled order is used directly)."""
    from sklearn.datasets import load_digits

    if split not in ("train", "test"):
        raise ValueError("split is 'train' or 'test'")
    digits = load_digits()
    images = digits.images.astype(np.float64)
    labels = digits.target.astype(np.int64)
    pool = slice(0, 1437) if split == "train" else slice(1437, None)
    images, labels = images[pool], labels[pool]
    tag = f"zkarena/mnist-shaped/{split}/{seed}".encode()
    u = _uniform(tag, n, 5)
    pick = (u[:, 0] * len(images)).astype(np.int64)
    big = _upscale(images[pick]) * (255.0 / 16.0)
    big *= (0.8 + 0.2 * u[:, 1])[:, None, None]
    shift_y = (u[:, 2] * 5).astype(np.int64) - 2
    shift_x = (u[:, 3] * 5).astype(np.int64) - 2
    canvas = np.zeros((n, SIZE, SIZE))
    inner = 8 * SCALE
    pad = (SIZE - inner) // 2
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            sel = (shift_y == dy) & (shift_x == dx)
            if sel.any():
                canvas[sel, pad + dy : pad + dy + inner, pad + dx : pad + dx + inner] = big[sel]
    noise = _uniform(tag + b"/noise", n, SIZE * SIZE).reshape(n, SIZE, SIZE)
    canvas += (noise - 0.5) * 16.0 * (canvas > 0)
    x = np.clip(np.rint(canvas), 0, 255).astype(np.int64)
    return x, labels[pick]
