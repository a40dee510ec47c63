"""The tutorial's corrupt(x, amount): endpoints, broadcasting, ranges, reproducibility, checks."""

import pytest
import torch

from diffusion_core.corruption import corrupt
from diffusion_core.data import mnist_batch


def test_amount_zero_returns_x_and_one_returns_the_noise():
    x, _ = mnist_batch(8, seed=0)
    assert torch.equal(corrupt(x, 0.0), x)
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(1))
    out = corrupt(x, 1.0, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out, noise)


def test_matches_the_seed_formula_per_image():
    x, _ = mnist_batch(8, seed=0)
    amount = torch.linspace(0, 1, 8)
    generator = torch.Generator().manual_seed(5)
    out = corrupt(x, amount, generator=generator)
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(5))
    expected = x * (1 - amount.view(-1, 1, 1, 1)) + noise * amount.view(-1, 1, 1, 1)
    assert torch.allclose(out, expected)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0  # the mix stays in [0, 1]


def test_noise_is_uniform_on_zero_one():
    out = corrupt(torch.zeros(64, 1, 28, 28), 1.0, generator=torch.Generator().manual_seed(0))
    assert abs(float(out.mean()) - 0.5) < 0.01  # U[0, 1) has mean 1/2 ...
    assert abs(float(out.var()) - 1 / 12) < 0.005  # ... and variance 1/12
    assert float(out.min()) >= 0.0 and float(out.max()) < 1.0


@pytest.mark.parametrize(
    "amount, message",
    [(-0.1, r"\[0, 1\]"), (1.5, r"\[0, 1\]"), (float("nan"), r"\[0, 1\]"), (torch.zeros(3), "shape")],
)
def test_bad_amounts(amount, message):
    with pytest.raises(ValueError, match=message):
        corrupt(torch.zeros(8, 1, 28, 28), amount)


def test_bad_x():
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        corrupt(torch.zeros(28, 28), 0.5)
    with pytest.raises(ValueError, match="float"):
        corrupt(torch.zeros(1, 1, 28, 28, dtype=torch.uint8), 0.5)
