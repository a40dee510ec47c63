"""Quality numbers for a set of digits: the Fréchet distance and its floor, confidence, class balance.

The way the field scores ImageNet samples with the Inception network (FID, Heusel et al. 2017),
scaled to MNIST with the feature classifier of ``diffusion_core.classifier``:

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

Images enter in [0, 1] (``(B, 1, 28, 28)``); map DDPM samples in [-1, 1] with ``to_unit_range``
and clip them first.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import torch

from diffusion_core.classifier import NUM_CLASSES, DigitClassifier, load_classifier
from diffusion_core.data import load_mnist

REFERENCE_SIZE = 5000  # real digits in the fixed reference set; the other 5000 feed the floor
REFERENCE_SEED = 1234  # the permutation that splits the bundled 10k into reference / floor pools


def check_images(x: torch.Tensor, name: str = "images") -> torch.Tensor:
    """``x`` as a float CPU copy if it is (N, 1, 28, 28) with N >= 2 and finite, else raise ``ValueError``."""
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
    images = check_images(images).clamp(0, 1)
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
