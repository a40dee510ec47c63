"""Measure generated digits: a feature classifier, the Fréchet distance and quality-vs-steps.

The tutorial shows samples and lets the eye judge them. This module puts numbers on them, the
way the field does for ImageNet with the Inception network (FID, Heusel et al. 2017), scaled to
MNIST:

* **Feature classifier.** A small CNN (``DigitClassifier``) trained by this project on the
  bundled 10k MNIST digits with a held-out split (``train_classifier``, run by
  ``python -m diffusion_core eval --train-classifier``). Its penultimate layer (128 numbers per
  image) is the feature space; its softmax gives a class and a confidence.
* **Fréchet distance (FD).** Fit a Gaussian to each feature set and compare them:

      FD = ||mu_g - mu_r||^2 + Tr(S_g + S_r - 2 (S_r^{1/2} S_g S_r^{1/2})^{1/2})

  computed in float64 with ``torch.linalg.eigh`` (both square roots are of symmetric PSD
  matrices, so no complex ``sqrtm`` is needed). Lower is better; 0 means identical Gaussians.
* **The floor.** FD is biased upwards at small n: even two sets of *real* digits are not at 0.
  ``real_floor`` measures real-vs-reference at the same n, and every FD is shown beside it.
* **Mean confidence.** The classifier's mean max-softmax probability: ~0.98 on real digits,
  lower on blobs that look like no digit.
* **Class balance.** The entropy of the predicted-class histogram divided by log(10): 1 means
  all ten digits equally often, 0 means one digit only (mode collapse).
* **Quality vs steps.** ``quality_vs_steps`` samples with each scheduler at each step count
  and scores the result; ``python -m diffusion_core eval`` writes the curves to
  ``assets/quality_curves.json`` (schema: ``CURVES_SCHEMA`` and ``validate_curves``).

Real and generated images enter the metrics in [0, 1] (``(B, 1, 28, 28)``); generated DDPM
samples in [-1, 1] are mapped with ``to_unit_range`` and clipped first.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from diffusion_core.data import ASSETS_DIR, load_mnist, to_unit_range
from diffusion_core.noising import predict_x0

CLASSIFIER_DIR = ASSETS_DIR / "classifier"
CLASSIFIER_WEIGHTS = "model.safetensors"
CLASSIFIER_CONFIG = "config.json"
CLASSIFIER_LOG = "training_log.json"
CURVES_PATH = ASSETS_DIR / "quality_curves.json"
NUM_CLASSES = 10
REFERENCE_SIZE = 5000  # real digits in the fixed reference set; the other 5000 feed the floor
REFERENCE_SEED = 1234  # the permutation that splits the bundled 10k into reference / floor pools


# ----------------------------------------------------------------------------------------------
# The feature classifier
# ----------------------------------------------------------------------------------------------


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


TINY_CLASSIFIER_TRAIN = ClassifierTrainConfig(epochs=1, batch_size=128, lr=3e-3, max_train_images=2560)  # 20 steps


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
    gaussian = (torch.randn(count, 1, 28, 28, generator=generator) * 0.5 + 0.5).clamp(0, 1)
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


# ----------------------------------------------------------------------------------------------
# Metrics
# ----------------------------------------------------------------------------------------------


def _check_images(x: torch.Tensor, name: str = "images") -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a tensor of shape (N, 1, 28, 28), got {shape}")
    if len(x) < 2:
        raise ValueError(f"{name}: need at least 2 images to measure, got {len(x)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return x.detach().float().cpu()


@dataclass
class ClassifierOutputs:
    """What the classifier says about a batch of images."""

    features: torch.Tensor  # (N, feature_dim) float64, the FD's feature vectors
    probs: torch.Tensor  # (N, 10) softmax probabilities


@torch.no_grad()
def classify(images: torch.Tensor, classifier: DigitClassifier | None = None) -> ClassifierOutputs:
    """Run the feature classifier on (N, 1, 28, 28) images in [0, 1] (values are clipped to [0, 1]).

    Args:
        images: digits in [0, 1]; map DDPM samples with ``to_unit_range`` first.
        classifier: defaults to the bundled one.
    """
    images = _check_images(images).clamp(0, 1)
    classifier = classifier or load_classifier()
    features, probs = [], []
    for begin in range(0, len(images), 1000):
        h = classifier.features(images[begin : begin + 1000])
        features.append(h.double())
        probs.append(classifier.head(h).softmax(dim=1))
    return ClassifierOutputs(torch.cat(features), torch.cat(probs))


def _sqrtm_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric PSD matrix via its eigendecomposition (negative round-off -> 0)."""
    eigenvalues, eigenvectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return eigenvectors @ torch.diag(eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (the FID formula).

    ``FD = ||mu_a - mu_b||^2 + Tr(S_a) + Tr(S_b) - 2 Tr((S_b^{1/2} S_a S_b^{1/2})^{1/2})``, where
    ``Tr((S_a S_b)^{1/2})`` is computed through the symmetric form (same eigenvalues).

    Args:
        features_a, features_b (`torch.Tensor`, (N, D) and (M, D)): N, M >= 2.

    Returns:
        The distance (>= 0, float).
    """
    if features_a.ndim != 2 or features_b.ndim != 2 or features_a.shape[1] != features_b.shape[1]:
        raise ValueError(
            f"feature sets must be (N, D) and (M, D), got {tuple(features_a.shape)}, {tuple(features_b.shape)}"
        )
    if len(features_a) < 2 or len(features_b) < 2:
        raise ValueError("each feature set needs at least 2 rows")
    a, b = features_a.double(), features_b.double()
    # 1. the two Gaussians: means and covariances
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    # 2. Tr((S_a S_b)^{1/2}) = Tr((S_b^{1/2} S_a S_b^{1/2})^{1/2}), a PSD matrix's square root
    root_b = _sqrtm_psd(cov_b)
    cross = torch.linalg.eigvalsh(root_b @ cov_a @ root_b).clamp(min=0).sqrt().sum()
    # 3. FD = mean term + covariance term
    distance = (mu_a - mu_b).square().sum() + torch.trace(cov_a) + torch.trace(cov_b) - 2 * cross
    return max(float(distance), 0.0)


def mean_confidence(probs: torch.Tensor) -> float:
    """Mean of the largest softmax probability per image, in [0.1, 1]."""
    return float(probs.max(dim=1).values.mean())


def class_counts(probs: torch.Tensor) -> list[int]:
    """How many images the classifier assigns to each digit 0..9 (argmax)."""
    return torch.bincount(probs.argmax(dim=1), minlength=NUM_CLASSES).tolist()


def class_balance(probs: torch.Tensor) -> float:
    """Entropy of the predicted-class histogram over log(10), in [0, 1] (1 = all digits equally often)."""
    counts = torch.tensor(class_counts(probs), dtype=torch.float64)
    p = counts / counts.sum()
    p = p[p > 0]
    entropy = float(-(p * p.log()).sum() / math.log(NUM_CLASSES))
    return max(0.0, entropy)  # 0.0, not -0.0, for a single class


def reference_split() -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (reference, floor pool) into the bundled 10k: a fixed, disjoint 5000 / 5000 split."""
    count = len(load_mnist()[0])
    order = torch.randperm(count, generator=torch.Generator().manual_seed(REFERENCE_SEED))
    return order[:REFERENCE_SIZE], order[REFERENCE_SIZE:]


@functools.lru_cache(maxsize=1)
def _reference_features() -> torch.Tensor:
    reference, _ = reference_split()
    return classify(load_mnist()[0][reference]).features


def reference_features(classifier: DigitClassifier | None = None) -> torch.Tensor:
    """Features (5000, D) of the fixed real reference set (cached for the bundled classifier)."""
    if classifier is None:
        return _reference_features()
    reference, _ = reference_split()
    return classify(load_mnist()[0][reference], classifier).features


def real_digits(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` real digits from the floor pool (disjoint from the reference set), in [0, 1], with labels."""
    _, pool = reference_split()
    if not 2 <= n <= len(pool):
        raise ValueError(f"n must be between 2 and {len(pool)} real digits, got {n}")
    pick = pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))[:n]]
    images, labels = load_mnist()
    return images[pick].clone(), labels[pick].clone()


@dataclass
class QualityReport:
    """The numbers for one set of images."""

    n: int  # images measured
    fd: float  # Fréchet distance to the real reference set (lower is better)
    fd_floor: float  # FD of n *real* digits to the same reference: the best FD reachable at this n
    confidence: float  # mean max-softmax probability, in [0.1, 1]
    class_balance: float  # normalised entropy of the predicted classes, in [0, 1]
    class_counts: list[int] = field(default_factory=list)  # predicted digits 0..9


@functools.lru_cache(maxsize=16)
def real_floor(n: int, seed: int = 0) -> float:
    """FD of ``n`` real digits (floor pool) to the reference set: what a perfect generator would score at n."""
    return frechet_distance(classify(real_digits(n, seed)[0]).features, _reference_features())


def measure(images: torch.Tensor, floor_seed: int = 0) -> QualityReport:
    """Score (N, 1, 28, 28) images in [0, 1] with the bundled classifier: FD, floor, confidence, balance."""
    outputs = classify(images)
    n = len(outputs.probs)
    return QualityReport(
        n=n,
        fd=frechet_distance(outputs.features, _reference_features()),
        fd_floor=real_floor(n, floor_seed),
        confidence=mean_confidence(outputs.probs),
        class_balance=class_balance(outputs.probs),
        class_counts=class_counts(outputs.probs),
    )


# ----------------------------------------------------------------------------------------------
# Quality vs steps
# ----------------------------------------------------------------------------------------------

SAMPLERS = ("ddpm", "ddim", "dpm++", "euler")  # scheduler names as in diffusion_core.sampling

# sample_fn(sampler, steps, n, seed) -> (n, 1, 28, 28) samples in [-1, 1]
SampleFn = Callable[[str, int, int, int], torch.Tensor]


@dataclass
class QualityPoint:
    """One point of a quality-vs-steps curve."""

    sampler: str  # "ddpm", "ddim", "dpm++" or "euler"
    steps: int  # sampling steps (model evaluations)
    n: int  # samples scored
    fd: float  # Fréchet distance to the real reference set
    fd_floor: float  # the real-vs-real floor at the same n
    confidence: float  # mean classifier confidence
    class_balance: float  # normalised class entropy
    seconds: float  # wall time to sample the n images (not the scoring)


def quality_vs_steps(
    sample_fn: SampleFn,
    samplers: Sequence[str],
    steps: Sequence[int],
    n: int,
    seed: int = 0,
    extra: Sequence[tuple[str, int]] = (),
) -> Iterator[QualityPoint]:
    """Sample ``n`` images per (sampler, steps) and score each set, yielding one point at a time.

    Every point starts from the same seed, so curves differ only by the sampler and the steps.

    Args:
        sample_fn: ``(sampler, steps, n, seed) -> (n, 1, 28, 28)`` samples in [-1, 1].
        samplers: names from ``SAMPLERS``.
        steps: step counts, each >= 1, applied to every sampler.
        n: samples per point, >= 2.
        seed: the seed of the starting noise.
        extra: additional ``(sampler, steps)`` points, e.g. ``("ddpm", 1000)``.
    """
    if not 2 <= n <= 10_000:
        raise ValueError(f"n must be between 2 and 10000, got {n}")
    plan = [(sampler, int(count)) for sampler in samplers for count in steps] + [(s, int(c)) for s, c in extra]
    for sampler, count in plan:
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}: choose one of {', '.join(SAMPLERS)}")
        if count < 1:
            raise ValueError(f"steps must be >= 1, got {count}")
    for sampler, count in plan:
        start = time.perf_counter()
        samples = sample_fn(sampler, count, n, seed)
        seconds = time.perf_counter() - start
        report = measure((samples.detach().float().cpu() * 0.5 + 0.5).clamp(0, 1))
        yield QualityPoint(
            sampler, count, n, report.fd, report.fd_floor, report.confidence, report.class_balance, seconds
        )


# ----------------------------------------------------------------------------------------------
# The curves file
# ----------------------------------------------------------------------------------------------

CURVES_SCHEMA_VERSION = 1

# The schema of assets/quality_curves.json, as documentation and for validate_curves.
CURVES_SCHEMA: dict[str, Any] = {
    "schema_version": "int, 1",
    "created": "str, ISO 8601 UTC time of the run",
    "machine": "str, the machine that ran it (CPU/GPU, torch version)",
    "model": "str, the checkpoint folder scored, relative to the repository",
    "classifier": "str, the feature classifier folder",
    "n": "int >= 2, samples per point",
    "seed": "int, seed of the starting noise (the same for every point)",
    "reference_size": "int, real digits in the reference set",
    "floor": "{'n': int, 'fd': float}: real-vs-reference FD at the same n",
    "real": "{'confidence': float, 'class_balance': float}: the same metrics on n real digits",
    "points": "list of {'sampler': str in SAMPLERS, 'steps': int >= 1, 'n': int, 'fd': float >= 0, "
    "'fd_floor': float >= 0, 'confidence': float in [0, 1], 'class_balance': float in [0, 1], "
    "'seconds': float >= 0}",
    "notes": "list of str: what the run could and could not measure",
}

_POINT_FIELDS = {
    "sampler": str,
    "steps": int,
    "n": int,
    "fd": float,
    "fd_floor": float,
    "confidence": float,
    "class_balance": float,
    "seconds": float,
}


def _require(data: dict, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise ValueError(f"{where}: missing field {key!r}")
    value = data[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds:
        kinds = (*kinds, int)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ValueError(f"{where}: field {key!r} must be {kinds[0].__name__}, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: field {key!r} must be finite")
    return value


def validate_curves(data: Any) -> dict:
    """Check a loaded curves file against ``CURVES_SCHEMA``; returns it, or raises ``ValueError``."""
    if not isinstance(data, dict):
        raise ValueError("the curves file must hold a JSON object")
    if _require(data, "schema_version", int, "curves") != CURVES_SCHEMA_VERSION:
        raise ValueError(f"curves: schema_version must be {CURVES_SCHEMA_VERSION}")
    for key in ("created", "machine", "model", "classifier"):
        _require(data, key, str, "curves")
    if _require(data, "n", int, "curves") < 2:
        raise ValueError("curves: n must be >= 2")
    _require(data, "seed", int, "curves")
    _require(data, "reference_size", int, "curves")
    floor = _require(data, "floor", dict, "curves")
    _require(floor, "n", int, "curves.floor")
    if _require(floor, "fd", float, "curves.floor") < 0:
        raise ValueError("curves.floor: fd must be >= 0")
    real = _require(data, "real", dict, "curves")
    for key in ("confidence", "class_balance"):
        if not 0 <= _require(real, key, float, "curves.real") <= 1:
            raise ValueError(f"curves.real: {key} must lie in [0, 1]")
    points = _require(data, "points", list, "curves")
    if not points:
        raise ValueError("curves: points is empty")
    for index, point in enumerate(points):
        where = f"curves.points[{index}]"
        if not isinstance(point, dict):
            raise ValueError(f"{where} must be an object")
        for key, kind in _POINT_FIELDS.items():
            _require(point, key, kind, where)
        if point["sampler"] not in SAMPLERS:
            raise ValueError(f"{where}: unknown sampler {point['sampler']!r}")
        if point["steps"] < 1 or point["n"] < 2:
            raise ValueError(f"{where}: steps must be >= 1 and n >= 2")
        for key in ("fd", "fd_floor", "seconds"):
            if point[key] < 0:
                raise ValueError(f"{where}: {key} must be >= 0")
        for key in ("confidence", "class_balance"):
            if not 0 <= point[key] <= 1:
                raise ValueError(f"{where}: {key} must lie in [0, 1]")
    notes = _require(data, "notes", list, "curves")
    if not all(isinstance(note, str) for note in notes):
        raise ValueError("curves: notes must be strings")
    return data


def load_curves(path: str | Path | None = None) -> dict:
    """Read and validate the precomputed curves (default ``assets/quality_curves.json``)."""
    path = Path(path) if path is not None else CURVES_PATH
    if not path.is_file():
        raise ValueError(f"no quality curves at {path.name!r}: run `python -m diffusion_core eval`")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path.name} is not valid JSON: {error}") from None
    return validate_curves(data)


def curves_by_sampler(data: dict) -> dict[str, list[dict]]:
    """Group a curves file's points by sampler, each list sorted by steps."""
    grouped: dict[str, list[dict]] = {}
    for point in data["points"]:
        grouped.setdefault(point["sampler"], []).append(point)
    return {name: sorted(points, key=lambda p: p["steps"]) for name, points in grouped.items()}


# ----------------------------------------------------------------------------------------------
# The comparison lab: samples in chunks, x0- vs noise-prediction, loss per timestep, failure modes
# ----------------------------------------------------------------------------------------------


def generate(
    unet: nn.Module,
    scheduler: Any,
    sampler: str,
    steps: int,
    n: int,
    seed: int = 0,
    start: str = "randn",
    fast: bool = False,
) -> torch.Tensor:
    """Sample ``n`` images with ``diffusion_core.sampling`` in chunks of ``sampling.MAX_BATCH``.

    Args:
        unet: a noise-predicting ``UNet2DModel`` (on any device).
        scheduler: the scheduler it was trained with (or its config).
        sampler: ``"ddpm"``, ``"ddim"``, ``"dpm++"`` or ``"euler"``.
        steps: sampling steps, 1..T.
        n: images, 1..10000.
        seed: one generator seeded with it draws every chunk's noise in turn.
        start: ``"randn"`` (x_T ~ N(0, I), correct) or ``"rand"`` (x_T ~ U[0, 1), the failure
            mode: the seed's ``corrupt`` noise where DDPM needs Gaussian noise).
        fast: use the sampling module's CUDA-graph step (CUDA, DDPM/DDIM, ``start="randn"`` only).

    Returns:
        Samples (n, C, H, W) on the CPU, roughly in [-1, 1].
    """
    from diffusion_core import sampling

    if start not in ("randn", "rand"):
        raise ValueError(f"start must be 'randn' or 'rand', got {start!r}")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10_000:
        raise ValueError(f"n must be a whole number between 1 and 10000, got {n!r}")
    generator = torch.Generator().manual_seed(seed)
    chunks = []
    for begin in range(0, n, sampling.MAX_BATCH):
        size = min(sampling.MAX_BATCH, n - begin)
        if start == "randn":
            records = sampling.scheduler_sample(unet, scheduler, sampler, steps, size, generator=generator, fast=fast)
        else:
            records = _uniform_start_steps(unet, scheduler, sampler, steps, size, generator)
        chunks.append(sampling.final_sample(records).float().cpu())
    return torch.cat(chunks)


def _uniform_start_steps(
    unet: nn.Module, scheduler: Any, sampler: str, steps: int, size: int, generator: torch.Generator
) -> Iterator:
    """The sampling loop of ``diffusion_core.sampling``, started from ``torch.rand`` instead of ``randn``."""
    from diffusion_core import sampling

    sampling.check_sampling_args(unet, scheduler, sampler, steps, size)
    sched = sampling.make_sampler_scheduler(scheduler, sampler)
    device = next(unet.parameters()).device
    sched.set_timesteps(steps, device=device)
    shape = (size, unet.config.in_channels, unet.config.sample_size, unet.config.sample_size)
    # the mistake: uniform noise in [0, 1) (mean 0.5, std 0.29) where the model expects N(0, I)
    x = torch.rand(shape, generator=generator).to(device) * sched.init_noise_sigma
    return sampling._plain_steps(unet, sched, x, generator)  # the same loop, only the start differs


def sampling_function(unet: nn.Module, scheduler: Any) -> SampleFn:
    """``generate`` as a ``SampleFn`` for ``quality_vs_steps``."""

    def sample(sampler: str, steps: int, n: int, seed: int) -> torch.Tensor:
        return generate(unet, scheduler, sampler, steps, n, seed)

    return sample


@dataclass
class ObjectiveComparison:
    """BasicUNet (predicts x0) beside UNet2DModel (predicts the noise) on the same digits at one noise level."""

    t: int  # DDPM timestep
    snr: float  # alpha_bar_t / (1 - alpha_bar_t): DDPM's signal-to-noise ratio at t
    amount: float  # the corrupt amount with the same SNR: 1 / (1 + sqrt(snr / 3))
    x0: torch.Tensor  # (B, 1, 28, 28) in [0, 1], the clean digits
    basic_input: torch.Tensor  # corrupt(x0, amount), [0, 1]
    basic_pred: torch.Tensor  # BasicUNet's direct guess of x0, clipped to [0, 1]
    ddpm_input: torch.Tensor  # x_t (DDPM eq. 4) mapped to [0, 1] for display (not clipped)
    ddpm_pred: torch.Tensor  # implied x0 = (x_t - sqrt(1 - alpha_bar) noise_pred) / sqrt(alpha_bar), in [0, 1]
    mse_basic: torch.Tensor  # (B,) per-image MSE of basic_pred against x0, in [0, 1] units
    mse_ddpm: torch.Tensor  # (B,) per-image MSE of ddpm_pred against x0, in [0, 1] units


@torch.no_grad()
def compare_objectives(
    basic: nn.Module,
    unet: nn.Module,
    scheduler: Any,
    x0: torch.Tensor,
    t: int,
    generator: torch.Generator | None = None,
) -> ObjectiveComparison:
    """Both models' x0 guesses for the same clean digits at a matched noise level.

    Each model gets the noise it was trained with (uniform for ``corrupt``, Gaussian for DDPM),
    and the two inputs are matched by their signal-to-noise ratio (signal amplitude over noise
    standard deviation, both in [0, 1] pixel units):

        DDPM at t (in [0, 1] units):  signal sqrt(alpha_bar) x0,  noise std sqrt(1 - alpha_bar) / 2
        corrupt at amount:            signal (1 - amount) x0,     noise std amount / sqrt(12)
        equal ratios  =>  (1 - amount) / amount = sqrt(SNR_t / 3),  SNR_t = alpha_bar / (1 - alpha_bar)
        =>  amount = 1 / (1 + sqrt(SNR_t / 3))

    Args:
        basic: a ``BasicUNet`` trained on ``corrupt`` (predicts x0, images in [0, 1]).
        unet: a ``UNet2DModel`` trained to predict the noise (images in [-1, 1]).
        scheduler: the DDPM scheduler the unet was trained with (read only: ``alphas_cumprod``).
        x0 (`torch.Tensor`, (B, 1, 28, 28), in [0, 1]): clean digits.
        t: the DDPM timestep, 0..T-1.
        generator: draws both noises (uniform first, then Gaussian).
    """
    from diffusion_core.corruption import corrupt

    x0 = _check_images(x0, "x0")
    alpha_bars = scheduler.alphas_cumprod
    if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < len(alpha_bars):
        raise ValueError(f"t must be a whole number in 0..{len(alpha_bars) - 1}, got {t!r}")
    alpha_bar = alpha_bars[t].double()
    snr = float(alpha_bar / (1 - alpha_bar))
    amount = 1.0 / (1.0 + math.sqrt(snr / 3.0))  # the corrupt amount with the same SNR
    # 1. BasicUNet: corrupt with uniform noise, predict x0 directly
    basic_device = next(basic.parameters()).device
    basic_input = corrupt(x0, amount, generator=generator)
    basic_pred = basic(basic_input.to(basic_device)).float().cpu().clamp(0, 1)
    # 2. UNet2DModel: DDPM forward process in [-1, 1], predict the noise, solve eq. 4 for x0
    unet_device = next(unet.parameters()).device
    x0_model = x0 * 2 - 1
    noise = torch.randn(x0.shape, generator=generator)
    x_t = alpha_bar.sqrt().float() * x0_model + (1 - alpha_bar).sqrt().float() * noise
    timesteps = torch.full((len(x0),), t, dtype=torch.long, device=unet_device)
    noise_pred = unet(x_t.to(unet_device), timesteps).sample.float().cpu()
    ddpm_pred = to_unit_range(predict_x0(x_t, noise_pred, alpha_bar.float())).clamp(0, 1)
    # 3. per-image MSE against the clean digits, both in [0, 1]
    return ObjectiveComparison(
        t=t,
        snr=snr,
        amount=amount,
        x0=x0,
        basic_input=basic_input,
        basic_pred=basic_pred,
        ddpm_input=x_t * 0.5 + 0.5,
        ddpm_pred=ddpm_pred,
        mse_basic=(basic_pred - x0).square().mean(dim=(1, 2, 3)),
        mse_ddpm=(ddpm_pred - x0).square().mean(dim=(1, 2, 3)),
    )


@dataclass
class TimestepLoss:
    """The DDPM training loss at one timestep, averaged over a batch of digits."""

    t: int  # the timestep
    alpha_bar: float  # alpha_bar_t
    snr: float  # alpha_bar_t / (1 - alpha_bar_t)
    noise_mse: float  # the training loss: MSE(noise_pred, noise)
    x0_mse: float  # the same error seen on x0: MSE(pred_x0, x0) = noise_mse / snr, in [-1, 1] units


@torch.no_grad()
def loss_per_timestep(
    unet: nn.Module,
    scheduler: Any,
    x0: torch.Tensor,
    timesteps: Sequence[int],
    generator: torch.Generator | None = None,
) -> Iterator[TimestepLoss]:
    """The noise-prediction loss of ``unet`` at each of ``timesteps``, one record per timestep.

    Training draws t uniformly and minimises ``MSE(noise_pred, noise)``. Written on x0 that loss is
    ``SNR(t) * MSE(pred_x0, x0)``: an implicit weighting that counts x0 errors at small t (high
    SNR) far more than at large t.

    Args:
        unet: a noise-predicting ``UNet2DModel``.
        scheduler: its training scheduler (``alphas_cumprod`` is read).
        x0 (`torch.Tensor`, (B, 1, 28, 28), in [0, 1]): digits; mapped to [-1, 1] here.
        timesteps: the t to measure, each in 0..T-1.
        generator: draws the noise; the same noise is reused at every t.
    """
    x0 = _check_images(x0, "x0") * 2 - 1
    alpha_bars = scheduler.alphas_cumprod.double()
    steps = list(timesteps)
    if not steps:
        raise ValueError("give at least one timestep")
    for t in steps:
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < len(alpha_bars):
            raise ValueError(f"timesteps must be whole numbers in 0..{len(alpha_bars) - 1}, got {t!r}")
    device = next(unet.parameters()).device
    noise = torch.randn(x0.shape, generator=generator)
    for t in steps:
        alpha_bar = alpha_bars[t]
        # 1. x_t = sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) noise          (DDPM eq. 4)
        x_t = alpha_bar.sqrt().float() * x0 + (1 - alpha_bar).sqrt().float() * noise
        # 2. predict the noise and score it as training does
        batch_t = torch.full((len(x0),), t, dtype=torch.long, device=device)
        noise_pred = unet(x_t.to(device), batch_t).sample.float().cpu()
        noise_mse = float((noise_pred - noise).square().mean())
        # 3. the same prediction read as an x0 guess
        pred_x0 = (x_t - (1 - alpha_bar).sqrt().float() * noise_pred) / alpha_bar.sqrt().float()
        yield TimestepLoss(
            t=t,
            alpha_bar=float(alpha_bar),
            snr=float(alpha_bar / (1 - alpha_bar)),
            noise_mse=noise_mse,
            x0_mse=float((pred_x0 - x0).square().mean()),
        )


FAILURE_MODES = ("correct", "rand", "no_scaling", "few_steps", "undertrained")


def early_checkpoints(folder: str | Path | None = None) -> list[Path]:
    """Early DDPM checkpoints saved by the training CLI (``<folder>/early/step_NNNNNN``), earliest first."""
    from diffusion_core.checkpoints import DDPM_DIR

    early = Path(folder if folder is not None else DDPM_DIR) / "early"
    if not early.is_dir():
        return []
    found = [p for p in early.glob("step_*") if (p / "model_index.json").is_file()]
    return sorted(found, key=lambda p: p.name)


@dataclass
class FailureSamples:
    """Samples for one row of the failure-mode lab."""

    mode: str  # one of FAILURE_MODES
    images: torch.Tensor  # (B, 1, 28, 28) in [0, 1]: what the learner would see
    raw: torch.Tensor  # (B, 1, 28, 28): the sampler's output, roughly in [-1, 1]
    raw_min: float  # smallest value of the sampler's output tensor
    raw_max: float  # largest value
    confidence: float  # the classifier's mean confidence on ``images``
    class_balance: float  # normalised class entropy of ``images``


def failure_samples(
    mode: str,
    unet: nn.Module,
    scheduler: Any,
    n: int = 16,
    sampler: str = "ddim",
    steps: int = 20,
    few_steps: int = 2,
    seed: int = 0,
    early_unet: nn.Module | None = None,
) -> FailureSamples:
    """Sample the way a mistake would, from the same seed as the correct run.

    Modes:
        ``"correct"``: x_T ~ N(0, I), ``steps`` steps, shown with ``x * 0.5 + 0.5``.
        ``"rand"``: x_T ~ U[0, 1) (``torch.rand`` instead of ``torch.randn``).
        ``"no_scaling"``: correct sampling, but the [-1, 1] output is shown as if it were [0, 1]
            (the ``x * 0.5 + 0.5`` of the seed's ``show_images`` forgotten; values outside are clipped).
        ``"few_steps"``: only ``few_steps`` steps.
        ``"undertrained"``: ``early_unet`` (an early checkpoint) instead of the trained model.
    """
    if mode not in FAILURE_MODES:
        raise ValueError(f"unknown failure mode {mode!r}: choose one of {', '.join(FAILURE_MODES)}")
    model = unet
    if mode == "undertrained":
        if early_unet is None:
            raise ValueError("no early checkpoint: train with `--save-every N` to save one")
        model = early_unet
    count = few_steps if mode == "few_steps" else steps
    raw = generate(model, scheduler, sampler, count, n, seed, start="rand" if mode == "rand" else "randn")
    images = raw.clamp(0, 1) if mode == "no_scaling" else (raw * 0.5 + 0.5).clamp(0, 1)
    probs = classify(images).probs if n >= 2 else None
    return FailureSamples(
        mode=mode,
        images=images,
        raw=raw,
        raw_min=float(raw.min()),
        raw_max=float(raw.max()),
        confidence=mean_confidence(probs) if probs is not None else float("nan"),
        class_balance=class_balance(probs) if probs is not None else float("nan"),
    )
