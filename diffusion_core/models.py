"""The two networks of the tutorial and their parameter counts.

* ``BasicUNet``: the tutorial's minimal UNet, layer for layer (309,057 parameters for 1 -> 1 channels).
  It predicts the clean image x_0 from a corrupted one and has no timestep input.
* ``build_unet2d``: diffusers' ``UNet2DModel`` with the tutorial's configuration (1,707,009
  parameters): GroupNorm, ResNet blocks (their dropout is 0 in this config, diffusers' default),
  attention in the low-resolution blocks, timestep conditioning, learned down/up sampling.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:  # diffusers is imported when first used (ARCHITECTURE.md, "Start-up")
    from diffusers import UNet2DModel

# ``from_pretrained`` patches torch process-wide while it builds a model (``torch.nn.init`` skipped and, with
# accelerate, new parameters created on the meta device): a model built in another thread meanwhile gets
# meta or uninitialised weights. Every load (``checkpoints``, ``hub_models``) and every fresh model built for a
# request takes this lock, so they take turns. Re-entrant: a load may build a model.
BUILD_LOCK = threading.RLock()

BASIC_UNET_PARAMETERS = 309_057  # the tutorial's figure for BasicUNet(1, 1)
UNET2D_PARAMETERS = 1_707_009  # the tutorial's figure for its UNet2DModel config

UNET2D_SEED_CONFIG: dict = {
    "sample_size": 28,  # the target image resolution
    "in_channels": 1,  # the number of input channels, 3 for RGB images
    "out_channels": 1,  # the number of output channels
    "layers_per_block": 2,  # how many ResNet layers to use per UNet block
    "block_out_channels": (32, 64, 64),  # roughly matching the basic UNet
    "down_block_types": ("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
    "up_block_types": ("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
}


class BasicUNet(nn.Module):
    """A minimal UNet (the tutorial's, without its debug prints).

    Down path: three 5x5 convolutions (in -> 32 -> 64 -> 64) with SiLU; the outputs of the first
    two are stored for skip connections and max-pooled by 2. Up path: three 5x5 convolutions
    (64 -> 64 -> 32 -> out); before the second and third, the map is upsampled by 2 and the
    stored skip is added, last stored first (``list.pop()`` takes the last element).

    Input and output: (B, in_channels, H, W) -> (B, out_channels, H, W), with H and W divisible by 4.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1):
        super().__init__()
        self.down_layers = torch.nn.ModuleList(
            [
                nn.Conv2d(in_channels, 32, kernel_size=5, padding=2),
                nn.Conv2d(32, 64, kernel_size=5, padding=2),
                nn.Conv2d(64, 64, kernel_size=5, padding=2),
            ]
        )
        self.up_layers = torch.nn.ModuleList(
            [
                nn.Conv2d(64, 64, kernel_size=5, padding=2),
                nn.Conv2d(64, 32, kernel_size=5, padding=2),
                nn.Conv2d(32, out_channels, kernel_size=5, padding=2),
            ]
        )
        self.act = nn.SiLU()  # the activation function
        self.downscale = nn.MaxPool2d(2)
        self.upscale = nn.Upsample(scale_factor=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = []
        for i, layer in enumerate(self.down_layers):
            x = self.act(layer(x))  # through the layer and the activation function
            if i < 2:  # for all but the third (final) down layer:
                h.append(x)  # store the output for a skip connection
                x = self.downscale(x)  # downscale ready for the next layer
        for i, layer in enumerate(self.up_layers):
            if i > 0:  # for all except the first up layer
                x = self.upscale(x)  # upscale
                x = x + h.pop()  # fetch the last stored output (skip connection)
            x = self.act(layer(x))  # through the layer and the activation function
        return x


def build_unet2d(**overrides) -> UNet2DModel:
    """Build diffusers' ``UNet2DModel`` with the tutorial's config, optionally changed.

    Args:
        **overrides: ``UNet2DModel`` arguments replacing the tutorial's (e.g. ``block_out_channels``).

    Returns:
        A freshly initialised model mapping ((B, 1, 28, 28), t) -> (B, 1, 28, 28) with the tutorial's config.
    """
    from diffusers import UNet2DModel

    with BUILD_LOCK:
        return UNet2DModel(**{**UNET2D_SEED_CONFIG, **overrides})


def unet2d_image_shape(unet: UNet2DModel) -> tuple[int, int, int]:
    """(C, H, W) of the images a ``UNet2DModel`` takes, from its config (``sample_size`` an int or (H, W))."""
    size = unet.config.sample_size
    height, width = (size, size) if isinstance(size, int) else tuple(size)
    return int(unet.config.in_channels), int(height), int(width)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Count a module's parameters: ``sum(p.numel() for p in module.parameters())``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
