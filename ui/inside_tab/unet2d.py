"""UNet2DModel's anatomy (API ``/unet2d_anatomy``) and its code panel: diffusers' model block by block.

The knobs (block_out_channels, layers_per_block, attention) and the walk's input shape (B, C, H, W)
give a table of blocks with output shapes and parameters, the timestep-embedding path, a comparison
with BasicUNet, and the Python that builds the same model. All numbers come from the model the
knobs build (traced on the meta device by ``diffusion_core.tracing.unet2d_anatomy``).
"""

from __future__ import annotations

import functools
from typing import Any

import gradio as gr
import pandas as pd

from diffusion_core import tracing
from diffusion_core.models import count_parameters
from diffusion_core.tracing import Anatomy, format_shape
from ui.common import markdown
from ui.components import slider
from ui.errors import as_choice, as_int
from ui.i18n import Localizer, normalize_language, pick
from ui.inside_tab.basic_unet import as_input_shape, walk_model
from ui.inside_tab.text import TEXT
from ui.inside_tab.wording import invalid, torch_message

BLOCK_PRESETS = ("32,64,64", "32,32,64", "32,64,128", "64,128,128", "32,64", "32,64,64,128")
ANATOMY_COLUMNS = ("a_block", "a_type", "a_out", "a_attn", "a_resnets", "a_skips", "a_params")
BLOCKS_DROPDOWN = functools.partial(gr.Dropdown, list(BLOCK_PRESETS))  # presets are code: not translated

UNET2D_CODE = """from diffusers import UNet2DModel

# The diffusers model of the tutorial's DDPM part, with the knobs above
model = UNet2DModel(sample_size={height}, in_channels={channels}, out_channels={channels}, layers_per_block={layers},
                    block_out_channels={blocks}, down_block_types={down}, up_block_types={up}, add_attention={attention})
print(sum(p.numel() for p in model.parameters()))  # {params}
for name, block in [("down", b) for b in model.down_blocks] + [("mid", model.mid_block)] + [("up", b) for b in model.up_blocks]:
    print(name, type(block).__name__, sum(p.numel() for p in block.parameters()))
"""


def as_knobs(blocks: Any, layers: Any, attention: Any) -> tuple[tuple[int, ...], int, bool]:
    """Check the knobs: (block_out_channels from a preset, layers_per_block in 1..3, attention on/off).

    Raises:
        ValueError: naming the first knob out of range.
    """
    blocks = as_choice(blocks, "block_out_channels", BLOCK_PRESETS)
    layers = as_int(layers, "layers_per_block", 1, 3)
    if not isinstance(attention, bool):
        raise ValueError(invalid("attention", value=attention))
    return tuple(int(v) for v in blocks.split(",")), layers, attention


def _anatomy(blocks: Any, layers: Any, attention: Any, batch: Any, channels: Any, height: Any, width: Any) -> Anatomy:
    """The checked knobs and input shape, traced (cached in the core)."""
    block_channels, layers, attention = as_knobs(blocks, layers, attention)
    shape = as_input_shape(batch, channels, height, width)
    return tracing.unet2d_anatomy(block_channels, layers, attention, shape)


def block_table(anatomy: Anatomy, lang: str) -> pd.DataFrame:
    """One row per block (output shape, attention, ResNet layers, skips, parameters), then the total."""
    rows = []
    failed = anatomy.failure.layer if anatomy.failure else None
    for block in anatomy.blocks:
        skips = ""
        if block.role == "down" or block.name == "conv_in":
            skips = pick(TEXT, "skips_store", lang).format(n=block.skips if block.role == "down" else 1)
        elif block.role == "up":
            skips = pick(TEXT, "skips_use", lang).format(n=block.skips) if block.reached else "—"
        rows.append(
            [
                block.name,
                block.block_type,
                format_shape(block.out_shape) if block.reached else ("✗" if block.name == failed else "—"),
                "✓" if block.attention else "",
                block.resnets or "",
                skips,
                f"{block.parameters:,}",
            ]
        )
    rows.append([pick(TEXT, "total", lang), "", "", "", "", "", f"{sum(b.parameters for b in anatomy.blocks):,}"])
    return pd.DataFrame(rows, columns=[pick(TEXT, key, lang) for key in ANATOMY_COLUMNS])


def time_path_text(anatomy: Anatomy, lang: str) -> str:
    """Markdown: the timestep embedding's path into every ResNet layer, the total, and whether the input passes."""
    by_name = {b.name: b for b in anatomy.blocks}
    resnets = {role: sum(b.resnets for b in anatomy.blocks if b.role == role) for role in ("down", "mid", "up")}
    if anatomy.failure is None:
        status = pick(TEXT, "anatomy_ok", lang).format(out=format_shape(anatomy.output_shape))
    else:
        message = torch_message(anatomy.failure.message, lang)
        status = pick(TEXT, "anatomy_failed", lang).format(layer=anatomy.failure.layer, message=message)
    time_proj, time_embedding = by_name.get("time_proj"), by_name.get("time_embedding")
    return pick(TEXT, "time_path", lang).format(
        t_shape=f"({anatomy.input_shape[0]},)",
        p_shape=format_shape(time_proj.out_shape) if time_proj else "",
        e_shape=format_shape(time_embedding.out_shape) if time_embedding else "",
        e_params=time_embedding.parameters if time_embedding else 0,
        down=resnets["down"],
        mid=resnets["mid"],
        up=resnets["up"],
        total=sum(resnets.values()),
        params=anatomy.total_parameters,
        status=status,
    )


def unet2d_anatomy(
    blocks: Any, layers: Any, attention: Any, batch: Any, channels: Any, height: Any, width: Any, lang: Any
) -> tuple:
    """Handler of the ``unet2d_anatomy`` API: UNet2DModel block by block for the walk's input (B, C, H, W).

    Returns:
        (block table, time-path and total markdown, comparison with BasicUNet markdown).
    """
    lang = normalize_language(lang)
    anatomy = _anatomy(blocks, layers, attention, batch, channels, height, width)
    config = anatomy.config
    compare = pick(TEXT, "compare", lang).format(
        basic=count_parameters(walk_model(config["in_channels"])),
        unet=anatomy.total_parameters,
        layers=config["layers_per_block"],
        attn=pick(TEXT, "attn_on" if config["add_attention"] else "attn_off", lang),
        skips=sum(b.skips for b in anatomy.blocks if b.role == "up"),
    )
    return block_table(anatomy, lang), time_path_text(anatomy, lang), compare


def unet2d_code(blocks: Any, layers: Any, attention: Any, batch: Any, channels: Any, height: Any, width: Any) -> str:
    """The code panel: Python that builds the UNet2DModel the knobs give and prints its parameter count."""
    anatomy = _anatomy(blocks, layers, attention, batch, channels, height, width)
    config = anatomy.config
    return UNET2D_CODE.format(
        height=config["sample_size"],
        channels=config["in_channels"],
        layers=config["layers_per_block"],
        blocks=config["block_out_channels"],
        down=config["down_block_types"],
        up=config["up_block_types"],
        attention=config["add_attention"],
        params=f"{anatomy.total_parameters} with these settings",
    )


def build_section(loc: Localizer) -> tuple[tuple, tuple]:
    """The anatomy's lesson, knobs and outputs (empty until ``unet2d_anatomy`` draws them).

    Returns:
        ((blocks, layers, attention), (anatomy_table, time_path, compare)).
    """
    loc.text(gr.Markdown, TEXT, "anatomy_title")
    loc.text(markdown, TEXT, "anatomy_lesson", elem_classes="lesson")
    with gr.Row():
        blocks = loc.widget(BLOCKS_DROPDOWN, TEXT, "blocks", value=BLOCK_PRESETS[0], elem_id="inside-blocks")
        layers = loc.widget(
            slider, TEXT, "layers", minimum=1, maximum=3, value=2, step=1, name="layers_per_block",
            elem_id="inside-layers",
        )  # fmt: skip
        attention = loc.widget(gr.Checkbox, TEXT, "attention", value=True, elem_id="inside-attention")
    anatomy_table = gr.Dataframe(interactive=False, elem_id="inside-anatomy", show_label=False)
    time_path = markdown("", elem_id="inside-time-path")
    compare = markdown("", elem_id="inside-compare")
    return (blocks, layers, attention), (anatomy_table, time_path, compare)
