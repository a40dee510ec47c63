"""Plotly charts of DDPM noise schedules: sqrt(alpha_bar_t), sqrt(1 - alpha_bar_t) and SNR."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from diffusion_core.figures import PALETTE, style_figure
from diffusion_core.noising import BETA_SCHEDULES, NoiseCurves, ScheduleConfig, noise_curves


def schedule_figure(
    config: ScheduleConfig,
    t: int,
    labels: dict[str, str],
) -> go.Figure:
    """sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t) for ``config``, other schedules faint, marker at ``t``.

    Args:
        config: the chosen schedule (drawn bold).
        t: the current timestep, 0..T-1 (a vertical line and two markers).
        labels: texts for ``title``, ``x``, ``y``, ``signal``, ``noise`` and ``current``.
    """
    fig = go.Figure()
    for other in BETA_SCHEDULES:
        if other == config.beta_schedule:
            continue
        curves = noise_curves(config, beta_schedule=other)
        every = max(1, len(curves.t) // 200)  # faint context lines need ~200 points, not T
        for values, dash in ((curves.sqrt_alpha_bar, "solid"), (curves.sqrt_one_minus_alpha_bar, "dot")):
            fig.add_scatter(
                x=curves.t[::every].numpy(),
                y=values[::every].numpy(),
                mode="lines",
                line={"color": "#9ca3af", "width": 1, "dash": dash},
                opacity=0.6,
                name=other,
                legendgroup=other,
                showlegend=dash == "solid",
                hoverinfo="skip",
            )
    curves = noise_curves(config)
    signal, noise = curves.sqrt_alpha_bar, curves.sqrt_one_minus_alpha_bar
    fig.add_scatter(
        x=curves.t.numpy(),
        y=signal.numpy(),
        mode="lines",
        line={"color": PALETTE[0], "width": 3},
        name=labels["signal"],
    )
    fig.add_scatter(
        x=curves.t.numpy(), y=noise.numpy(), mode="lines", line={"color": PALETTE[1], "width": 3}, name=labels["noise"]
    )
    values = (float(signal[t]), float(noise[t]))
    fig.add_scatter(
        x=[t, t],
        y=list(values),
        mode="markers+text",
        marker={"size": 11, "color": [PALETTE[0], PALETTE[1]], "line": {"width": 2, "color": "white"}},
        text=[f"{v:.3f}" for v in values],
        textposition=marker_label_positions(values, right=t < len(curves.t) * 0.8),
        textfont={"size": 14, "color": [PALETTE[0], PALETTE[1]]},
        name=labels["current"],
        showlegend=False,
    )
    fig.add_vline(x=t, line={"color": "#111827", "width": 1, "dash": "dash"})
    fig.update_yaxes(range=[-0.02, 1.05])
    fig.update_xaxes(range=[0, len(curves.t) - 1])
    return style_figure(fig, f"{labels['title']} · {config.beta_schedule}", labels["x"], labels["y"], height=360)


def marker_label_positions(values: tuple[float, float], right: bool = True) -> list[str]:
    """Text positions for two markers on one vertical line: the higher value's label above its marker,
    the lower one's below, so the two never overlap however close the values are (0.722 and 0.692)."""
    side = "right" if right else "left"
    upper, lower = f"top {side}", f"bottom {side}"
    return [upper, lower] if values[0] >= values[1] else [lower, upper]


def snr_figure(curves: NoiseCurves, t: int, labels: dict[str, str]) -> go.Figure:
    """log10 of the signal-to-noise ratio alpha_bar_t / (1 - alpha_bar_t) against t, marker at ``t``."""
    log_snr = curves.snr.clamp_min(1e-12).log10()
    fig = go.Figure()
    fig.add_scatter(x=curves.t.numpy(), y=log_snr.numpy(), mode="lines", line={"color": PALETTE[3], "width": 3})
    value = float(log_snr[t])
    fig.add_scatter(
        x=[t], y=[value], mode="markers+text", marker={"size": 11, "color": PALETTE[3]},
        text=[f"SNR = {10**value:.3g}"], textposition="top left" if t > len(curves.t) / 2 else "top right",
        showlegend=False,
    )  # fmt: skip
    fig.add_hline(y=0, line={"color": "#6b7280", "width": 1, "dash": "dot"})
    fig.update_layout(showlegend=False)
    if math.isfinite(value):
        fig.add_vline(x=t, line={"color": "#111827", "width": 1, "dash": "dash"})
    return style_figure(fig, labels["title"], labels["x"], labels["y"], height=260)
