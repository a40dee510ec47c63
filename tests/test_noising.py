"""DDPM noising through diffusers' DDPMScheduler: schedules, curves, add_noise."""

import math

import pytest
import torch

from diffusion_core.data import mnist_batch, to_model_range
from diffusion_core.noising import (
    BETA_SCHEDULES,
    ScheduleConfig,
    add_noise,
    draw_noise,
    make_scheduler,
    noise_curves,
    seed_timesteps,
)


@pytest.mark.parametrize("schedule", BETA_SCHEDULES)
def test_each_schedule_has_a_decreasing_alpha_bar(schedule):
    curves = noise_curves(beta_schedule=schedule)
    assert len(curves.t) == 1000
    assert bool((curves.alpha_bar[1:] < curves.alpha_bar[:-1]).all())
    assert 0.9 < float(curves.alpha_bar[0]) <= 1.0 and float(curves.alpha_bar[-1]) < 0.01
    assert torch.allclose(curves.sqrt_alpha_bar**2 + curves.sqrt_one_minus_alpha_bar**2, torch.ones(1000).double())
    assert bool((curves.snr[1:] < curves.snr[:-1]).all())


def test_alpha_bar_is_the_product_up_to_t():
    curves = noise_curves(beta_schedule="linear")
    product = torch.cumprod(1 - curves.beta, dim=0)
    assert torch.allclose(curves.alpha_bar, product)
    assert math.isclose(float(curves.alpha_bar[10]), float(torch.prod(1 - curves.beta[:11])), rel_tol=1e-6)


def test_add_noise_equals_the_closed_form():
    x0 = to_model_range(mnist_batch(8, seed=0)[0])
    scheduler = make_scheduler(beta_schedule="squaredcos_cap_v2")
    t = seed_timesteps(1000)
    x_t, noise = add_noise(x0, t, scheduler, generator=torch.Generator().manual_seed(0))
    alpha_bar = scheduler.alphas_cumprod[t].view(-1, 1, 1, 1)
    assert torch.allclose(x_t, alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise, atol=1e-6)


def test_seed_timesteps_are_the_seeds_linspace():
    assert seed_timesteps(1000).tolist() == [0, 142, 285, 428, 570, 713, 856, 999]


def test_randn_vs_rand():
    gauss = draw_noise((200_000,), "randn", torch.Generator().manual_seed(0))
    uniform = draw_noise((200_000,), "rand", torch.Generator().manual_seed(0))
    assert abs(float(gauss.mean())) < 0.01 and abs(float(gauss.std()) - 1) < 0.01
    assert abs(float(uniform.mean()) - 0.5) < 0.01 and float(uniform.min()) >= 0
    with pytest.raises(ValueError, match="randn"):
        draw_noise((2,), "normal")


def test_at_the_last_step_x_t_is_close_to_the_noise():
    x0 = to_model_range(mnist_batch(8, seed=0)[0])
    x_t, noise = add_noise(x0, 999, make_scheduler(), generator=torch.Generator().manual_seed(0))
    assert float((x_t - noise).abs().max()) < 0.02


def test_schedule_knobs_reach_the_scheduler():
    scheduler = make_scheduler(num_train_timesteps=50, beta_start=0.001, beta_end=0.05)
    assert scheduler.config.num_train_timesteps == 50 and len(scheduler.alphas_cumprod) == 50
    assert math.isclose(float(scheduler.betas[0]), 0.001, rel_tol=1e-5)
    assert math.isclose(float(scheduler.betas[-1]), 0.05, rel_tol=1e-5)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"beta_schedule": "cosine"}, "unknown beta schedule"),
        ({"num_train_timesteps": 1}, "between 2"),
        ({"num_train_timesteps": 10.5}, "integer"),
        ({"beta_start": float("nan")}, "beta_start"),
        ({"beta_start": 0.05, "beta_end": 0.01}, "smaller"),
    ],
)
def test_bad_schedules(overrides, message):
    with pytest.raises(ValueError, match=message):
        ScheduleConfig(**overrides).validate()


@pytest.mark.parametrize("t", [-1, 1000, 2.5, float("nan")])
def test_bad_timesteps(t):
    x0 = torch.zeros(2, 1, 8, 8)
    with pytest.raises(ValueError, match="timestep"):
        add_noise(x0, torch.tensor(t), make_scheduler())
