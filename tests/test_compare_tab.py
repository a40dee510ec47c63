"""The Compare tab through a real Gradio server and gradio_client: quality, objectives, loss per t, failures.

Kept light: tiny n and step counts, because every call samples the bundled DDPM model on the CPU.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from ui import runs

pytestmark = pytest.mark.api


def read_image(path: str) -> np.ndarray:
    return np.asarray(Image.open(path))


def read_figure(value: dict) -> tuple[dict[str, list[dict]], dict]:
    """A ``gr.Plot`` value as the client gets it: (traces grouped by name, layout)."""
    assert value["type"] == "plotly"
    figure = json.loads(value["plot"])
    traces: dict[str, list[dict]] = {}
    for trace in figure["data"]:
        traces.setdefault(trace.get("name"), []).append(trace)
    return traces, figure["layout"]


def test_quality_recomputes_a_small_curve(client):
    figure, summary, table, code = client.predict(["ddim", "euler"], [1, 2], 8, 0, "en", api_name="/quality")
    traces, layout = read_figure(figure)
    assert {"DDIM", "Euler", "real digits (floor / reference)"} <= set(traces)
    for sampler in ("DDIM", "Euler"):
        fd, confidence, balance = traces[sampler]  # one line per panel
        assert fd["x"] == confidence["x"] == balance["x"] == [1, 2]
        assert all(value > 0 for value in fd["y"])
        assert all(0 <= value <= 1 for value in confidence["y"] + balance["y"])
    panels = [a["text"] for a in layout["annotations"]]
    assert panels[:3] == ["FD (lower is better)", "mean confidence", "class balance"]
    assert layout["xaxis"]["title"]["text"] == "sampling steps" and layout["xaxis"]["type"] == "log"
    rows = [line for line in table.splitlines() if line.startswith("| DDIM") or line.startswith("| Euler")]
    assert len(rows) == 4  # two samplers x two step counts
    assert "n = 8" in summary
    assert "quality_vs_steps" in code and "seed=0" in code and "'euler'" in code


def test_objectives_show_both_guesses_with_per_image_mse(client):
    *rows, table, summary, figure, code = client.predict(500, 3, "en", api_name="/quality_objectives")
    assert len(rows) == 5
    shapes = {read_image(row).shape for row in rows}
    assert len(shapes) == 1  # the five strips line up
    assert len(table["data"]) == 8
    assert all(0 <= value <= 1 for row in table["data"] for value in row[1:])
    assert "t = 500" in summary and "Mean MSE" in summary
    traces, layout = read_figure(figure)
    (basic,), (ddpm,) = traces["BasicUNet (x0)"], traces["UNet2DModel (ε → x0)"]
    assert basic["x"] == ddpm["x"] == [50, 150, 250, 350, 450, 500, 550, 650, 750, 850, 950]
    at_500 = basic["x"].index(500)  # the chosen t is on the curve, with the table's mean MSE
    assert basic["y"][at_500] == pytest.approx(np.mean([row[1] for row in table["data"]]), abs=1e-4)
    assert ddpm["y"][at_500] == pytest.approx(np.mean([row[2] for row in table["data"]]), abs=1e-4)
    assert layout["title"]["text"] == "Error of the x0 guess vs noise level"
    assert layout["xaxis"]["title"]["text"].startswith("DDPM timestep t")
    assert layout["yaxis"]["title"]["text"] == "mean MSE ([0, 1] pixels)"
    assert "t = 500" in code and "manual_seed(3)" in code


def test_loss_per_timestep_streams_to_the_end(client):
    figure, summary, code = client.predict(4, 5, 0, "zh", api_name="/quality_loss_t")
    traces, layout = read_figure(figure)
    (noise,), (x0,) = traces["噪声 MSE（训练损失）"], traces["x0 MSE = 噪声 MSE / SNR（[-1, 1] 尺度，右轴）"]
    assert noise["x"] == x0["x"] == [0, 249, 499, 749, 999]  # linspace(0, 999, 5), every point streamed
    assert all(value > 0 for value in noise["y"] + x0["y"])
    ratios = [b / a for a, b in zip(noise["y"], x0["y"], strict=True)]  # 1 / SNR(t): grows with t
    assert ratios == sorted(ratios)
    assert layout["title"]["text"] == "DDPM 模型每个时间步的损失"
    assert layout["yaxis"]["title"]["text"] == "噪声 MSE"
    assert layout["yaxis2"]["title"]["text"] == "x0 MSE（[-1, 1] 尺度，对数刻度）" and layout["yaxis2"]["type"] == "log"
    assert "4 张图、5 个 t" in summary
    assert "linspace(0, 999, 5)" in code


def test_failure_lab_shows_the_chosen_modes_only(client):
    out = client.predict(["rand", "few_steps"], "ddim", 2, 1, 4, 0, "en", api_name="/quality_failures")
    correct, correct_text, rand, rand_text, no_scaling, no_scaling_text, few, few_text, _, _, code = out
    assert correct is not None and rand is not None and few is not None
    assert no_scaling is None and no_scaling_text == ""
    assert "randn" in correct_text and "confidence" in correct_text
    assert "torch.rand" in rand_text
    assert "1 steps" in few_text or "Only 1" in few_text
    assert not np.array_equal(read_image(correct), read_image(rand))
    assert 'start="rand"' in code


@pytest.mark.parametrize(
    ("api_name", "args", "message"),
    [
        ("/quality", (["heun"], [2], 8, 0, "en"), "not in the list of choices"),
        ("/quality", ([], [2], 8, 0, "en"), "at least one sampler"),
        ("/quality", (["ddim"], [3], 8, 0, "en"), "not in the list of choices"),
        ("/quality", (["ddim"], [2], 1000, 0, "en"), "n must be between"),
        ("/quality_objectives", (2000, 0, "en"), "t must be between"),
        ("/quality_objectives", (500, -1, "en"), "seed"),
        ("/quality_loss_t", (4, "NaN", 0, "en"), "timesteps must be a finite number"),
        ("/quality_loss_t", (4, 7.5, 0, "en"), "timesteps must be a whole number"),
        ("/quality_failures", (["bogus"], "ddim", 2, 1, 4, 0, "en"), "not in the list of choices"),
        ("/quality_failures", (["rand"], "heun", 2, 1, 4, 0, "en"), "not in the list of choices"),
    ],
)
def test_bad_inputs_get_clear_errors(client, api_name, args, message):
    with pytest.raises(Exception, match=message) as caught:
        client.predict(*args, api_name=api_name)
    assert "Traceback" not in str(caught.value)


def test_a_language_switch_rewords_the_live_result_instead_of_replacing_it():
    """The switch used to put the precomputed curves back, losing the learner's live result."""
    from ui.compare_tab import quality

    *_, (_, summary_zh, table_zh, _, live) = quality.quality(["ddim"], [1, 2], 8, 0, "zh")
    figure, summary_en, table_en = quality.quality_view(live, "en")
    assert len(live["points"]) == 2 and table_en.count("\n") == table_zh.count("\n")  # the same two points
    assert summary_en == quality.live_summary(live, "en") != quality.precomputed_view("en")[1]
    assert not re.search(r"[\u3400-\u9fff]", summary_en + table_en) and re.search(r"[\u3400-\u9fff]", summary_zh)
    assert figure is not None and quality.quality_view(None, "en")[1] == quality.precomputed_view("en")[1]


def test_a_language_switch_during_a_recompute_rewords_the_run_not_the_last_result():
    """Before its first point the recompute shows its estimate over the last result's curves: a switch re-words
    that line and leaves the curves. After a point, the points so far and the progress, re-worded; then, once it
    ends, its own result. The last result, still in the state, is never shown over the running one."""
    import gradio as gr

    from ui.compare_tab import quality

    class Session:
        session_hash = "quality-switch-test"

    request = Session()
    *_, (_, _, _, _, last) = quality.quality(["ddim"], [2], 8, 0, "zh", request=request)  # one point, 2 steps
    run = quality.quality(["ddim"], [1, 2], 8, 1, "zh", request=request)
    next(run), next(run)  # timing one step, then the estimate: the first point is next
    figure, summary, table = quality.quality_view(last, "en", request)
    estimate = runs.running(request, "sample").estimate
    assert (figure, table) == (gr.skip(), gr.skip()) and summary == runs.estimate_line(estimate, "en")
    _, _, _, _, partial = next(run)  # the first of two points: 1 step
    figure, summary, table = quality.quality_view(last, "en", request)
    assert summary.startswith(quality.live_summary(partial, "en")) and " of ≈ " in summary  # the run's progress
    assert table == quality.points_table(partial["points"], "en") != quality.points_table(last["points"], "en")
    *_, (_, _, _, _, done) = run
    assert quality.quality_view(done, "en", request)[1] == quality.live_summary(done, "en")  # ended: its own


def test_a_language_switch_rewords_the_other_labs_last_results():
    """The failure lab's captions, the objectives' table, summary and figure and the loss summary stayed in the
    language they were run in: a switch now re-words each from its run's views, without running again."""
    from ui.common import in_language
    from ui.compare_tab import failures, loss_per_t, objectives

    chinese = re.compile(r"[\u3400-\u9fff]")
    *lab, _, views = failures.quality_failures(["rand"], "ddim", 2, 1, 4, 0, "zh")
    assert lab[1::2] == views["zh"] and len(views["en"]) == len(failures.GRID_KEYS)
    english = in_language(len(failures.GRID_KEYS))(views, "en")
    assert chinese.search(views["zh"][1]) and not any(chinese.search(caption) for caption in english)
    assert english[2:] == ("",) * (len(failures.GRID_KEYS) - 2)  # the modes that were off stay empty

    *_, table, summary, figure, _, views = objectives.quality_objectives(500, 3, "zh")
    table_en, summary_en, figure_en = in_language(3)(views, "en")
    assert [table, summary, figure] == views["zh"] and chinese.search(summary + figure.layout.title.text)
    assert not chinese.search(summary_en + " ".join(table_en["headers"]) + figure_en.layout.title.text)

    *_, (_, summary, _, views) = loss_per_t.quality_loss_t(4, 5, 0, "zh")
    assert summary == views["zh"][1] and not chinese.search(in_language(2)(views, "en")[1])
    import gradio as gr

    assert in_language(2)(None, "en") == (gr.skip(), gr.skip())  # before a first run: left as they are

    # after a run (.then): sent again only if the page's language is no longer the one the run worded it in
    assert views["worded_in"] == "zh" and in_language(2, after_run=True)(views, "zh") == (gr.skip(), gr.skip())
    assert in_language(2, after_run=True)(views, "en") == tuple(views["en"])
