"""Pictures of a UNet walk (tutorial: 基础UNet): the "U" diagram with live shapes, and feature-map strips.

``u_diagram`` draws one box per step of a ``diffusion_core.tracing`` walk: x is the order of the
steps, y the resolution level (28×28 at the top, 14×14 below, 7×7 at the bottom), so the down
path, the bottleneck and the up path make a "U". Each box carries its live shape (C×H×W). The
skip connections are drawn as dashed brackets from the map that was stored (``h.append``) to
the step that adds it back (``x + h.pop()``), numbered so that the last-in-first-out order is
visible. A failed step is a red box with both shapes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go
import torch
from PIL import Image

from diffusion_core.figures import fit_scale, to_image
from diffusion_core.tracing import Trace, TraceStep, spatial

KIND_COLOURS = {
    "input": "#9ca3af",
    "conv": "#2563eb",
    "act": "#16a34a",
    "down": "#9333ea",
    "up": "#ea580c",
    "skip": "#0891b2",
    "norm": "#64748b",
    "linear": "#64748b",
    "other": "#64748b",
}
BOX_WIDTH = 1.0  # x units taken by a layer box
DOT_WIDTH = 0.45  # x units taken by an input row (a dot: it changes nothing)
FAILURE_WIDTH = 1.5  # x units of the failed step's box: it holds both shapes ("64×14×14 ≠ 64×15×14")
BOX_HEIGHT = 0.62  # y units of a box (levels are 1 apart)
FONT_SIZE = 13  # px of every text in the diagram: readable on a projector (plotly's default is 12)


def _level(shape: tuple[int, ...], top: int) -> float:
    """Resolution level of a (B, C, H, W) shape: 0 at the input's height, 1 at half, ...

    Rounded to whole halvings, so maps that differ by the rounding of a halving (15×14 stored, 14×14
    upsampled, for a 30-pixel input) share a row instead of drawing two overlapping rows.
    """
    if len(shape) < 3 or shape[2] <= 0 or top <= 0:
        return 0.0
    return float(max(0, round(math.log2(top / shape[2]))))


def _box_text(name: str, shape: tuple[int, ...]) -> str:
    """A box's label: its kind, then C× and H×W on two lines, so it fits a box at ``FONT_SIZE``."""
    if len(shape) == 4:
        return f"<b>{name}</b><br>{shape[1]}×<br>{shape[2]}×{shape[3]}"
    return f"<b>{name}</b><br>{spatial(shape)}"


def u_diagram(
    trace: Trace,
    labels: Sequence[str],
    kind_names: dict[str, str],
    texts: dict[str, str],
    selected: int | None = None,
    failure_label: str = "",
    height: int = 560,
) -> go.Figure:
    """The "U" of a walk: boxes by step order (x) and resolution (y), skips as dashed brackets.

    Args:
        trace: a ``seed_walk`` trace (steps with path/stage, optional failure).
        labels: the table's name of each step (hover text), same order as ``trace.steps``.
        kind_names: short names per step kind for the box's first line, e.g. {"conv": "卷积"}.
        texts: "title", "down", "up", "bottleneck", "skip" (format with order, pop, shape),
            "stack" (format with items), "failed".
        selected: index of the step to highlight (a failure row is ``len(trace.steps)``).
        failure_label: the failing step's name, for its hover text.
        height: figure height in pixels.

    Returns:
        A plotly figure.
    """
    top = trace.input_shape[2] if len(trace.input_shape) > 2 else 1
    positions: list[float] = []
    x = 0.0
    for step in trace.steps:
        width = DOT_WIDTH if step.kind == "input" else BOX_WIDTH
        positions.append(x + width / 2)
        x += width
    failure_x = x + FAILURE_WIDTH / 2

    fig = go.Figure()
    shapes: list[dict] = []
    annotations: list[dict] = []

    # 1. the data path through the centres of the boxes
    path_x = list(positions) + ([failure_x] if trace.failure else [])
    levels = [_level(s.out_shape, top) for s in trace.steps]
    if trace.failure:
        levels.append(_level(trace.failure.shapes[0], top))
    fig.add_trace(
        go.Scatter(
            x=path_x,
            y=[-v for v in levels],
            mode="lines",
            line={"color": "#cbd5e1", "width": 2},
            hoverinfo="skip",
            showlegend=False,
        )
    )

    # 2. one box (or dot, for input rows) per step, labelled with its live shape
    hover = []
    for step, cx, level, label in zip(trace.steps, positions, levels, labels, strict=False):
        colour = KIND_COLOURS.get(step.kind, "#64748b")
        is_selected = selected == step.index
        if step.kind != "input":
            shapes.append(
                {
                    "type": "rect",
                    "x0": cx - 0.45,
                    "x1": cx + 0.45,
                    "y0": -level - BOX_HEIGHT / 2,
                    "y1": -level + BOX_HEIGHT / 2,
                    "line": {"color": "#dc2626" if is_selected else colour, "width": 4 if is_selected else 1.5},
                    "fillcolor": "#fde68a" if is_selected else colour,
                    "opacity": 1.0 if is_selected else 0.22,
                    "layer": "below",
                }
            )
            annotations.append(
                {
                    "x": cx,
                    "y": -level,
                    "text": _box_text(kind_names.get(step.kind, step.kind), step.out_shape),
                    "showarrow": False,
                    "font": {"size": FONT_SIZE, "color": "#111827"},
                }
            )
        hover.append(f"{step.index + 1}. {label}<br>{list(step.out_shape)}")
    fig.add_trace(
        go.Scatter(
            x=positions,
            y=[-v for v in levels[: len(positions)]],
            mode="markers",
            marker={
                # a box is highlighted by its frame; an input row (a dot) by a bigger red dot
                "size": [(16 if s.index == selected else 9) if s.kind == "input" else 1 for s in trace.steps],
                "color": ["#dc2626" if s.index == selected else "#6b7280" for s in trace.steps],
                "symbol": "circle",
            },
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )

    # 3. the failed step, with both shapes
    if trace.failure:
        failure = trace.failure
        level = levels[-1]
        is_selected = selected == failure.index
        shapes.append(
            {
                "type": "rect",
                "x0": failure_x - FAILURE_WIDTH / 2 + 0.05,
                "x1": failure_x + FAILURE_WIDTH / 2 - 0.05,
                "y0": -level - BOX_HEIGHT / 2,
                "y1": -level + BOX_HEIGHT / 2,
                "line": {"color": "#dc2626", "width": 4 if is_selected else 2, "dash": "dot"},
                "fillcolor": "#fecaca",
            }
        )
        # one shape per line (the two that differ, for a skip): the text stays inside the box and the plot
        shapes_text = "<br>≠ ".join(spatial(s) for s in failure.shapes) if failure.kind == "skip" else ""
        annotations.append(
            {
                "x": failure_x,
                "y": -level,
                "text": f"<b>✗ {texts['failed']}</b><br>{shapes_text or spatial(failure.shapes[0])}",
                "showarrow": False,
                "font": {"size": FONT_SIZE, "color": "#991b1b"},
                "hovertext": failure_label,
            }
        )

    # 4. skip connections: a dashed bracket from the stored map to where it is added back
    skip_ends = [(s.skip_source, positions[s.index], s.index) for s in trace.steps if s.kind == "skip"]
    if trace.failure and trace.failure.kind == "skip" and trace.failure.skip_source is not None:
        skip_ends.append((trace.failure.skip_source, failure_x, trace.failure.index))
    for pop_rank, (source, end_x, _) in enumerate(skip_ends, start=1):
        if source is None:
            continue
        start: TraceStep = trace.steps[source]
        level = levels[source]
        y_bottom = -level + BOX_HEIGHT / 2
        y_top = -level + BOX_HEIGHT / 2 + 0.2 + 0.06 * start.stored_order
        start_x = positions[source]
        shapes.append(
            {
                "type": "path",
                "path": f"M {start_x},{y_bottom} L {start_x},{y_top} L {end_x},{y_top} L {end_x},{y_bottom}",
                "line": {"color": KIND_COLOURS["skip"], "width": 2, "dash": "dash"},
            }
        )
        annotations.append(
            {
                "x": (start_x + end_x) / 2,
                "y": y_top,
                "yshift": 9,
                "text": texts["skip"].format(
                    order=start.stored_order, index=start.stored_order - 1, pop=pop_rank, shape=spatial(start.out_shape)
                ),
                "showarrow": False,
                "font": {"size": FONT_SIZE, "color": "#0e7490"},
                "bgcolor": "rgba(255,255,255,0.85)",
            }
        )

    # 5. the path names and the stack of stored maps
    max_level = max(levels) if levels else 0
    downs = [p for s, p in zip(trace.steps, positions, strict=False) if s.path == "down"]
    ups = [p for s, p in zip(trace.steps, positions, strict=False) if s.path == "up"]
    if downs:
        annotations.append(
            {"x": downs[0], "y": 0.95, "text": f"<b>{texts['down']} ↘</b>", "showarrow": False, "xanchor": "left"}
        )
    if ups or trace.failure:
        end_x = failure_x if trace.failure else ups[-1]
        annotations.append(
            {"x": end_x, "y": 0.95, "text": f"<b>↗ {texts['up']}</b>", "showarrow": False, "xanchor": "right"}
        )
    bottom = [p for p, v in zip(positions, levels, strict=False) if v == max_level and max_level > 0]
    if bottom:
        annotations.append(
            {
                "x": (bottom[0] + bottom[-1]) / 2,
                "y": -max_level - BOX_HEIGHT / 2 - 0.15,
                "text": texts["bottleneck"],
                "showarrow": False,
                "font": {"size": FONT_SIZE, "color": "#475569"},
            }
        )
    stored_steps = sorted((s for s in trace.steps if s.stored), key=lambda s: s.stored_order)
    if stored_steps:
        items = ", ".join(spatial(s.out_shape) for s in stored_steps)
        annotations.append(
            {
                "x": 0,
                "y": -max_level - 0.75,
                "xanchor": "left",
                "text": texts["stack"].format(items=items, last=spatial(stored_steps[-1].out_shape)),
                "showarrow": False,
                "font": {"size": FONT_SIZE, "color": "#0e7490"},
            }
        )

    tick_levels = sorted(set(levels))
    fig.update_layout(
        title={"text": texts["title"], "x": 0.01, "xanchor": "left"},
        height=height,
        margin={"l": 55, "r": 15, "t": 50, "b": 20},
        shapes=shapes,
        annotations=annotations,
        xaxis={"visible": False, "range": [-0.3, (failure_x + FAILURE_WIDTH / 2 + 0.1) if trace.failure else x + 0.3]},
        yaxis={
            "tickvals": [-v for v in tick_levels],
            "tickfont": {"size": FONT_SIZE},
            "ticktext": [_level_name(v, trace) for v in tick_levels],
            "range": [-max_level - 1.0, 1.15],
            "showgrid": False,
            "zeroline": False,
        },
        showlegend=False,
    )
    return fig


def _level_name(level: float, trace: Trace) -> str:
    """The H×W of a level, read from its steps; sizes that share the row (15×14 and 14×14) one per line."""
    top = trace.input_shape[2] if len(trace.input_shape) > 2 else 1
    names: list[str] = []
    for step in trace.steps:
        if len(step.out_shape) == 4 and _level(step.out_shape, top) == level:
            name = f"{step.out_shape[2]}×{step.out_shape[3]}"
            if name not in names:
                names.append(name)
    return "<br>".join(names)


def feature_strip(features: torch.Tensor, cell: int = 56) -> Image.Image:
    """A row of feature maps, each channel stretched to its own min..max (black..white).

    Args:
        features (`torch.Tensor`, (k, H, W)): a few channels of one image.
        cell: target side of each map in pixels (nearest-neighbour enlargement).

    Returns:
        A grey PIL image with the k maps side by side.
    """
    flat = features.reshape(features.shape[0], -1)
    low = flat.min(dim=1).values.view(-1, 1, 1)
    high = flat.max(dim=1).values.view(-1, 1, 1)
    scaled = (features - low) / (high - low).clamp_min(1e-8)
    height, width = features.shape[-2:]
    return to_image(scaled.unsqueeze(1), nrow=features.shape[0], scale=fit_scale(height, width, cell), padding=1)


def feature_rows(rows: Sequence[torch.Tensor], cell: int = 40, gap: int = 4) -> Image.Image:
    """Stack feature-map strips, one row per stage, every map enlarged to ``cell`` pixels.

    Args:
        rows: per stage, a (k, H, W) tensor of feature maps (k may differ between rows).
        cell: side in pixels of every map, whatever its resolution (nearest neighbour).
        gap: pixels between maps and between rows.

    Returns:
        A grey PIL image: stage i is row i, its channels from left to right.
    """
    columns = max(features.shape[0] for features in rows)
    sheet = Image.new("L", (columns * (cell + gap) + gap, len(rows) * (cell + gap) + gap), 96)
    for r, features in enumerate(rows):
        flat = features.reshape(features.shape[0], -1)
        low = flat.min(dim=1).values.view(-1, 1, 1)
        high = flat.max(dim=1).values.view(-1, 1, 1)
        scaled = ((features - low) / (high - low).clamp_min(1e-8) * 255).round().to(torch.uint8)
        for c in range(features.shape[0]):
            tile = Image.fromarray(scaled[c].numpy(), mode="L").resize((cell, cell), Image.Resampling.NEAREST)
            sheet.paste(tile, (gap + c * (cell + gap), gap + r * (cell + gap)))
    return sheet
