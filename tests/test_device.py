"""Device choice and the ZeroGPU decorator."""

import pytest
import torch

from diffusion_core.device import gpu_task, on_zero_gpu, pick_device


def test_pick_device_prefers_cuda_then_cpu():
    expected = "cuda" if torch.cuda.is_available() else None
    device = pick_device()
    if expected:
        assert device.type == expected
    assert pick_device("cpu").type == "cpu"


def test_unknown_or_missing_devices_are_refused():
    with pytest.raises(ValueError, match="unknown device"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            pick_device("cuda")


def test_gpu_task_is_the_identity_off_zero_gpu(monkeypatch):
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    assert not on_zero_gpu()

    @gpu_task(duration=30)
    def double(x):
        """Doubles."""
        return 2 * x

    assert double(21) == 42 and double.__doc__ == "Doubles."
