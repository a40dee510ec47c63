"""The two networks: the tutorial's parameter counts and shapes."""

import threading

import pytest
import torch

from diffusion_core.models import (
    BASIC_UNET_PARAMETERS,
    BUILD_LOCK,
    UNET2D_PARAMETERS,
    BasicUNet,
    build_unet2d,
    count_parameters,
)


def test_basic_unet_has_the_seeds_309057_parameters():
    net = BasicUNet()
    assert count_parameters(net) == BASIC_UNET_PARAMETERS == 309_057
    assert count_parameters(net) == sum(p.numel() for p in net.parameters())


def test_basic_unet_keeps_the_input_shape():
    net = BasicUNet()
    with torch.no_grad():
        assert net(torch.rand(8, 1, 28, 28)).shape == (8, 1, 28, 28)
    rgb = BasicUNet(in_channels=3, out_channels=3)
    with torch.no_grad():
        assert rgb(torch.rand(2, 3, 32, 32)).shape == (2, 3, 32, 32)


def test_basic_unet_layers_are_the_seeds():
    net = BasicUNet()
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in net.down_layers] == [
        (1, 32, (5, 5)),
        (32, 64, (5, 5)),
        (64, 64, (5, 5)),
    ]
    assert [(c.in_channels, c.out_channels) for c in net.up_layers] == [(64, 64), (64, 32), (32, 1)]
    assert isinstance(net.act, torch.nn.SiLU) and isinstance(net.downscale, torch.nn.MaxPool2d)


def test_unet2d_has_the_seeds_1707009_parameters():
    model = build_unet2d()
    assert count_parameters(model) == UNET2D_PARAMETERS == 1_707_009
    with torch.no_grad():
        out = model(torch.randn(2, 1, 28, 28), torch.tensor([10, 500])).sample
    assert out.shape == (2, 1, 28, 28)


def test_unet2d_overrides():
    small = build_unet2d(block_out_channels=(16, 32, 32), norm_num_groups=8)
    assert count_parameters(small) < UNET2D_PARAMETERS


@pytest.mark.parametrize("kind", ["basic", "ddpm"])
def test_a_fresh_model_waits_for_a_load_in_progress(kind):
    """``from_pretrained`` patches torch for every thread while it runs (a model built meanwhile got meta
    weights), so loads hold ``BUILD_LOCK`` and a fresh model for a request waits for it."""
    from diffusion_core.training import build_model

    built: list = []
    with BUILD_LOCK:  # as a load in another thread would
        worker = threading.Thread(target=lambda: built.append(build_model(kind, seed=0)))
        worker.start()
        worker.join(0.5)
        assert worker.is_alive() and not built  # it waits
    worker.join(60)
    assert built and not any(p.is_meta for p in built[0].parameters())
