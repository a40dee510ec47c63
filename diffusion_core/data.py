"""The bundled MNIST test set and value-range helpers.

MNIST ships in ``assets/mnist`` as the original IDX files (LeCun, Cortes, Burges; CC BY-SA 3.0).
They are read here directly: torchvision's ``MNIST`` refuses to load without the training files.
Images come out as float tensors ``(N, 1, 28, 28)`` in ``[0, 1]``, as in the seed; the DDPM
part of the seed maps them to ``[-1, 1]`` with ``x * 2 - 1``.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from pathlib import Path

import numpy as np
import torch

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
MNIST_DIR = ASSETS_DIR / "mnist"
MNIST_IMAGES = "t10k-images-idx3-ubyte.gz"
MNIST_LABELS = "t10k-labels-idx1-ubyte.gz"
MNIST_MD5 = {
    MNIST_IMAGES: "9fb629c4189551a2d022fa330f9573f3",
    MNIST_LABELS: "ec29112dd5afa0611ce80d1b7f02629c",
}
IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049


def md5_of(path: Path) -> str:
    """Return the hex md5 of a file."""
    return hashlib.md5(path.read_bytes()).hexdigest()


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Read one gzipped IDX file (images ``(N, rows, cols)`` or labels ``(N,)``, uint8)."""
    if not path.is_file():
        raise ValueError(f"bundled MNIST file is missing: {path}")
    raw = gzip.decompress(path.read_bytes())
    header = 16 if magic == IDX_IMAGES_MAGIC else 8
    found = int.from_bytes(raw[0:4], "big")
    if found != magic:
        raise ValueError(f"{path.name}: IDX magic {found}, expected {magic}")
    count = int.from_bytes(raw[4:8], "big")
    body = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if magic == IDX_IMAGES_MAGIC:
        rows, cols = int.from_bytes(raw[8:12], "big"), int.from_bytes(raw[12:16], "big")
        if body.size != count * rows * cols:
            raise ValueError(f"{path.name}: truncated ({body.size} pixels for {count}x{rows}x{cols})")
        return body.reshape(count, rows, cols)
    if body.size != count:
        raise ValueError(f"{path.name}: truncated ({body.size} labels for {count})")
    return body


@functools.lru_cache(maxsize=2)
def load_mnist(directory: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Load the bundled MNIST test set once (cached, read-only by convention).

    Args:
        directory: folder holding the two IDX ``.gz`` files; defaults to ``assets/mnist``.

    Returns:
        ``images`` (`torch.Tensor`, (10000, 1, 28, 28), float32 in [0, 1]) and
        ``labels`` (`torch.Tensor`, (10000,), int64 in 0..9).
    """
    folder = Path(directory) if directory else MNIST_DIR
    images = _read_idx(folder / MNIST_IMAGES, IDX_IMAGES_MAGIC)
    labels = _read_idx(folder / MNIST_LABELS, IDX_LABELS_MAGIC)
    if len(images) != len(labels):
        raise ValueError(f"MNIST images ({len(images)}) and labels ({len(labels)}) differ in count")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def mnist_batch(n: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick ``n`` random MNIST digits reproducibly.

    Args:
        n: how many digits, 1..10000.
        seed: the random seed that picks them.

    Returns:
        ``x`` ((n, 1, 28, 28) in [0, 1]) and ``y`` ((n,) labels).
    """
    images, labels = load_mnist()
    n = int(n)
    if not 1 <= n <= len(images):
        raise ValueError(f"batch size must be between 1 and {len(images)}, got {n}")
    generator = torch.Generator().manual_seed(int(seed))
    index = torch.randperm(len(images), generator=generator)[:n]
    return images[index].clone(), labels[index].clone()


def to_model_range(x: torch.Tensor) -> torch.Tensor:
    """Map images from [0, 1] to the DDPM range [-1, 1] (``x * 2 - 1``)."""
    return x * 2.0 - 1.0


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """Map images from [-1, 1] back to [0, 1] (``x * 0.5 + 0.5``); values are not clipped."""
    return x * 0.5 + 0.5
