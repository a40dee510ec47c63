"""Plotly charts of measured quality: quality vs steps, x0- vs noise-prediction error, loss per timestep.

Every text on a chart (titles, axis titles, series names) comes in through ``labels``, so the UI
can draw them in any language; the numbers come from ``diffusion_core.quality_curves``
and ``diffusion_core.comparison_lab``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from diffusion_core.comparison_lab import TimestepLoss
from diffusion_core.figures import PALETTE, log_ticks, style_figure
from diffusion_core.quality_curves import curves_by_sampler
from diffusion_core.sampling import SAMPLERS

GUIDE_COLOR = "#6b7280"  # dashed reference lines (the real-digit floor) and the current-t marker
STEP_TICKS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)  # the log-scale steps axis


def curves_figure(
    points: Sequence[Mapping],
    floor: float | None,
    real: Mapping[str, float] | None,
    labels: Mapping[str, str],
    sampler_names: Mapping[str, str],
) -> go.Figure:
    """Three panels (FD, mean confidence, class balance) against steps, one line per sampler.

    Args:
        points: curve points as in the curves file: dicts with ``sampler``, ``steps`` (1..T),
            ``n``, ``fd`` (>= 0), ``fd_floor`` (>= 0), ``confidence`` and ``class_balance`` (in [0, 1]).
        floor: the real-vs-real FD at the run's n (a dashed line on the FD panel), or None.
        real: the real digits' ``confidence`` and ``class_balance`` (dashed lines), or None.
        labels: texts for ``fd``, ``confidence``, ``balance`` (panel titles), ``steps`` (x axis)
            and ``floor`` (the legend entry of the dashed lines).
        sampler_names: the legend name of each sampler (``"ddim"`` -> ``"DDIM"``).

    Returns:
        A 400 px high figure; the x axes and the FD axis are logarithmic, the other two span [0, 1.02].
    """
    titles = (labels["fd"], labels["confidence"], labels["balance"])
    fig = style_figure(make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.08), "", "", "")
    grouped = curves_by_sampler({"points": list(points)})
    for index, sampler in enumerate(s for s in SAMPLERS if s in grouped):
        series = grouped[sampler]
        name = sampler_names[sampler]
        steps = [p["steps"] for p in series]
        for col, key in enumerate(("fd", "confidence", "class_balance"), start=1):
            fig.add_scatter(
                x=steps,
                y=[p[key] for p in series],
                mode="lines+markers",
                name=name,
                legendgroup=sampler,
                showlegend=col == 1,
                line={"color": PALETTE[index % len(PALETTE)]},
                hovertemplate=f"{name}<br>%{{x}} steps<br>%{{y:.3f}}<extra></extra>",
                row=1,
                col=col,
            )
    _add_fd_floors(fig, points, floor)
    if real:
        for col, value in ((2, real.get("confidence")), (3, real.get("class_balance"))):
            if value is not None:
                fig.add_hline(y=value, line_dash="dash", line_color=GUIDE_COLOR, row=1, col=col)
    fig.add_scatter(x=[None], y=[None], mode="lines", line={"dash": "dash", "color": GUIDE_COLOR}, name=labels["floor"])
    fig.update_xaxes(type="log", title_text=labels["steps"], tickvals=list(STEP_TICKS),
                     ticktext=[str(v) for v in STEP_TICKS])  # fmt: skip
    fd_values = [v for p in points for v in (p["fd"], p["fd_floor"]) if v > 0] + ([floor] if floor else [])
    fd_ticks, fd_texts = log_ticks(min(fd_values), max(fd_values)) if fd_values else (None, None)
    fig.update_yaxes(type="log", tickvals=fd_ticks, ticktext=fd_texts, row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_yaxes(range=[0, 1.02], row=1, col=3)
    fig.update_layout(
        margin={"l": 50, "r": 20, "t": 40, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "center", "x": 0.5},
        height=400,
    )
    return fig


def _add_fd_floors(fig: go.Figure, points: Sequence[Mapping], floor: float | None) -> None:
    """One dashed line per distinct FD floor on the FD panel, named ``n = ...`` when there are several."""
    floors = {(p["n"], round(p["fd_floor"], 6)) for p in points}
    if floor is not None:
        floors.add((None, round(floor, 6)))
    several = len({value for _, value in floors}) > 1
    shown = set()
    for n, value in sorted(floors, key=lambda item: (item[1], item[0] is None)):
        if value in shown:
            continue
        shown.add(value)
        fig.add_hline(y=value, line_dash="dash", line_color=GUIDE_COLOR, row=1, col=1)
        if n is not None and several and value > 0:  # the FD axis is logarithmic: annotations take log10(y)
            fig.add_annotation(text=f"n = {n}", xref="x domain", x=0.98, yref="y", y=math.log10(value),
                               showarrow=False, xanchor="right", yanchor="bottom",
                               font={"size": 11, "color": GUIDE_COLOR})  # fmt: skip


def objectives_figure(
    timesteps: Sequence[int],
    basic_mse: Sequence[float],
    ddpm_mse: Sequence[float],
    t: int,
    labels: Mapping[str, str],
) -> go.Figure:
    """Mean MSE of both models' x0 guesses against the DDPM timestep, a dotted line at ``t``.

    Args:
        timesteps: the DDPM timesteps measured, each in 0..T-1.
        basic_mse: BasicUNet's mean MSE at each of ``timesteps``, [0, 1] pixel units.
        ddpm_mse: UNet2DModel's (implied x0) mean MSE at each of ``timesteps``, [0, 1] pixel units.
        t: the timestep the learner chose (a dotted vertical line).
        labels: texts for ``title``, ``x``, ``y``, ``basic`` and ``ddpm`` (the two series).
    """
    fig = go.Figure()
    fig.add_scatter(x=list(timesteps), y=list(basic_mse), mode="lines+markers", name=labels["basic"],
                    line={"color": PALETTE[1]})  # fmt: skip
    fig.add_scatter(x=list(timesteps), y=list(ddpm_mse), mode="lines+markers", name=labels["ddpm"],
                    line={"color": PALETTE[0]})  # fmt: skip
    fig.add_vline(x=t, line_dash="dot", line_color=GUIDE_COLOR)
    style_figure(fig, labels["title"], labels["x"], labels["y"], height=380)
    return fig.update_xaxes(automargin=True).update_yaxes(automargin=True)


def loss_figure(records: Sequence[TimestepLoss], labels: Mapping[str, str]) -> go.Figure:
    """Noise MSE (left axis, linear) and the same error on x0 (right axis, log) against t.

    Args:
        records: one ``TimestepLoss`` per measured t (t in 0..999; MSEs >= 0).
        labels: texts for ``title``, ``x``, ``y`` (noise MSE axis), ``y2`` (x0 MSE axis),
            ``noise`` and ``x0`` (the two series).
    """
    t = [r.t for r in records]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=t, y=[r.noise_mse for r in records], mode="lines+markers", name=labels["noise"],
                    line={"color": PALETTE[0], "width": 3}, secondary_y=False)  # fmt: skip
    fig.add_scatter(x=t, y=[r.x0_mse for r in records], mode="lines+markers", name=labels["x0"],
                    line={"color": PALETTE[1], "dash": "dot"}, secondary_y=True)  # fmt: skip
    style_figure(fig, labels["title"], labels["x"], "")
    fig.update_yaxes(title_text=labels["y"], rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text=labels["y2"], type="log", exponentformat="power", showgrid=False, secondary_y=True)
    fig.update_xaxes(range=[-10, 1010], automargin=True)
    return fig.update_yaxes(automargin=True)
