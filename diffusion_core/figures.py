"""Pictures built from core tensors and records: PIL image grids and plotly charts.

Handlers in the UI call these so they stay a few lines long. Images are drawn as they are
(0 = black, 1 = white, so MNIST digits are white on black) and enlarged with
nearest-neighbour, so every pixel of a 28x28 digit stays a crisp square, even on a projector.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import torch
from PIL import Image

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2")  # colour-blind-friendly enough

# A small plotly template, the default for every figure of the app. plotly's own default
# template is large and is deep-copied into every new figure: ~9 ms per figure here, which is
# most of a slider update's budget. This one looks like "plotly_white" and costs well under 1 ms.
pio.templates["explorer"] = go.layout.Template(
    layout={
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"family": "Noto Sans SC, PingFang SC, Microsoft YaHei, sans-serif", "size": 13},
        "xaxis": {"gridcolor": "#e5e7eb", "zerolinecolor": "#d1d5db", "linecolor": "#9ca3af"},
        "yaxis": {"gridcolor": "#e5e7eb", "zerolinecolor": "#d1d5db", "linecolor": "#9ca3af"},
        "colorway": list(PALETTE),
        "hovermode": "closest",
    }
)
pio.templates.default = "explorer"


GRID_PADDING = 2  # pixels of grey between the images of a grid


def to_image(
    x: torch.Tensor,
    value_range: tuple[float, float] = (0.0, 1.0),
    nrow: int = 8,
    scale: int = 4,
    padding: int = GRID_PADDING,
    clip: bool = True,
) -> Image.Image:
    """Render a batch as one image grid with torchvision's ``make_grid``.

    Args:
        x (`torch.Tensor`, (B, C, H, W) or (C, H, W)): images, C = 1 or 3.
        value_range: the values shown as black and white, e.g. (-1, 1) for DDPM tensors.
        nrow: images per row of the grid.
        scale: each pixel becomes ``scale x scale`` pixels (nearest neighbour), 1..32.
        padding: pixels between images (before scaling).
        clip: clip to ``value_range`` (True), or stretch the batch's own min..max to black..white
            (False, the tutorial's unclipped view of x_t).

    Returns:
        A PIL image, mode "L" for one channel and "RGB" for three.
    """
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (B, 1 or 3, H, W), got {tuple(x.shape)}")
    x = x.detach().float().cpu()
    low, high = value_range
    if not clip:
        low, high = float(x.min()), float(x.max())
        if high - low < 1e-8:
            high = low + 1.0
    unit = ((x - low) / (high - low)).clamp(0, 1)
    # torchvision is imported when first used: it imports torch._dynamo (ARCHITECTURE.md, "Start-up")
    from torchvision.utils import make_grid

    grid = make_grid(unit, nrow=max(1, int(nrow)), padding=padding, pad_value=0.5) if len(unit) > 1 else unit[0]
    # numpy for the last step: tiny torch element-wise ops pay thread start-up costs that dominate here
    array = (grid.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    image = Image.fromarray(array[..., 0] if x.shape[1] == 1 else array, mode="L" if x.shape[1] == 1 else "RGB")
    scale = int(min(max(scale, 1), 32))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    return image


def fit_scale(height: int, width: int, target: int = 448) -> int:
    """An integer enlargement that brings the longer side near ``target`` pixels (1..32)."""
    return int(min(32, max(1, round(target / max(height, width, 1)))))


def style_figure(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 340) -> go.Figure:
    """Give a plotly figure the app's look: title, axis titles, compact margins, legend on top."""
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"},
        xaxis_title=x_title,
        yaxis_title=y_title,
        height=height,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
    )
    return fig


def log_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Ticks for a logarithmic axis spanning ``low..high`` (> 0): 1, 2, 5 per decade, written out in full.

    plotly's own ticks on a log axis shorter than a decade are bare digits ("2 3 … 9") with no decade
    label to read them by; these always name the value ("20", "50", "100", "0.05").

    Returns:
        ``(tickvals, ticktext)``, at least two ticks, from just below ``low`` to just above ``high``.
    """
    if not (low > 0 and high > 0 and math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"log ticks need positive finite bounds, got {low} and {high}")
    low, high = min(low, high), max(low, high)
    values: list[float] = []
    for decade in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        values += [m * 10.0**decade for m in (1, 2, 5)]
    below = [v for v in values if v <= low]
    above = [v for v in values if v >= high]
    chosen = [v for v in values if (below[-1] if below else low) <= v <= (above[0] if above else high)]
    return chosen, [f"{v:.10g}" for v in chosen]


def histogram_figure(
    series: Sequence[tuple[str, torch.Tensor]],
    title: str,
    x_title: str,
    y_title: str,
    value_range: tuple[float, float] = (0.0, 1.0),
    bins: int = 50,
    spike_factor: float = 3.0,
) -> go.Figure:
    """Overlaid histograms of pixel values, binned here (the browser gets 50 bars, not 100k points).

    A lone spike (MNIST's black background: ~80% of the pixels in the bin at 0) would flatten every
    other bar to nothing, so the y axis stops above the tallest ordinary bar and a spike that
    reaches past it is labelled with its value at the top.

    Args:
        series: ``(name, values)`` pairs; values of any shape are flattened.
        value_range: the x range binned; values outside it are counted in the edge bins.
        bins: the number of bins.
        spike_factor: a series' tallest bar is a spike when it is more than this many times its
            second tallest; ``inf`` keeps plotly's automatic range.
    """
    edges = np.linspace(value_range[0], value_range[1], bins + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    spikes: list[tuple[float, float, str]] = []  # (x, fraction, colour) of each series' spike
    ordinary = 0.0  # the tallest bar that is not a spike
    for index, (name, values) in enumerate(series):
        data = values.detach().float().cpu().flatten().numpy()
        counts, _ = np.histogram(np.clip(data, value_range[0], value_range[1]), bins=edges)
        fractions = counts / max(len(data), 1)
        colour = PALETTE[index % len(PALETTE)]
        fig.add_bar(x=centers, y=fractions, name=name, marker_color=colour, opacity=0.6, width=(edges[1] - edges[0]))
        tallest, second = np.sort(fractions)[-2:][::-1] if len(fractions) > 1 else (fractions.max(), 0.0)
        if tallest > spike_factor * second:
            spikes.append((float(centers[fractions.argmax()]), float(tallest), colour))
            ordinary = max(ordinary, float(second))
        else:
            ordinary = max(ordinary, float(tallest))
    fig.update_layout(barmode="overlay", bargap=0)
    top = 1.25 * ordinary
    clipped = [spike for spike in spikes if spike[1] > top > 0]
    if clipped:
        fig.update_yaxes(range=[0, top])
        for x, fraction, colour in clipped:
            fig.add_annotation(x=x, y=top, yanchor="top", text=f"↑ {fraction:.2f}", showarrow=False,
                               font={"color": colour, "size": 13}, bgcolor="rgba(255,255,255,0.8)")  # fmt: skip
    return style_figure(fig, title, x_title, y_title, height=300)
