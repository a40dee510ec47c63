"""Pictures of sampling runs, built from ``SampleStep`` records.

* ``mix_figure``: the tutorial's two-column figure of the mix sampler, one row per step, the left
  column "x (model input)", the right "model prediction" (the seed draws it with matplotlib's
  ``subplots(n_steps, 2)``; here it is one PIL image, each cell a ``make_grid`` of the batch).
* ``step_images``: x_t, predicted x0 and predicted noise of one DDPM-family step, side by side.
* ``alpha_bar_figure``: the alpha_bar_t curve with a cursor at the current t.
* ``write_gif``: an animation of a trajectory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image, ImageDraw, ImageFont

from diffusion_core.figures import PALETTE, style_figure, to_image

MIX_RANGE = (0.0, 1.0)  # BasicUNet works in [0, 1]
X_RANGE = (-1.0, 1.0)  # DDPM images in [-1, 1], shown clipped like the tutorial's show_images
NOISE_RANGE = (-3.0, 3.0)  # predicted noise ~ N(0, 1): +-3 standard deviations


def grid_columns(batch: int) -> int:
    """Images per grid row: the tutorial's 8, or fewer for a small batch."""
    return min(8, max(1, batch))


def mix_figure(
    x_rows: Sequence[torch.Tensor], pred_rows: Sequence[torch.Tensor], scale: int = 2, label_width: int = 52
) -> Image.Image:
    """The tutorial's two-column figure: row i shows step i's input x and the model's prediction.

    Args:
        x_rows: per step, the model input (B, C, H, W) in [0, 1].
        pred_rows: per step, the model prediction (B, C, H, W), clipped to [0, 1] for display.
        scale: nearest-neighbour enlargement of every pixel.
        label_width: pixels on the left for the step numbers (drawn at half a row's height, so they stay
            readable when the browser shrinks the figure to its column).

    Returns:
        An RGB image, one row per step.
    """
    if not x_rows or len(x_rows) != len(pred_rows):
        raise ValueError("need one prediction per input row, and at least one row")
    nrow = grid_columns(x_rows[0].shape[0])
    cells = [
        (to_image(x, MIX_RANGE, nrow=nrow, scale=scale), to_image(p, MIX_RANGE, nrow=nrow, scale=scale))
        for x, p in zip(x_rows, pred_rows, strict=True)
    ]
    cell_w, cell_h = cells[0][0].size
    gap = 12
    figure = Image.new("RGB", (label_width + 2 * cell_w + gap, len(cells) * (cell_h + gap)), "white")
    draw = ImageDraw.Draw(figure)
    font = ImageFont.load_default(size=max(12, int(cell_h * 0.5)))
    for i, (left, right) in enumerate(cells):
        top = i * (cell_h + gap) + gap // 2
        draw.text((label_width - 8, top + cell_h // 2), str(i + 1), fill="#111827", font=font, anchor="rm")
        figure.paste(left.convert("RGB"), (label_width, top))
        figure.paste(right.convert("RGB"), (label_width + cell_w + gap, top))
    return figure


def step_images(
    x_t: torch.Tensor, pred_x0: torch.Tensor, noise_pred: torch.Tensor, scale: int = 3, nrow: int | None = None
) -> tuple[Image.Image, Image.Image, Image.Image]:
    """x_t (clipped to [-1, 1]), predicted x0 (clipped to [-1, 1]) and predicted noise (+-3) as grids."""
    nrow = nrow or grid_columns(x_t.shape[0])
    return (
        to_image(x_t, X_RANGE, nrow=nrow, scale=scale),
        to_image(pred_x0, X_RANGE, nrow=nrow, scale=scale),
        to_image(noise_pred, NOISE_RANGE, nrow=nrow, scale=scale),
    )


def alpha_bar_figure(alpha_bar: Sequence[float] | np.ndarray, t: float, labels: dict[str, str]) -> go.Figure:
    """alpha_bar_t over the training timesteps, with a cursor and a marker at the current t.

    Args:
        alpha_bar: alpha_bar_t for t = 0 .. T-1.
        t: the current timestep (may be fractional, e.g. for Euler).
        labels: texts for ``title``, ``x``, ``y``, ``curve`` and ``current``.
    """
    alpha_bar = np.asarray(alpha_bar, dtype=np.float64)
    steps = np.arange(len(alpha_bar))
    value = float(np.interp(t, steps, alpha_bar))
    fig = go.Figure()
    fig.add_scatter(x=steps, y=alpha_bar, mode="lines", line={"color": PALETTE[0], "width": 3}, name=labels["curve"])
    fig.add_scatter(
        x=[t],
        y=[value],
        mode="markers+text",
        marker={"size": 12, "color": PALETTE[1], "line": {"width": 2, "color": "white"}},
        text=[f"t = {t:g}, ᾱ = {value:.3f}"],
        # below the marker near the top of the chart, where text above would be clipped
        textposition=("bottom " if value > 0.6 else "top ") + ("right" if t < len(alpha_bar) / 2 else "left"),
        textfont={"size": 14},
        name=labels["current"],
    )
    fig.add_vline(x=t, line={"color": "#111827", "width": 1, "dash": "dash"})
    fig.update_yaxes(range=[-0.03, 1.08])
    fig.update_xaxes(range=[0, len(alpha_bar) - 1])
    return style_figure(fig, labels["title"], labels["x"], labels["y"], height=300)


def write_gif(frames: Sequence[Image.Image], path: str | Path, frame_ms: int = 120, hold_last_ms: int = 1500) -> Path:
    """Write frames as a looping GIF; the last frame is held longer. Returns the path."""
    if not frames:
        raise ValueError("no frames to animate")
    path = Path(path)
    images = [frame.convert("P", palette=Image.Palette.ADAPTIVE) if frame.mode == "RGB" else frame for frame in frames]
    durations = [frame_ms] * (len(images) - 1) + [hold_last_ms]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=False)
    return path
