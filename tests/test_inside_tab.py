"""The Inside-the-UNet tab: its words for the core's walk, and the tab through a real Gradio server
(gradio_client) and a real Chromium."""

from __future__ import annotations

import resource

import numpy as np
import pytest
import torch
from gradio_client import handle_file
from PIL import Image
from test_tracing import SEED_WALK

from diffusion_core import tracing
from diffusion_core.models import BasicUNet
from diffusion_core.tracing import trace_basic_unet
from ui.inside_tab.unet2d import unet2d_code
from ui.inside_tab.wording import failure_text, stage_names, step_label


@pytest.fixture(scope="module")
def net() -> BasicUNet:
    torch.manual_seed(0)
    return BasicUNet().eval()


def test_steps_are_named_as_the_seed_names_them(net):
    trace = trace_basic_unet(net, torch.rand(8, 1, 28, 28), features=0)
    assert [step_label(s, "zh") for s in trace.steps] == [label for label, _ in SEED_WALK]
    english = [step_label(s, "en") for s in trace.steps]
    assert (
        english[0] == "Down 1: input" and english[16] == "Up 2: after skip" and english[-1] == "Up 3: after activation"
    )
    assert len(set(english)) == len(english)  # every row has its own name
    stored = [s for s in trace.steps if s.stored]
    assert stage_names(stored, "zh") == "第1次激活函数；第2次激活函数"
    assert stage_names(stored, "en") == "Down 1: activation; Down 2: activation"


def test_failures_are_explained_in_both_languages(net):
    failure = trace_basic_unet(net, torch.rand(8, 1, 30, 30), features=0).failure
    assert step_label(failure, "zh") == "第2跳跃后"
    text = failure_text(failure, "en")
    assert "Up 2: after skip failed" in text and "14×14" in text and "15×15" in text and "divisible by 4" in text
    assert "15×15" in failure_text(failure, "zh") and "4 整除" in failure_text(failure, "zh")
    pooling = trace_basic_unet(net, torch.rand(1, 1, 1, 1), features=0).failure
    assert step_label(pooling, "zh") == "第1下采样"
    assert "downscale: MaxPool2d(2)" in failure_text(pooling, "en") and "[1, 32, 1, 1]" in failure_text(pooling, "zh")


@pytest.mark.parametrize(("blocks", "layers", "attention"), [("32,64,64", 2, True), ("32,64,128", 1, False)])
def test_unet2d_code_prints_what_the_knobs_give(blocks, layers, attention):
    code = unet2d_code(blocks, layers, attention, 8, 3, 32, 32)
    channels = tuple(int(v) for v in blocks.split(","))
    params = tracing.unet2d_anatomy(channels, layers, attention, (8, 3, 32, 32)).total_parameters
    assert f"# {params} with these settings" in code
    assert f"add_attention={attention}" in code and f"layers_per_block={layers}" in code
    assert f"block_out_channels={channels}" in code and "in_channels=3" in code and "sample_size=32" in code
    assert ("AttnDownBlock2D" in code) is attention


def trace_shapes(client, source="random", seed=0, batch=8, channels=1, height=28, width=28, upload=None, step=1,
                 lang="zh"):  # fmt: skip
    return client.predict(source, seed, batch, channels, height, width, upload, step, lang, api_name="/trace_shapes")


def rows_of(table) -> tuple[list[str], list[list]]:
    return table["headers"], table["data"]


@pytest.mark.api
def test_trace_shapes_is_the_seeds_walk(client):
    table, diagram, summary, selected_maps, stage_maps, stage_caption, code = trace_shapes(client)
    headers, rows = rows_of(table)
    step_col, out_col = headers.index("步骤"), headers.index("输出形状")
    walk = [(row[step_col], row[out_col]) for row in rows[:-1]]
    assert walk == [(label, "[" + ", ".join(map(str, shape)) + "]") for label, shape in SEED_WALK]
    assert rows[-1][headers.index("参数量")] == "309,057"
    assert "309,057" in summary and "[8, 1, 28, 28]" in summary
    assert rows[0][0] == "▶"  # step 1 is highlighted
    assert diagram is not None
    assert np.asarray(Image.open(selected_maps)).shape[0] > 28
    assert np.asarray(Image.open(stage_maps)).shape == (7 * 44 + 4, 8 * 44 + 4)  # the input and six activations
    assert "第1次激活函数" in stage_caption and "第3激活函数后" in stage_caption
    assert "torch.rand(8, 1, 28, 28" in code and "register_forward_hook" in code and "pop()" in code


@pytest.mark.api
def test_selecting_a_step_highlights_its_row(client):
    table, *_ = trace_shapes(client, step=17, lang="en")
    headers, rows = rows_of(table)
    marked = [row for row in rows if row[0] == "▶"]
    assert len(marked) == 1 and marked[0][headers.index("Step")] == "Up 2: after skip"
    assert "h.pop()" in marked[0][headers.index("Note")]


@pytest.mark.api
def test_30x30_names_the_failing_skip(client):
    table, _, summary, *_ = trace_shapes(client, height=30, width=30, step=24, lang="en")
    headers, rows = rows_of(table)
    assert "14×14" in summary and "15×15" in summary and "divisible by 4" in summary
    assert len(rows) == 16 + 1 + 1  # the 16 steps that worked, the failed one, the total
    failed = rows[16]
    assert failed[0] == "▶" and failed[headers.index("Step")] == "Up 2: after skip"
    assert failed[headers.index("Input shape")] == "[8, 64, 14, 14] + [8, 64, 15, 15]"


@pytest.mark.api
def test_real_digits_three_channels_and_an_upload(client, tmp_path):
    table, _, summary, *_ = trace_shapes(client, source="mnist", batch=4, channels=3, height=32, width=20)
    headers, rows = rows_of(table)
    assert rows[-2][headers.index("输出形状")] == "[4, 3, 32, 20]"
    assert rows[-1][headers.index("参数量")] == f"{309_057 + 2 * 32 * 25 + 2 * (32 * 25 + 1):,}"
    path = tmp_path / "digit.png"
    image = Image.new("L", (90, 60), 255)
    image.paste(0, (30, 10, 60, 50))
    image.save(path)
    table, _, summary, *_ = trace_shapes(client, source="upload", upload=handle_file(str(path)), batch=1)
    assert "[1, 1, 28, 28]" in summary
    with pytest.raises(Exception, match="upload"):
        trace_shapes(client, source="upload", upload=None, lang="en")


@pytest.mark.api
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"height": 0}, "height"),
        ({"width": 10_000}, "width"),
        ({"batch": 0}, "batch"),
        ({"batch": 10_000}, "batch"),
        ({"batch": 64, "height": 256, "width": 256}, "太大"),  # lang="zh": the message is in Chinese
        ({"height": 28.5}, "whole number"),
        ({"channels": 2}, "choices"),
        ({"step": 99}, "step"),
        ({"source": "camera"}, "choices"),
    ],
)
def test_absurd_sizes_get_clear_errors(client, kwargs, message):
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, this process hosts the server
    with pytest.raises(Exception, match=message) as caught:
        trace_shapes(client, **kwargs)
    assert "Traceback" not in str(caught.value)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mib < 300, f"peak memory grew by {grown_mib:.0f} MiB"
    assert "309,057" in trace_shapes(client)[2]  # the server still answers


@pytest.mark.api
@pytest.mark.parametrize(
    "raw, message",
    [
        ('["random", 0, 8, 1, NaN, 28, null, 1, "en"]', "height"),
        ('["random", 0, 8, 1, 28, Infinity, null, 1, "en"]', "width"),
        ('["random", 0, NaN, 1, 28, 28, null, 1, "en"]', "batch"),
        ('["random", 0, 8, 1, 28, 28, null, NaN, "en"]', "step"),
    ],
)
def test_nan_sizes_get_clear_errors(raw_call, raw, message):
    event, payload = raw_call("trace_shapes", raw)
    assert event == "error" and message in payload["error"], payload


@pytest.mark.api
def test_unet2d_anatomy_sums_to_the_seed_and_follows_the_knobs(client):
    table, time_path, compare = client.predict("32,64,64", 2, True, 8, 1, 28, 28, "en", api_name="/unet2d_anatomy")
    headers, rows = rows_of(table)
    assert rows[-1][headers.index("Parameters")] == "1,707,009"
    attention = [row[0] for row in rows if row[headers.index("Attention")] == "✓"]
    assert attention == ["down_blocks.1", "down_blocks.2", "mid_block", "up_blocks.0", "up_blocks.1"]
    assert "time_embedding" in time_path and "[8, 128]" in time_path and "17" in time_path
    assert "309,057" in compare and "1,707,009" in compare and "GroupNorm" in compare
    table, _, compare = client.predict("32,64,128", 1, False, 8, 1, 28, 28, "en", api_name="/unet2d_anatomy")
    headers, rows = rows_of(table)
    assert not any(row[headers.index("Attention")] == "✓" for row in rows)
    assert rows[-1][headers.index("Parameters")] != "1,707,009"
    table, time_path, _ = client.predict("32,64,64", 2, True, 8, 1, 30, 30, "zh", api_name="/unet2d_anatomy")
    assert "up_blocks.1" in time_path
    headers, rows = rows_of(table)
    assert rows[-1][headers.index("参数量")] == "1,707,009"  # blocks not reached still count
    assert [row[headers.index("输出形状")] for row in rows if row[0] == "up_blocks.1"] == ["✗"]


@pytest.mark.e2e
def test_inside_tab_changes_size_in_the_browser(page, app_url):
    page.goto(app_url + "/?lang=zh")
    page.get_by_role("tab", name="③ 内部结构").click()
    summary = page.locator("#inside-summary")
    summary.wait_for()
    page.wait_for_function("() => document.querySelector('#inside-summary').innerText.includes('309,057')")
    assert "第3激活函数后" in page.locator("#inside-table").inner_text()
    box = page.locator("#inside-height input[type=number]").first
    box.fill("30")
    box.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#inside-summary').innerText.includes('15×14')", timeout=60_000
    )
    assert "第2跳跃后" in summary.inner_text()
    page.locator("#inside-diagram .main-svg").first.wait_for()
    box.fill("32")
    box.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#inside-summary').innerText.includes('[8, 1, 32, 28]')", timeout=60_000
    )
