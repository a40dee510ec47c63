"""The UNet forward on ONNX Runtime (``diffusion_core.onnx_unet``): the same noise predictions and samples as
PyTorch, a new export when the weights change, and clear errors. Its speed is a benchmark (``bench --only
sampling``), not a test."""

from __future__ import annotations

import pytest
import torch

from diffusion_core import cpu_speed, onnx_unet, sampling
from diffusion_core.models import build_unet2d
from tests.tiny import TINY_UNET

pytestmark = pytest.mark.skipif(not onnx_unet.available(), reason="onnx and onnxruntime are not installed")


@pytest.fixture(scope="module")
def tiny_unet():
    torch.manual_seed(0)
    return build_unet2d(**{**TINY_UNET, "sample_size": 12}).eval()


@pytest.fixture(scope="module")
def bundled():
    return sampling.bundled_ddpm("cpu")


@pytest.mark.parametrize("batch", [1, 5, 2 * onnx_unet.PART_IMAGES + 3])  # the last: 3 parts or more, uneven
@pytest.mark.parametrize("t", [torch.tensor(999), torch.tensor(7.25), 500])
def test_the_forward_matches_pytorch_for_any_batch_and_timestep(tiny_unet, batch, t):
    x = torch.randn(batch, 1, 12, 12, generator=torch.Generator().manual_seed(batch))
    with torch.no_grad():
        expected = tiny_unet(x, t).sample
    got = onnx_unet.onnx_forward(tiny_unet)(x, t)
    assert got.shape == expected.shape == (batch, 1, 12, 12)
    assert got.dtype == torch.float32
    assert (got - expected).abs().max() < onnx_unet.ONNX_ATOL


def test_the_bundled_models_samples_match_pytorch_with_every_sampler(bundled):
    def sample(sampler: str, runtime: str) -> torch.Tensor:
        generator = torch.Generator().manual_seed(3)
        steps = sampling.scheduler_sample(bundled.unet, bundled.scheduler, sampler, 8, 3, generator=generator,
                                          runtime=runtime)  # fmt: skip
        return sampling.final_sample(steps)

    for sampler in sampling.SAMPLERS:
        runs = [sample(sampler, runtime) for runtime in onnx_unet.RUNTIMES]
        # float rounding through 8 steps: far below one grey level of the shown image (1/255 of [-1, 1] is 0.008)
        assert (runs[0] - runs[1]).abs().max() < 1e-3, sampler


def test_a_changed_model_is_exported_again(tiny_unet):
    model = build_unet2d(**{**TINY_UNET, "sample_size": 12}).eval()
    model.load_state_dict(tiny_unet.state_dict())
    first = onnx_unet.onnx_forward(model)
    assert onnx_unet.onnx_forward(model) is first  # kept while the weights stay
    with torch.no_grad():
        next(model.parameters()).add_(0.5)  # an in-place change, as an optimizer step makes
    again = onnx_unet.onnx_forward(model)
    assert again is not first
    x = torch.randn(2, 1, 12, 12)
    with torch.no_grad():
        expected = model(x, 10).sample
    assert (again(x, 10) - expected).abs().max() < onnx_unet.ONNX_ATOL
    assert (first(x, 10) - expected).abs().max() > onnx_unet.ONNX_ATOL  # the old export no longer fits


def test_bad_runtime_arguments_are_named(bundled):
    unet, scheduler = bundled.unet, bundled.scheduler
    with pytest.raises(ValueError, match="runtime must be one of torch, onnxruntime"):
        sampling.scheduler_sample(unet, scheduler, "ddim", 2, 1, runtime="tensorrt")
    with pytest.raises(ValueError, match="no fast=True, no bf16"):
        sampling.scheduler_sample(unet, scheduler, "ddim", 2, 1, runtime="onnxruntime", precision="bf16")
    with pytest.raises(ValueError, match="float32 UNet on the CPU"):
        onnx_unet.OnnxForward(build_unet2d(**TINY_UNET).to(torch.float64))


def test_the_environment_variable_chooses_or_is_refused(monkeypatch):
    monkeypatch.setenv(onnx_unet.RUNTIME_ENV, "torch")
    assert not onnx_unet.available()
    assert cpu_speed.forward_runtime("cpu") == "torch"
    monkeypatch.setenv(onnx_unet.RUNTIME_ENV, "openvino")
    with pytest.raises(ValueError, match="DIFFUSION_EXPLORER_CPU_RUNTIME must be one of torch, onnxruntime"):
        onnx_unet.available()
    monkeypatch.setenv(onnx_unet.RUNTIME_ENV, "onnxruntime")
    assert cpu_speed.forward_runtime("cpu") == "onnxruntime"
    assert cpu_speed.forward_runtime("cpu", "bf16") == "torch"  # autocast stays on PyTorch
    assert cpu_speed.forward_runtime("cuda") == "torch"  # the GPU has its own fast path


def test_section_b_runs_the_bundled_model_on_onnx_runtime_and_a_learners_own_on_pytorch(bundled, monkeypatch):
    from ui.sampling_tab.scheduler_loop import _forward_choice

    monkeypatch.delenv(onnx_unet.RUNTIME_ENV, raising=False)
    monkeypatch.setenv(cpu_speed.ENV_OVERRIDE, "fp32")
    assert _forward_choice(bundled.unet, "dpm++", bundled=True) == {
        "fast": False, "precision": "fp32", "runtime": "onnxruntime"
    }  # fmt: skip
    assert _forward_choice(bundled.unet, "dpm++", bundled=False)["runtime"] == "torch"


def test_opening_the_sampling_tab_prepares_the_bundled_models_forward(bundled, monkeypatch):
    from diffusion_core import estimates
    from ui.sampling_tab.scheduler_loop import DEFAULT_BATCH, prepare_forward

    monkeypatch.delenv(onnx_unet.RUNTIME_ENV, raising=False)
    monkeypatch.setenv(cpu_speed.ENV_OVERRIDE, "fp32")
    onnx_unet._forwards.pop(bundled.unet, None)  # as on a server where nobody has sampled yet
    estimates.clear_cache()
    prepare_forward()  # the Sampling tab's first opening calls it
    assert onnx_unet._forwards.get(bundled.unet) is not None  # section B's first run finds it exported
    measured = []
    monkeypatch.setattr(estimates, "seconds_per_call", lambda *args, **kwargs: measured.append(args) or 1.0)
    seconds = estimates.forward_seconds(bundled.unet, DEFAULT_BATCH, runtime="onnxruntime")
    assert not measured and 0 < seconds < 30  # ... and its default run's estimate, without measuring again
