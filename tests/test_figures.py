"""Charts and picture grids readable from the back of a room (issue 14): ticks that name their values, bars
that are not flattened by one spike, labels that do not overlap, text that is not clipped, big step numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffusion_core.figures import histogram_figure, log_ticks
from diffusion_core.noise_figures import marker_label_positions, schedule_figure
from diffusion_core.noising import ScheduleConfig
from diffusion_core.quality_figures import curves_figure
from diffusion_core.sample_figures import alpha_bar_figure, mix_figure


def test_log_ticks_name_every_value_even_inside_one_decade():
    values, texts = log_ticks(230, 870)  # the live FD's range: plotly alone wrote "2 3 … 9" here
    assert values[0] <= 230 and values[-1] >= 870 and len(values) >= 2
    assert texts == [f"{v:g}" for v in values] and all(t[0] in "125" for t in texts)
    values, texts = log_ticks(8.0, 540.0)
    assert texts == ["5", "10", "20", "50", "100", "200", "500", "1000"]
    with pytest.raises(ValueError, match="positive"):
        log_ticks(0, 10)


def test_quality_curves_fd_axis_carries_written_out_ticks():
    points = [
        {"sampler": s, "steps": k, "n": 32, "fd": fd, "fd_floor": 60.0, "confidence": 0.9, "class_balance": 0.9}
        for s, k, fd in (("ddim", 2, 870.0), ("ddim", 5, 410.0), ("euler", 2, 860.0), ("euler", 5, 230.0))
    ]
    labels = {"fd": "FD", "confidence": "c", "balance": "b", "steps": "steps", "floor": "floor"}
    fig = curves_figure(points, 60.0, None, labels, {"ddim": "DDIM", "euler": "Euler"})
    axis = fig.layout.yaxis
    assert axis.type == "log" and list(axis.ticktext) == ["50", "100", "200", "500", "1000"]


def test_histogram_spike_does_not_flatten_the_other_bars():
    digits = torch.zeros(8, 1, 28, 28)
    digits[..., 10:12, :] = 1.0  # 93% of the pixels at 0 (MNIST's black background), 7% at 1
    noise = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    fig = histogram_figure([("x", digits), ("noise", noise)], "t", "x", "y")
    top = fig.layout.yaxis.range[1]
    noise_bars = np.asarray(fig.data[1].y)
    assert top < 0.1 and noise_bars.max() > top / 5  # the uniform noise's bars reach a fifth of the height, not 2%
    (note,) = fig.layout.annotations
    assert note.text == f"↑ {np.asarray(fig.data[0].y).max():.2f}"  # the clipped spike says how tall it is
    plain = histogram_figure([("noise", noise)], "t", "x", "y")
    assert plain.layout.yaxis.range is None and not plain.layout.annotations  # nothing clipped without a spike


def test_marker_labels_of_close_values_go_above_and_below():
    assert marker_label_positions((0.722, 0.692)) == ["top right", "bottom right"]
    assert marker_label_positions((0.3, 0.95), right=False) == ["bottom left", "top left"]
    labels = {"title": "n", "x": "t", "y": "c", "signal": "s", "noise": "n", "current": "now"}
    fig = schedule_figure(ScheduleConfig(), 250, labels)
    markers = fig.data[-1]
    assert list(markers.textposition) == ["top right", "bottom right"] and markers.textfont.size >= 13


@pytest.mark.parametrize(("t", "position"), [(10, "bottom right"), (990, "top left")])
def test_alpha_bar_note_stays_inside_the_chart(t, position):
    alpha_bar = np.linspace(1.0, 0.0, 1000)
    labels = {"title": "a", "x": "t", "y": "a", "curve": "a", "current": "now"}
    fig = alpha_bar_figure(alpha_bar, t, labels)
    assert fig.data[1].textposition == position  # near ᾱ = 1 the note goes below the marker, not off the top


def test_mix_figure_step_numbers_are_tall():
    rows = [torch.rand(8, 1, 28, 28) for _ in range(3)]
    figure = mix_figure(rows, rows, scale=2)
    label_band = np.asarray(figure.convert("L"))[:, :40] < 128  # dark pixels left of the grids
    cell_h = figure.height // 3
    first_row = np.nonzero(label_band[:cell_h].any(axis=1))[0]
    assert first_row.size and first_row[-1] - first_row[0] >= 0.25 * cell_h  # was a ~7-px "step 1" in a 76-px row
