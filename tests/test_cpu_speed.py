"""Tests of diffusion_core.cpu_speed (which forward pays on this CPU) and of the bf16 sampling path."""

from __future__ import annotations

import pytest
import torch
from diffusers import DDPMScheduler
from tiny import TINY_UNET

from diffusion_core import cpu_speed, sampling
from diffusion_core.checkpoints import DDPM_DIR
from diffusion_core.models import build_unet2d

CPUINFO_AVX2 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu vme sse sse2 avx avx2 fma

processor\t: 1
flags\t\t: fpu vme sse sse2 avx avx2 fma
"""
CPUINFO_SAPPHIRE_RAPIDS = "processor\t: 0\nflags\t\t: avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
CPUINFO_COOPER_LAKE = "processor\t: 0\nflags\t\t: avx2 avx512f avx512_bf16\n"


def test_flags_are_read_from_the_first_processor():
    assert cpu_speed.parse_cpu_flags(CPUINFO_AVX2) == {"fpu", "vme", "sse", "sse2", "avx", "avx2", "fma"}
    assert cpu_speed.parse_cpu_flags("") == frozenset()
    assert cpu_speed.parse_cpu_flags("processor : 0\nmodel name : Apple M2\n") == frozenset()


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [(CPUINFO_AVX2, "fp32"), (CPUINFO_SAPPHIRE_RAPIDS, "bf16"), (CPUINFO_COOPER_LAKE, "bf16"), ("", "fp32")],
)
def test_training_autocasts_basic_unet_to_bf16_only_where_the_cpu_has_native_bfloat16(cpuinfo, expected):
    flags = cpu_speed.parse_cpu_flags(cpuinfo)
    assert cpu_speed.training_precision("cpu", "basic", flags=flags, override="") == expected
    assert cpu_speed.training_precision("cpu", "ddpm", flags=flags, override="") == "fp32"  # bf16 was a wash
    for model in ("basic", "ddpm"):
        assert cpu_speed.training_precision("cuda", model, flags=flags, override="fp32") == "bf16"  # CUDA's path
        assert cpu_speed.training_precision("mps", model, flags=flags, override="") == "fp32"


@pytest.mark.parametrize("cpuinfo", [CPUINFO_AVX2, CPUINFO_SAPPHIRE_RAPIDS, CPUINFO_COOPER_LAKE, ""])
def test_the_sampling_forward_stays_float32_on_every_cpu_unless_asked(cpuinfo, monkeypatch):
    """bf16 autocast made this forward no faster even where bfloat16 is native (measured 0.98x, avx512_bf16)."""
    monkeypatch.delenv(cpu_speed.ENV_OVERRIDE, raising=False)
    assert cpu_speed.forward_precision("cpu") == "fp32"
    assert cpu_speed.forward_precision("cpu", override="bf16") == "bf16"
    assert cpu_speed.forward_precision("cuda", override="bf16") == "fp32"  # the GPU has its own path


def test_the_override_forces_the_cpus_choice_and_names_a_bad_one(monkeypatch):
    avx2 = cpu_speed.parse_cpu_flags(CPUINFO_AVX2)
    sapphire_rapids = cpu_speed.parse_cpu_flags(CPUINFO_SAPPHIRE_RAPIDS)
    assert cpu_speed.training_precision("cpu", "ddpm", flags=avx2, override="bf16") == "bf16"
    monkeypatch.setenv(cpu_speed.ENV_OVERRIDE, "fp32")
    assert cpu_speed.training_precision("cpu", "basic", flags=sapphire_rapids) == "fp32"
    assert cpu_speed.forward_precision("cpu") == "fp32"
    monkeypatch.setenv(cpu_speed.ENV_OVERRIDE, "bf16")
    assert cpu_speed.forward_precision("cpu") == "bf16"
    assert cpu_speed.sampling_forward("cpu") == {"precision": "bf16", "runtime": "torch"}  # autocast: PyTorch
    monkeypatch.setenv(cpu_speed.ENV_OVERRIDE, "fp16")
    for ask in (cpu_speed.forward_precision, lambda device: cpu_speed.training_precision(device, "basic", flags=avx2)):
        with pytest.raises(ValueError, match="DIFFUSION_EXPLORER_CPU_PRECISION must be 'fp32' or 'bf16', got 'fp16'"):
            ask("cpu")


def test_this_machine_is_detected_from_its_own_flags(monkeypatch):
    monkeypatch.delenv(cpu_speed.ENV_OVERRIDE, raising=False)
    expected = "bf16" if cpu_speed.cpu_flags() & {"avx512_bf16", "amx_bf16"} else "fp32"
    assert cpu_speed.training_precision("cpu", "basic") == expected
    assert cpu_speed.training_precision("cpu", "ddpm") == "fp32"
    assert cpu_speed.forward_precision("cpu") == "fp32"


def test_bad_precision_arguments_raise_clear_errors():
    torch.manual_seed(0)
    unet = build_unet2d(**TINY_UNET).eval()
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, got 'fp16'"):
        sampling.scheduler_sample(unet, scheduler, "dpm++", 2, 1, precision="fp16")
    with pytest.raises(ValueError, match="precision='bf16' is the CPU's autocast"):
        sampling.scheduler_sample(unet, scheduler, "ddim", 2, 1, fast=True, precision="bf16")


@pytest.mark.skipif(not (DDPM_DIR / "model_index.json").is_file(), reason="the bundled DDPM checkpoint is not there")
def test_bf16_gives_the_same_digits_as_float32_within_tolerance():
    """The bundled model, DPM-Solver++: the bf16 forward's final images stay within ``BF16_ATOL`` of float32's."""
    pipeline = sampling.bundled_ddpm("cpu")

    def final(precision: str) -> torch.Tensor:
        records = sampling.scheduler_sample(pipeline.unet, pipeline.scheduler, "dpm++", 6, 2,
                                            generator=torch.Generator().manual_seed(0), precision=precision)  # fmt: skip
        return sampling.final_sample(records)

    plain, bf16 = final("fp32"), final("bf16")
    difference = (plain - bf16).abs()
    assert bf16.dtype == torch.float32 and bf16.shape == plain.shape == (2, 1, 28, 28)
    assert 0 < difference.max().item() < sampling.BF16_ATOL, difference.max().item()  # bf16 did run, and stays close
    assert difference.mean().item() < sampling.BF16_ATOL / 10
