"""The frames payloads of issue 15: what the page receives is enough to recompute the core's frames.

The page's arithmetic is replayed here in numpy from the decoded payload (the browser tests check the
page's own canvases); the result must equal the core's ``corrupt`` / ``add_noise`` within 1/255.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from diffusion_core.corruption import corrupt
from diffusion_core.data import mnist_batch, to_model_range
from diffusion_core.noising import ScheduleConfig, add_noise, draw_noise, make_scheduler
from ui.client_scrub import decode, encode
from ui.corruption_tab import corruption_frames
from ui.noising_tab import noising_frames


def arrays(payload: dict) -> dict[str, np.ndarray]:
    return {name: decode(text, payload["dtypes"][name]) for name, text in payload["arrays"].items()}


def test_encode_keeps_bytes_exact_and_floats_as_float32():
    digits = mnist_batch(8, 3)[0]
    text, dtype = encode(digits)
    assert dtype == "u8" and np.array_equal(decode(text, dtype), digits.numpy().reshape(-1))
    noise = torch.randn(2, 1, 4, 4)
    text, dtype = encode(noise)
    assert dtype == "f32" and np.array_equal(decode(text, dtype), noise.numpy().reshape(-1))


@pytest.mark.parametrize("amount", [0.0, 0.37, 1.0])
def test_corruption_payload_reproduces_corrupt(amount):
    payload = json.loads(corruption_frames("mnist", 5, amount, None))
    data = arrays(payload)
    shape = payload["shape"]
    assert payload["kind"] == "mix" and shape == [8, 1, 28, 28] and payload["value"] == amount
    frame = (1 - amount) * data["x"] + amount * data["noise"]  # what the page computes

    x = mnist_batch(8, 5)[0]
    expected = corrupt(x, amount, noise=torch.rand(x.shape, generator=torch.Generator().manual_seed(5)))
    assert np.abs(frame - expected.numpy().reshape(-1)).max() < 0.5 / 255
    assert set(payload["formula"]) == {"zh", "en"} and "{a:.2f}" in payload["formula"]["en"]


@pytest.mark.parametrize(("schedule", "kind", "t"), [("linear", "randn", 0), ("squaredcos_cap_v2", "rand", 611)])
def test_noising_payload_reproduces_add_noise(schedule, kind, t):
    payload = json.loads(noising_frames("mnist", 2, None, schedule, 1000, 1e-4, 0.02, t, kind))
    data = arrays(payload)
    assert payload["kind"] == "ddpm" and len(data["alpha_bar"]) == 1000 and payload["chart"]["schedule"] == schedule
    alpha_bar = float(data["alpha_bar"][t])
    frame = np.sqrt(alpha_bar) * (data["x"] * 2 - 1) + np.sqrt(1 - alpha_bar) * data["noise"]

    x0 = to_model_range(mnist_batch(8, 2)[0])
    noise = draw_noise(tuple(x0.shape), kind, torch.Generator().manual_seed(2))
    expected, _ = add_noise(x0, t, make_scheduler(ScheduleConfig(beta_schedule=schedule)), noise=noise)
    assert np.abs(frame - expected.numpy().reshape(-1)).max() < 0.5 / 255


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="amount must be"):
        corruption_frames("mnist", 0, 1.5, None)
    with pytest.raises(ValueError, match="timestep t must be between 0 and 9"):
        noising_frames("mnist", 0, None, "linear", 10, 1e-4, 0.02, 50, "randn")
