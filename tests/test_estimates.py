"""Run-time estimates (``diffusion_core.estimates``) with real models: measured, cached, and close to real runs."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from tiny import TINY_CONFIG_DDPM, TINY_UNET

from diffusion_core import estimates, sampling, training
from diffusion_core.models import BasicUNet, build_unet2d

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def unet():
    torch.manual_seed(0)
    return build_unet2d(**TINY_UNET).eval()


@pytest.fixture(autouse=True)
def fresh_cache():
    estimates.clear_cache()
    yield
    estimates.clear_cache()


def test_the_cap_comes_from_the_environment():
    assert estimates.run_cap_seconds({}) == estimates.DEFAULT_RUN_CAP_SECONDS == 600
    assert estimates.run_cap_seconds({estimates.RUN_CAP_ENV: " 90 "}) == 90
    for bad in ("soon", "0", "-5", "nan", "inf"):
        assert estimates.run_cap_seconds({estimates.RUN_CAP_ENV: bad}) == 600, bad


def test_a_step_is_measured_once_then_cached_per_model_and_batch(unet):
    first = estimates.forward_seconds(unet, 4)
    assert 0 < first < 5 and estimates.cached_measurements() == 1
    assert estimates.forward_seconds(unet, 4) == first  # the cached measurement, not a new one
    assert estimates.cached_measurements() == 1
    estimates.forward_seconds(unet, 8)  # another batch is another measurement
    same_architecture = build_unet2d(**TINY_UNET)  # other weights, same speed: shares the entry
    assert estimates.forward_seconds(same_architecture, 4) == first
    assert estimates.cached_measurements() == 2
    estimates.forward_seconds(build_unet2d(**{**TINY_UNET, "sample_size": 16}), 4)
    assert estimates.cached_measurements() == 3


def test_callers_at_once_share_one_measurement(unet, monkeypatch):
    """Learners who click together wait for one timing of the step, not three timings racing each other."""
    timings = []
    real = estimates.seconds_per_call
    monkeypatch.setattr(estimates, "seconds_per_call", lambda *a, **k: timings.append(1) or real(*a, **k))
    together = threading.Barrier(3)

    def call() -> float:
        together.wait()
        return estimates.forward_seconds(unet, 4)

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: call(), range(3)))
    assert len(timings) == 1 and len(set(results)) == 1 and results[0] > 0
    assert estimates.cached_measurements() == 1


def test_model_key_and_shapes_follow_the_architecture(unet):
    assert estimates.model_key(unet) == estimates.model_key(build_unet2d(**TINY_UNET))
    assert estimates.model_key(unet) != estimates.model_key(build_unet2d(**{**TINY_UNET, "sample_size": 16}))
    assert estimates.sample_shape(unet) == (1, 8, 8)
    assert estimates.sample_shape(BasicUNet(in_channels=3, out_channels=3)) == (3, 28, 28)
    assert estimates.model_key(BasicUNet()) != estimates.model_key(BasicUNet(in_channels=3, out_channels=3))


def test_timing_a_training_step_leaves_the_model_unchanged(unet):
    before = {name: p.detach().clone() for name, p in unet.state_dict().items()}
    seconds = estimates.train_step_seconds(unet, 4)
    assert seconds > 0
    assert all(torch.equal(before[name], p) for name, p in unet.state_dict().items())
    assert all(p.grad is None for p in unet.parameters())


def test_an_estimate_is_steps_times_the_measured_step(unet):
    small = estimates.sampling_estimate(unet, 10, 2)
    large = estimates.sampling_estimate(unet, 1000, 2, extra_seconds=1.5)
    assert small.step_seconds == large.step_seconds  # one measurement, reused
    assert small.seconds == pytest.approx(10 * small.step_seconds)
    assert large.seconds == pytest.approx(1000 * large.step_seconds + 1.5)
    assert (large.steps, large.batch, large.device) == (1000, 2, "cpu")
    assert estimates.over_cap(large, large.seconds - 1e-6) and not estimates.over_cap(large, large.seconds)
    quality = estimates.quality_estimate(unet, [2, 5, 10], 8, score_seconds=0.5)
    assert quality.steps == 17 and quality.seconds == pytest.approx(17 * quality.step_seconds + 1.5)
    with pytest.raises(ValueError, match="steps must be between"):
        estimates.sampling_estimate(unet, 0, 2)
    with pytest.raises(ValueError, match="extra_seconds"):
        estimates.sampling_estimate(unet, 5, 2, extra_seconds=-1)
    with pytest.raises(ValueError, match="batch must be a whole number"):
        estimates.forward_seconds(unet, 2.5)


# Both runs below are some tens of model calls of a tiny model, measured right after their estimate, so the
# machine's load is about the same for both. The bound is wide on purpose: it catches an estimate off by an
# order of magnitude (a missing factor, a step counted twice), not noise on a shared 2-core machine.
SANE_FACTOR = 4


def test_a_sampling_estimate_is_within_a_sane_factor_of_the_run(unet):
    steps, batch = 40, 8
    estimate = estimates.sampling_estimate(unet, steps, batch)
    start = time.perf_counter()
    sampling.final_sample(sampling.scheduler_sample(unet, {"num_train_timesteps": 1000}, "ddim", steps, batch,
                                                    generator=torch.Generator().manual_seed(0)))  # fmt: skip
    actual = time.perf_counter() - start
    print(f"estimate {estimate.seconds:.2f} s, actual {actual:.2f} s")  # shown with -s
    assert actual / SANE_FACTOR < estimate.seconds < actual * SANE_FACTOR, (estimate, actual)


def test_a_training_estimate_is_within_a_sane_factor_of_the_run():
    config = dataclasses.replace(TINY_CONFIG_DDPM, steps=15)
    model = build_unet2d(**TINY_UNET)
    images = torch.rand(64, 1, 8, 8)
    estimate = estimates.training_estimate(model, config.steps, config.batch_size)
    start = time.perf_counter()
    for _ in training.train_eps(model, images, config):
        pass
    actual = time.perf_counter() - start
    print(f"estimate {estimate.seconds:.2f} s, actual {actual:.2f} s")  # shown with -s
    assert actual / SANE_FACTOR < estimate.seconds < actual * SANE_FACTOR, (estimate, actual)


def test_a_fresh_process_times_the_step_not_an_import():
    """In a process that has not imported diffusers, timing BasicUNet's step imports nothing: the first timing
    once took the ~5 s import of diffusers as a preview's call, and predicted 158 s for a 38 s run."""
    script = (
        "import sys, torch\n"
        "from diffusion_core import estimates, training\n"
        "model = training.build_model('basic', seed=0)\n"
        "estimate = estimates.training_estimate(model, 200, 64, previews=22, preview_batch=8)\n"
        "assert 'diffusers' not in sys.modules, 'timing a BasicUNet imported diffusers'\n"
        "print(estimate.extra_seconds / 22, estimate.step_seconds)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    preview_seconds, step_seconds = map(float, result.stdout.split())
    assert 0 < preview_seconds < 0.5 and 0 < step_seconds < 5
