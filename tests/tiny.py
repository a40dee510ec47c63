"""Tiny models and configs for fast tests on 2 CPU cores (test-only: nothing in the app uses them)."""

from __future__ import annotations

from diffusion_core.training import TrainConfig

# A tiny UNet2DModel with the tutorial's block types: 8x8 images by default (evaluation tests use 28x28).
TINY_UNET = {
    "sample_size": 8,
    "block_out_channels": (8, 16, 16),
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "attention_head_dim": 8,
}
TINY_CONFIG_BASIC = TrainConfig(model="basic", steps=6, epochs=None, batch_size=16, seed=0)
TINY_CONFIG_DDPM = TrainConfig(model="ddpm", steps=4, epochs=None, batch_size=8, seed=0)
