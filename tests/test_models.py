"""The two networks: the tutorial's parameter counts and shapes."""

import torch

from diffusion_core.models import (
    BASIC_UNET_PARAMETERS,
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
