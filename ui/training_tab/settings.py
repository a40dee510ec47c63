"""The Training tab's limits and defaults, shared by the layout, the lesson text and the ``train`` handler."""

from __future__ import annotations

MAX_STEPS = 5000  # a browser session trains for minutes, not hours (the CLI has no such limit)
MAX_BATCH = 512
MAX_PREVIEW_EVERY = 500
DEFAULT_STEPS = 200
DEFAULT_BATCH = 64
DEFAULT_PREVIEW_EVERY = 10
PREVIEW_COUNT = 8  # images in the three-row figure, as in the seed
MIN_SECONDS_BETWEEN_UPDATES = 0.5  # at most ~2 streamed updates per second, plus every preview
MODEL_NAMES = {"basic": "BasicUNet", "ddpm": "UNet2DModel"}  # the value of the model radio -> its class
