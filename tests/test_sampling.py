"""Tests of diffusion_core.sampling: oracles against the tutorial's loop and against diffusers' DDPMPipeline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from diffusers import DDPMPipeline, DDPMScheduler
from tiny import TINY_UNET

from diffusion_core import sampling
from diffusion_core.models import BasicUNet, build_unet2d


def tabled_steps(unet, sched, x: torch.Tensor, generator: torch.Generator | None) -> Iterator[sampling.SampleStep]:
    """The tabled update run eagerly, one record per step (the fast path's math, on any device)."""
    tables = sampling.step_tables(sched).to(x.device)
    noise = sampling.draw_step_noise(tables, tuple(x.shape), generator, x.device, x.dtype)
    timesteps = tables.timesteps.tolist()
    for i in range(len(timesteps)):
        index = torch.tensor([i], device=x.device)
        with torch.no_grad():
            noise_pred, pred_x0, x_prev = sampling.tabled_step(unet, tables, noise, x, index)
        yield sampling.SampleStep(step=i, t=timesteps[i], x_t=x, pred_x0=pred_x0, noise_pred=noise_pred, x_prev=x_prev)
        x = x_prev


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return build_unet2d(**TINY_UNET).eval()


@pytest.fixture(scope="module")
def train_scheduler():
    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")  # the tutorial's


def seed_mix_loop(net, n_steps, x):
    """The tutorial's sampling loop, verbatim apart from the device and the plotting."""
    step_history = [x.detach().cpu()]
    pred_output_history = []
    for i in range(n_steps):
        with torch.no_grad():
            pred = net(x)
        pred_output_history.append(pred.detach().cpu())
        mix_factor = 1 / (n_steps - i)
        x = x * (1 - mix_factor) + pred * mix_factor
        step_history.append(x.detach().cpu())
    return step_history, pred_output_history


@pytest.mark.parametrize("n_steps", [1, 5])
def test_mix_sample_equals_the_seed_loop(n_steps):
    torch.manual_seed(1)
    net = BasicUNet().eval()
    records = list(sampling.mix_sample(net, n_steps, 8, generator=torch.Generator().manual_seed(7)))
    x = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(7))  # the seed starts from rand
    step_history, pred_history = seed_mix_loop(net, n_steps, x)
    assert [r.step for r in records] == list(range(n_steps))
    for i, record in enumerate(records):
        assert torch.equal(record.x_t, step_history[i])  # "x (model input)"
        assert torch.equal(record.pred_x0, pred_history[i])  # "model prediction"
        assert torch.equal(record.x_prev, step_history[i + 1])
        assert record.noise_pred is None
    assert records[0].t == 1.0 and records[-1].t == pytest.approx(1 / n_steps)


def test_mix_sample_last_step_lands_on_the_prediction():
    net = BasicUNet().eval()
    last = list(sampling.mix_sample(net, 3, 2, generator=torch.Generator().manual_seed(0)))[-1]
    assert torch.allclose(last.x_prev, last.pred_x0)  # mix factor 1/(n - (n-1)) = 1


@pytest.mark.parametrize("steps", [1, 7, 25])
def test_ddpm_matches_ddpm_pipeline(unet, train_scheduler, steps):
    records = list(
        sampling.scheduler_sample(unet, train_scheduler, "ddpm", steps, 3, generator=torch.Generator().manual_seed(11))
    )
    pipeline = DDPMPipeline(unet=unet, scheduler=DDPMScheduler.from_config(train_scheduler.config))
    pipeline.set_progress_bar_config(disable=True)
    expected = pipeline(
        batch_size=3, generator=torch.Generator().manual_seed(11), num_inference_steps=steps, output_type="np"
    ).images
    ours = (records[-1].x_prev / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    assert ours.shape == expected.shape == (3, 8, 8, 1)
    assert torch.allclose(torch.from_numpy(ours), torch.from_numpy(expected), atol=1e-6)


def test_pipeline_sample_matches_scheduler_sample(unet, train_scheduler):
    pipeline = DDPMPipeline(unet=unet, scheduler=train_scheduler)
    images = sampling.pipeline_sample(pipeline, 5, 2, generator=torch.Generator().manual_seed(4))
    final = sampling.final_sample(
        sampling.scheduler_sample(unet, train_scheduler, "ddpm", 5, 2, generator=torch.Generator().manual_seed(4))
    )
    assert images.shape == (2, 1, 8, 8) and images.min() >= 0 and images.max() <= 1
    assert torch.allclose(images, (final / 2 + 0.5).clamp(0, 1), atol=1e-6)
    assert train_scheduler.num_inference_steps is None  # the shared scheduler was not touched


def test_a_stopped_pipeline_returns_the_batch_as_far_as_it_got(unet, train_scheduler):
    pipeline = DDPMPipeline(unet=unet, scheduler=train_scheduler)
    asked: list[int] = []
    images = sampling.pipeline_sample(pipeline, 20, 2, generator=torch.Generator().manual_seed(4),
                                      on_step=lambda i: asked.append(i) or i == 6)  # fmt: skip
    assert asked == list(range(7))  # asked before every step; step 6 never ran
    records = list(sampling.scheduler_sample(unet, train_scheduler, "ddpm", 20, 2,
                                             generator=torch.Generator().manual_seed(4)))  # fmt: skip
    assert torch.allclose(images, (records[5].x_prev / 2 + 0.5).clamp(0, 1), atol=1e-6)  # after steps 0..5
    finished = sampling.pipeline_sample(pipeline, 20, 2, generator=torch.Generator().manual_seed(4))
    assert not torch.allclose(images, finished, atol=1e-2)


@pytest.mark.parametrize("sampler", sampling.SAMPLERS)
@pytest.mark.parametrize("steps", [1, 4, 20])
def test_each_scheduler_yields_its_step_count(unet, train_scheduler, sampler, steps):
    records = list(sampling.scheduler_sample(unet, train_scheduler, sampler, steps, 2, generator=torch.Generator()))
    assert [r.step for r in records] == list(range(steps))
    ts = [r.t for r in records]
    assert ts == sorted(ts, reverse=True) and len(set(ts)) == steps  # from noisy to clean, each t once
    for record in records:
        for tensor in (record.x_t, record.pred_x0, record.noise_pred, record.x_prev):
            assert tensor.shape == (2, 1, 8, 8) and torch.isfinite(tensor).all()


def test_euler_scales_the_model_input(unet, train_scheduler):
    """Euler's sample starts at init_noise_sigma >> 1; the network must see it divided by sqrt(sigma^2 + 1)."""
    first = next(sampling.scheduler_sample(unet, train_scheduler, "euler", 10, 64, generator=torch.Generator()))
    scheduler = sampling.make_sampler_scheduler(train_scheduler, "euler")
    scheduler.set_timesteps(10)
    assert float(scheduler.init_noise_sigma) > 10
    assert 0.9 < float(first.x_t.std()) < 1.1  # unit-variance input, as in training


def test_same_generator_same_samples_and_seeds_differ(unet, train_scheduler):
    def run(seed):
        gen = torch.Generator().manual_seed(seed)
        return sampling.final_sample(sampling.scheduler_sample(unet, train_scheduler, "ddpm", 5, 2, generator=gen))

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))


def test_a_given_start_replaces_the_drawn_noise(unet, train_scheduler):
    shape = (2, unet.config.in_channels, unet.config.sample_size, unet.config.sample_size)
    gen = torch.Generator().manual_seed(3)
    x_T = torch.randn(shape, generator=gen)  # what the call would draw itself from manual_seed(3)
    given = sampling.scheduler_sample(unet, train_scheduler, "ddpm", 4, 2, generator=gen, x_T=x_T)
    drawn = sampling.scheduler_sample(unet, train_scheduler, "ddpm", 4, 2, generator=torch.Generator().manual_seed(3))
    assert torch.equal(sampling.final_sample(given), sampling.final_sample(drawn))
    uniform = torch.rand(shape, generator=torch.Generator().manual_seed(3))
    first = next(sampling.scheduler_sample(unet, train_scheduler, "ddim", 4, 2, x_T=uniform))
    assert torch.equal(first.x_t, uniform)  # DDIM: scale_model_input and init_noise_sigma are the identity
    with pytest.raises(ValueError, match="x_T must be a tensor of shape"):
        sampling.scheduler_sample(unet, train_scheduler, "ddim", 4, 3, x_T=uniform)


@pytest.mark.parametrize("sampler", sampling.FAST_SAMPLERS)
def test_tabled_step_matches_the_scheduler(unet, train_scheduler, sampler):
    """The fast path's math (coefficient tables indexed by a step tensor), run eagerly on the CPU."""
    plain = list(
        sampling.scheduler_sample(unet, train_scheduler, sampler, 15, 2, generator=torch.Generator().manual_seed(5))
    )
    scheduler = sampling.make_sampler_scheduler(train_scheduler, sampler)
    scheduler.set_timesteps(15)
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(2, 1, 8, 8, generator=generator)
    tabled = list(tabled_steps(unet, scheduler, x, generator))
    assert len(tabled) == len(plain) == 15
    for a, b in zip(plain, tabled, strict=True):
        assert a.t == b.t
        for name in ("x_t", "pred_x0", "noise_pred", "x_prev"):
            assert torch.allclose(getattr(a, name), getattr(b, name), atol=sampling.TABLE_ATOL), name


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the CUDA-graph fast path needs a CUDA GPU")
@pytest.mark.parametrize("sampler", sampling.FAST_SAMPLERS)
def test_fast_path_matches_the_plain_loop_on_cuda(sampler):
    # The bundled, trained model: with random weights DDIM's deterministic ODE is chaotic (on the CPU a
    # 1e-6 change of the starting noise moved the 50-step result by 1.7), so no final-image tolerance holds.
    pipeline = sampling.bundled_ddpm("cuda")
    unet, train_scheduler = pipeline.unet, pipeline.scheduler
    steps = 1000 if sampler == "ddpm" else 50

    def run(fast):
        gen = torch.Generator().manual_seed(9)
        return list(sampling.scheduler_sample(unet, train_scheduler, sampler, steps, 8, generator=gen, fast=fast))

    plain, fast = run(False), run(True)
    assert len(fast) == len(plain) == steps
    assert [r.t for r in fast] == [r.t for r in plain]
    # 1. every replayed step runs the network at its own t: teacher-forced against an eager forward
    for record in fast[:: max(1, steps // 25)]:
        with torch.no_grad():
            eager = unet(record.x_t, torch.tensor([record.t], device="cuda")).sample
        assert torch.allclose(record.noise_pred, eager, atol=1e-4), f"step {record.step}, t={record.t}"
    # 2. the whole chain ends where the plain loop ends
    difference = (fast[-1].x_prev - plain[-1].x_prev).abs().max().item()
    print(f"fast path vs plain, {sampler} {steps} steps: max |difference| = {difference:.2e}")
    assert difference <= sampling.FAST_PATH_ATOL


def test_fast_path_refuses_without_cuda_or_for_other_samplers(unet, train_scheduler):
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            sampling.scheduler_sample(unet, train_scheduler, "ddpm", 5, 2, fast=True)
    else:
        with pytest.raises(ValueError, match="fast path covers"):
            sampling.scheduler_sample(unet.to("cuda"), train_scheduler, "euler", 5, 2, fast=True)
        unet.to("cpu")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_inference_steps": 0}, "num_inference_steps must be between 1 and 1000"),
        ({"num_inference_steps": 1001}, "num_inference_steps must be between 1 and 1000"),
        ({"num_inference_steps": 2.5}, "whole number"),
        ({"batch_size": 10_000}, "batch_size must be between 1 and"),
        ({"batch_size": 0}, "batch_size must be between 1 and"),
        ({"sampler": "heun"}, "unknown scheduler 'heun'"),
    ],
)
def test_bad_arguments_raise_clear_errors(unet, train_scheduler, kwargs, message):
    arguments = {"sampler": "ddpm", "num_inference_steps": 5, "batch_size": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        sampling.scheduler_sample(unet, train_scheduler, **arguments)


def test_bad_mix_arguments_raise_clear_errors():
    net = BasicUNet()
    with pytest.raises(ValueError, match="n_steps must be between 1"):
        sampling.mix_sample(net, 0)
    with pytest.raises(ValueError, match="batch_size must be between 1"):
        sampling.mix_sample(net, 5, 10_000)
    with pytest.raises(ValueError, match="multiple of 4"):
        sampling.mix_sample(net, 5, 2, image_size=30)


def test_scheduler_is_built_fresh_and_the_input_untouched(train_scheduler):
    before = dict(train_scheduler.config)
    for name in sampling.SAMPLERS:
        fresh = sampling.make_sampler_scheduler(train_scheduler, name)
        assert fresh is not train_scheduler
        assert fresh.config.beta_schedule == "squaredcos_cap_v2"
        fresh.set_timesteps(10)
    assert dict(train_scheduler.config) == before and train_scheduler.num_inference_steps is None
    assert sampling.make_sampler_scheduler(train_scheduler, "dpm++").config.algorithm_type == "dpmsolver++"
