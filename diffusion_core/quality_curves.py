"""Quality vs sampling steps, and the file that stores the curves (``assets/quality_curves.json``).

``quality_vs_steps`` samples with each scheduler at each step count and scores the result with
``diffusion_core.metrics.measure``; ``python -m diffusion_core eval`` writes the curves file
(schema: ``CURVES_SCHEMA``, checked by ``validate_curves``) that the Compare tab draws.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from diffusion_core.checks import whole_number
from diffusion_core.data import ASSETS_DIR, to_unit_range
from diffusion_core.metrics import measure
from diffusion_core.sampling import SAMPLERS

CURVES_PATH = ASSETS_DIR / "quality_curves.json"

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
    whole_number(n, "n", 2, 10_000)
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
        report = measure(to_unit_range(samples.detach().float().cpu()).clamp(0, 1))
        yield QualityPoint(
            sampler, count, n, report.fd, report.fd_floor, report.confidence, report.class_balance, seconds
        )


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
