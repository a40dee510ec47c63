"""The feature classifier behind every quality number: a small MNIST CNN, its training, save and load.

A ``DigitClassifier`` trained by this project on the bundled 10k MNIST digits with a held-out split
(``train_classifier``, run by ``python -m diffusion_core eval --train-classifier``). Its penultimate
layer (128 numbers per image) is the feature space of the Fréchet distance; its softmax gives a
class and a confidence (``diffusion_core.metrics``). Images enter as (B, 1, 28, 28) in [0, 1].
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from diffusion_core.data import ASSETS_DIR, load_mnist, to_unit_range

CLASSIFIER_DIR = ASSETS_DIR / "classifier"
CLASSIFIER_WEIGHTS = "model.safetensors"
CLASSIFIER_CONFIG = "config.json"
CLASSIFIER_LOG = "training_log.json"
NUM_CLASSES = 10


@dataclass(frozen=True)
class ClassifierConfig:
    """The shape of the feature classifier."""

    channels: tuple[int, int] = (32, 64)  # output channels of the two 3x3 conv layers
    feature_dim: int = 128  # width of the penultimate layer: the feature space of the FD
    dropout: float = 0.25  # dropout before the last layer (training only)


class DigitClassifier(nn.Module):
    """A small MNIST CNN: two conv+pool stages, a 128-wide feature layer, ten logits.

    Input (B, 1, 28, 28) in [0, 1] -> logits (B, 10); ``features`` returns (B, feature_dim).
    Shapes: 1x28x28 -> 32x14x14 -> 64x7x7 -> 3136 -> 128 (features) -> 10.
    """

    def __init__(self, config: ClassifierConfig | None = None):
        super().__init__()
        self.config = config or ClassifierConfig()
        c1, c2 = self.config.channels
        self.conv1 = nn.Conv2d(1, c1, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(c2 * 7 * 7, self.config.feature_dim)
        self.dropout = nn.Dropout(self.config.dropout)
        self.head = nn.Linear(self.config.feature_dim, NUM_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate activations (B, feature_dim), >= 0 (after ReLU)."""
        x = self.pool(F.relu(self.conv1(x)))  # (B, 32, 14, 14)
        x = self.pool(F.relu(self.conv2(x)))  # (B, 64, 7, 7)
        return F.relu(self.fc(x.flatten(1)))  # (B, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


@dataclass(frozen=True)
class ClassifierTrainConfig:
    """How the feature classifier is trained on the bundled 10k digits."""

    epochs: int = 8  # passes over the training split
    batch_size: int = 64  # images per optimiser step
    lr: float = 1e-3  # Adam learning rate at the start; cosine decay to 0 by the end
    holdout: int = 1500  # digits kept out of training to measure accuracy
    split_seed: int = 0  # the permutation that picks the held-out digits
    seed: int = 0  # weight initialisation and shuffling
    max_shift: int = 2  # random translation in pixels (augmentation); 0 turns it off
    outliers: float = 0.25  # noise images added per batch (fraction of batch_size), taught to be "no digit"
    outlier_weight: float = 0.5  # weight of their loss (cross-entropy to the uniform distribution)
    max_train_images: int | None = None  # use only the first N training digits (tests); None = all


@dataclass
class ClassifierStep:
    """One optimiser step of classifier training."""

    step: int  # 1-based optimiser step
    epoch: int  # 0-based epoch
    loss: float  # cross-entropy of this batch
    images_seen: int  # training images consumed so far
    seconds: float  # wall time since training started


def classifier_split(config: ClassifierTrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (train, held-out) into the bundled 10k for classifier training."""
    count = len(load_mnist()[0])
    if not 100 <= config.holdout <= count // 2:
        raise ValueError(f"holdout must be between 100 and {count // 2}, got {config.holdout}")
    order = torch.randperm(count, generator=torch.Generator().manual_seed(config.split_seed))
    return order[config.holdout :], order[: config.holdout]


def _random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels (zero padding), for augmentation."""
    if max_shift <= 0:
        return x
    padded = F.pad(x, (max_shift,) * 4)
    shifts = torch.randint(0, 2 * max_shift + 1, (len(x), 2), generator=generator)
    return torch.stack([padded[i, :, dy : dy + 28, dx : dx + 28] for i, (dy, dx) in enumerate(shifts.tolist())])


def draw_outliers(count: int, generator: torch.Generator) -> torch.Tensor:
    """Images that are no digit, (count, 1, 28, 28) in [0, 1]: uniform noise, clipped Gaussian noise, smooth blobs.

    Training on them with a uniform target ("outlier exposure", Hendrycks et al. 2019) keeps the
    classifier from calling noise an 8 with 90% confidence, so mean confidence means something.
    """
    kinds = torch.arange(count) % 3
    uniform = torch.rand(count, 1, 28, 28, generator=generator)
    gaussian = to_unit_range(torch.randn(count, 1, 28, 28, generator=generator)).clamp(0, 1)
    coarse = torch.rand(count, 1, 7, 7, generator=generator)
    blobs = F.interpolate(coarse, size=(28, 28), mode="bilinear", align_corners=False)
    blobs = ((blobs - 0.5) * 4 + 0.5).clamp(0, 1)  # sharpen into bright and dark patches
    pick = kinds.view(-1, 1, 1, 1)
    return torch.where(pick == 0, uniform, torch.where(pick == 1, gaussian, blobs))


def train_classifier(
    model: DigitClassifier, config: ClassifierTrainConfig | None = None, generator: torch.Generator | None = None
) -> Iterator[ClassifierStep]:
    """Train ``model`` in place on the training split, yielding one record per step.

    Args:
        model: a ``DigitClassifier`` (freshly initialised, on the CPU or a GPU).
        config: epochs, batch size, learning rate and the split; defaults to ``ClassifierTrainConfig()``.
        generator: shuffles the batches and draws the shifts; defaults to one seeded with ``config.seed``.

    Yields:
        ``ClassifierStep`` per optimiser step.
    """
    config = config or ClassifierTrainConfig()
    if config.epochs < 1 or config.batch_size < 1 or not config.lr > 0:
        raise ValueError("epochs and batch_size must be >= 1 and lr > 0")
    generator = generator or torch.Generator().manual_seed(config.seed)
    images, labels = load_mnist()
    train_index, _ = classifier_split(config)
    train_index = train_index[: config.max_train_images]
    device = next(model.parameters()).device
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    total_steps = config.epochs * math.ceil(len(train_index) / config.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)  # lr decays to 0
    model.train()
    start, step, seen = time.perf_counter(), 0, 0
    for epoch in range(config.epochs):
        order = train_index[torch.randperm(len(train_index), generator=generator)]
        for begin in range(0, len(order), config.batch_size):
            batch = order[begin : begin + config.batch_size]
            # 1. a batch of digits, shifted a little so the classifier does not rely on centring
            x = _random_shift(images[batch], config.max_shift, generator).to(device)
            y = labels[batch].to(device)
            # 2. cross-entropy between the logits and the true labels
            loss = F.cross_entropy(model(x), y)
            # 3. outlier exposure: noise images should get a flat prediction (cross-entropy to uniform)
            count = round(config.outliers * len(batch))
            if count > 0:
                log_probs = model(draw_outliers(count, generator).to(device)).log_softmax(dim=1)
                loss = loss + config.outlier_weight * -log_probs.mean()
            # 4. update the weights
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step, seen = step + 1, seen + len(batch)
            yield ClassifierStep(step, epoch, loss.item(), seen, time.perf_counter() - start)
    model.eval()


@torch.no_grad()
def classifier_accuracy(model: DigitClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy of ``model`` on (N, 1, 28, 28) images in [0, 1] with (N,) labels."""
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for begin in range(0, len(images), 1000):
        logits = model(images[begin : begin + 1000].to(device))
        correct += int((logits.argmax(1).cpu() == labels[begin : begin + 1000]).sum())
    return correct / max(len(images), 1)


def save_classifier(model: DigitClassifier, folder: str | Path, log: dict | None = None) -> Path:
    """Write ``model.safetensors``, ``config.json`` (and ``training_log.json`` if given)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(folder / CLASSIFIER_WEIGHTS))
    (folder / CLASSIFIER_CONFIG).write_text(json.dumps(asdict(model.config), indent=2))
    if log is not None:
        (folder / CLASSIFIER_LOG).write_text(json.dumps(log, indent=2, ensure_ascii=False))
    return folder


def load_classifier(folder: str | Path | None = None) -> DigitClassifier:
    """Load a classifier saved by ``save_classifier`` (default: the bundled one), in eval mode, on the CPU.

    The bundled one is cached (read-only by convention).

    Raises:
        ValueError: if the folder or its files are missing or unreadable.
    """
    if folder is None:
        return _bundled_classifier()
    return _load_classifier(Path(folder))


@functools.lru_cache(maxsize=1)
def _bundled_classifier() -> DigitClassifier:
    return _load_classifier(CLASSIFIER_DIR)


def _load_classifier(folder: Path) -> DigitClassifier:
    weights, config_path = folder / CLASSIFIER_WEIGHTS, folder / CLASSIFIER_CONFIG
    if not weights.is_file() or not config_path.is_file():
        raise ValueError(
            f"no feature classifier in {folder.name!r}: run `python -m diffusion_core eval --train-classifier`"
        )
    try:
        raw = json.loads(config_path.read_text())
        config = ClassifierConfig(
            channels=tuple(int(c) for c in raw["channels"]),
            feature_dim=int(raw["feature_dim"]),
            dropout=float(raw["dropout"]),
        )
        model = DigitClassifier(config)
        model.load_state_dict(load_file(str(weights)))
    except (KeyError, TypeError, ValueError, json.JSONDecodeError, RuntimeError) as error:
        raise ValueError(f"the classifier in {folder.name!r} is unreadable: {error}") from None
    return model.eval()
