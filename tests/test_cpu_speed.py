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
def test_bf16_only_where_the_cpu_has_native_bfloat16(cpuinfo, expected):
    flags = cpu_speed.parse_cpu_flags(cpuinfo)
    assert cpu_speed.forward_precision("cpu", flags=flags, override="") == expected
    assert cpu_speed.forward_precision("cuda", flags=flags, override="") == "fp32"  # the GPU has its own path


def test_the_override_forces_a_choice_and_names_a_bad_one(monkeypatch):
    avx2 = cpu_speed.parse_cpu_flags(CPUINFO_AVX2)
    assert cpu_speed.forward_precision("cpu", flags=avx2, override="bf16") == "bf16"
    monkeypatch.setenv(cpu_speed.ENV_OVERRIDE, "fp32")
    assert cpu_speed.forward_precision("cpu", flags=cpu_speed.parse_cpu_flags(CPUINFO_SAPPHIRE_RAPIDS)) == "fp32"
    monkeypatch.setenv(cpu_speed.ENV_OVERRIDE, "fp16")
    with pytest.raises(ValueError, match="DIFFUSION_EXPLORER_CPU_PRECISION must be 'fp32' or 'bf16', got 'fp16'"):
        cpu_speed.forward_precision("cpu", flags=avx2)


def test_this_machine_is_detected_from_its_own_flags():
    flags = cpu_speed.cpu_flags()
    expected = "bf16" if flags & {"avx512_bf16", "amx_bf16"} else "fp32"
    assert cpu_speed.forward_precision("cpu", override="") == expected


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
