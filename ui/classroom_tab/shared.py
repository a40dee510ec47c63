"""What the stops share: the lesson's digits, how a stop fills itself when it opens, event settings."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from diffusion_core.data import mnist_batch

DIGITS_SEED = 0  # every stop shows the same 8 MNIST digits (the other tabs' default seed)
QUIET = {"api_visibility": "private", "show_progress": "hidden"}  # classroom events are not API endpoints
LIGHT = {**QUIET, "trigger_mode": "always_last"}  # a slider's view: only the latest value matters
# the heavy pools the other tabs use: a classroom run waits in the same line as a Training or Sampling run
TRAIN_POOL = {"concurrency_id": "train", "concurrency_limit": 2}
SAMPLE_POOL = {"concurrency_id": "sample", "concurrency_limit": 2}


@dataclass
class Opening:
    """A handler that fills a stop when the stop opens (its first use): nothing is computed at build time.

    ``fn(filled, *inputs)`` gets ``filled`` (a ``gr.State``, True once filled) first and returns
    ``(True, *outputs)``, or skips everything once the stop is filled.
    """

    fn: Callable[..., Any]
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)


@functools.lru_cache(maxsize=1)
def lesson_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The lesson's 8 MNIST digits, (8, 1, 28, 28) in [0, 1], and their labels (8,); read-only."""
    return mnist_batch(8, DIGITS_SEED)
