"""Shape tracing: the tutorial's walk as the oracle, named failures, feature maps, UNet2DModel anatomy.

The core returns data (path, kind, stage, shapes); the words of each step are the UI's and are
tested in ``test_inside_tab.py`` against the same oracle (``SEED_WALK``).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from diffusion_core.models import BASIC_UNET_PARAMETERS, UNET2D_PARAMETERS, BasicUNet
from diffusion_core.tracing import (
    MAX_PIXELS,
    check_trace_size,
    fit_images,
    random_input,
    trace_basic_unet,
    trace_module,
    unet2d_anatomy,
)
from diffusion_core.unet_figures import feature_strip, u_diagram

# The tutorial's walk for x = torch.rand(8, 1, 28, 28), transcribed row for row from the tutorial
# (基础UNet): the step as the tutorial words it, and the torch.Size it prints.
SEED_WALK = [
    ("第1次输入", (8, 1, 28, 28)),
    ("第1次卷积", (8, 32, 28, 28)),
    ("第1次激活函数", (8, 32, 28, 28)),
    ("第1下采样", (8, 32, 14, 14)),
    ("第2次输入", (8, 32, 14, 14)),
    ("第2次卷积", (8, 64, 14, 14)),
    ("第2次激活函数", (8, 64, 14, 14)),
    ("第2下采样", (8, 64, 7, 7)),
    ("第3次输入", (8, 64, 7, 7)),
    ("第3次卷积", (8, 64, 7, 7)),
    ("第3次激活函数", (8, 64, 7, 7)),
    ("第1输入", (8, 64, 7, 7)),
    ("第1卷积", (8, 64, 7, 7)),
    ("第1激活函数后", (8, 64, 7, 7)),
    ("第2输入", (8, 64, 7, 7)),
    ("第2上采样", (8, 64, 14, 14)),
    ("第2跳跃后", (8, 64, 14, 14)),
    ("第2卷积", (8, 32, 14, 14)),
    ("第2激活函数后", (8, 32, 14, 14)),
    ("第3输入", (8, 32, 14, 14)),
    ("第3上采样", (8, 32, 28, 28)),
    ("第3跳跃后", (8, 32, 28, 28)),
    ("第3卷积", (8, 1, 28, 28)),
    ("第3激活函数后", (8, 1, 28, 28)),
]
# The same walk as data: each stage of the seed (path, number, the kinds of its rows), row for row.
SEED_STAGES = [
    ("down", 1, ("input", "conv", "act", "down")),
    ("down", 2, ("input", "conv", "act", "down")),
    ("down", 3, ("input", "conv", "act")),
    ("up", 1, ("input", "conv", "act")),
    ("up", 2, ("input", "up", "skip", "conv", "act")),
    ("up", 3, ("input", "up", "skip", "conv", "act")),
]
SEED_STEPS = [(path, kind, stage) for path, stage, kinds in SEED_STAGES for kind in kinds]


def as_data(step) -> tuple[str, str, int]:
    """A step (or failure) as the tutorial's data: (path, kind, stage)."""
    return step.path, step.kind, step.stage


@pytest.fixture(scope="module")
def net() -> BasicUNet:
    torch.manual_seed(0)
    return BasicUNet().eval()


def test_walk_matches_the_seed_row_for_row(net):
    trace = trace_basic_unet(net, torch.rand(8, 1, 28, 28))
    assert trace.ok and trace.output_shape == (8, 1, 28, 28)
    assert [(as_data(s), s.out_shape) for s in trace.steps] == [
        (step, shape) for step, (_, shape) in zip(SEED_STEPS, SEED_WALK, strict=True)
    ]
    assert [s.index for s in trace.steps] == list(range(len(SEED_WALK)))
    assert trace.total_parameters == BASIC_UNET_PARAMETERS == 309_057
    assert sum(s.parameters for s in trace.steps) == 309_057  # per layer, summing to the tutorial's figure


def test_walk_kinds_and_layers(net):
    trace = trace_basic_unet(net, torch.rand(8, 1, 28, 28))
    kinds = [s.kind for s in trace.steps]
    assert kinds[:4] == ["input", "conv", "act", "down"]
    assert kinds[14:19] == ["input", "up", "skip", "conv", "act"]
    assert [s.layer for s in trace.steps if s.kind == "conv"] == [
        "down_layers.0", "down_layers.1", "down_layers.2", "up_layers.0", "up_layers.1", "up_layers.2",
    ]  # fmt: skip
    assert [s.path for s in trace.steps].count("down") == 11
    assert len(set(map(as_data, trace.steps))) == len(trace.steps)  # every row is its own step of the seed


def test_skips_are_last_in_first_out(net):
    """``h.pop()`` takes the LAST element: the skip stored last (64x14x14) is added first."""
    trace = trace_basic_unet(net, torch.rand(8, 1, 28, 28))
    stored = [s for s in trace.steps if s.stored]
    assert [(as_data(s), s.stored_order, s.out_shape) for s in stored] == [
        (("down", "act", 1), 1, (8, 32, 28, 28)),
        (("down", "act", 2), 2, (8, 64, 14, 14)),
    ]
    skips = [s for s in trace.steps if s.kind == "skip"]
    assert [trace.steps[s.skip_source].stored_order for s in skips] == [2, 1]
    assert [s.skip_shape for s in skips] == [(8, 64, 14, 14), (8, 32, 28, 28)]


def test_30x30_fails_at_the_first_skip_with_both_shapes(net):
    trace = trace_basic_unet(net, torch.rand(8, 1, 30, 30))
    assert not trace.ok and trace.output_shape is None
    failure = trace.failure
    assert (failure.kind, failure.path, failure.stage, failure.index) == ("skip", "up", 2, 16)
    assert failure.shapes == ((8, 64, 14, 14), (8, 64, 15, 15))  # upsampled vs stored skip
    assert failure.mismatched_skip == failure.shapes
    assert (failure.downsamplings, failure.size_divisor) == (2, 4)  # 30 is not divisible by 4
    # the steps that worked are kept: the tutorial's first 16 rows, with 30x30 shapes
    assert [as_data(s) for s in trace.steps] == SEED_STEPS[:16]
    assert trace.steps[-1].out_shape == (8, 64, 14, 14)
    assert trace.steps[failure.skip_source].out_shape == (8, 64, 15, 15)
    assert [s.stored_order for s in trace.steps if s.stored] == [1, 2]  # both stored maps found


@pytest.mark.parametrize(("size", "works"), [(4, True), (32, True), (26, False), (29, False), (60, True)])
def test_sizes_divisible_by_4_pass_and_others_fail(net, size, works):
    trace = trace_basic_unet(net, torch.rand(1, 1, size, size), features=0)
    assert trace.ok is works
    if works:
        assert trace.output_shape == (1, 1, size, size) and len(trace.steps) == 24


def test_too_small_input_names_the_pooling_step(net):
    trace = trace_basic_unet(net, torch.rand(1, 1, 1, 1), features=0)
    assert trace.failure.kind == "down" and trace.failure.layer == "downscale"
    assert as_data(trace.failure) == ("down", "down", 1)
    assert trace.failure.mismatched_skip is None
    assert trace.failure.shapes == ((1, 32, 1, 1),)
    assert len(trace.steps) == 3


def test_wrong_channels_name_the_conv():
    trace = trace_basic_unet(BasicUNet(1, 1), torch.rand(2, 3, 28, 28), features=0)
    assert trace.failure.kind == "conv" and trace.failure.layer == "down_layers.0"
    assert trace.failure.shapes == ((2, 3, 28, 28),) and len(trace.steps) == 1


def test_three_channels_change_the_parameter_count():
    torch.manual_seed(0)
    model = BasicUNet(3, 3)
    trace = trace_basic_unet(model, torch.rand(2, 3, 28, 28), features=0)
    assert trace.ok and trace.output_shape == (2, 3, 28, 28)
    assert trace.total_parameters == sum(s.parameters for s in trace.steps) == 309_057 + 2 * 32 * 25 + 2 * (32 * 25 + 1)


def test_feature_maps_are_the_real_activations(net):
    x = torch.rand(2, 1, 28, 28)
    trace = trace_basic_unet(net, x, features=4)
    conv1 = trace.steps[1]
    assert conv1.features.shape == (4, 28, 28)
    with torch.no_grad():
        expected = net.down_layers[0](x)[0, :4]
    torch.testing.assert_close(conv1.features, expected)
    assert trace.steps[0].features.shape == (1, 28, 28)  # the input has one channel
    strip = feature_strip(trace.steps[2].features, cell=28)
    assert strip.size == (4 * 28 + 5, 28 + 2)  # 4 maps side by side, 1-pixel padding
    assert all(s.features is None for s in trace_basic_unet(net, x, features=0).steps)


def test_trace_module_works_on_any_module_and_leaves_no_hooks():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    trace = trace_module(model, torch.rand(5, 4))
    assert [(s.kind, s.layer, s.out_shape) for s in trace.steps] == [
        ("linear", "0", (5, 8)), ("act", "1", (5, 8)), ("linear", "2", (5, 2)),
    ]  # fmt: skip
    assert [s.parameters for s in trace.steps] == [40, 0, 18]
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    bad = trace_module(model, torch.rand(5, 3))
    assert bad.failure.layer == "0" and bad.failure.shapes == ((5, 3),) and bad.steps == []


def test_sizes_are_checked_before_allocating():
    for args in [(0, 1, 28, 28), (8, 1, 10_000, 28), (8, 2, 28, 28), (65, 1, 28, 28), (64, 1, 512, 512)]:
        with pytest.raises(ValueError):
            check_trace_size(*args)
    with pytest.raises(ValueError, match="too large"):
        random_input(8, 1, 512, 512)
    assert MAX_PIXELS >= 8 * 128 * 128
    assert random_input(8, 1, 28, 28, torch.Generator().manual_seed(0)).shape == (8, 1, 28, 28)


def test_fit_images_repeats_converts_and_resizes():
    digits = torch.rand(3, 1, 28, 28)
    x = fit_images(digits, 8, 3, 32, 20)
    assert x.shape == (8, 3, 32, 20) and float(x.min()) >= 0 and float(x.max()) <= 1
    torch.testing.assert_close(fit_images(digits, 2, 1, 28, 28), digits[:2])


def test_unet2d_per_block_parameters_sum_to_the_seed_figure():
    anatomy = unet2d_anatomy()
    assert anatomy.failure is None and anatomy.output_shape == (8, 1, 28, 28)
    assert sum(b.parameters for b in anatomy.blocks) == anatomy.total_parameters == UNET2D_PARAMETERS == 1_707_009
    by_name = {b.name: b for b in anatomy.blocks}
    assert [b.name for b in anatomy.blocks if b.attention] == [
        "down_blocks.1", "down_blocks.2", "mid_block", "up_blocks.0", "up_blocks.1",
    ]  # fmt: skip
    assert by_name["time_proj"].out_shape == (8, 32) and by_name["time_proj"].parameters == 0
    assert by_name["time_embedding"].out_shape == (8, 128)
    assert [by_name[f"down_blocks.{i}"].out_shape for i in range(3)] == [(8, 32, 14, 14), (8, 64, 7, 7), (8, 64, 7, 7)]
    assert by_name["mid_block"].out_shape == (8, 64, 7, 7)
    assert [by_name[f"up_blocks.{i}"].out_shape for i in range(3)] == [
        (8, 64, 14, 14),
        (8, 64, 28, 28),
        (8, 32, 28, 28),
    ]
    # every skip stored on the way down (conv_in + down blocks) is used on the way up
    stored = 1 + sum(b.skips for b in anatomy.blocks if b.role == "down")
    assert stored == sum(b.skips for b in anatomy.blocks if b.role == "up") == 9


def test_unet2d_knobs_change_counts_and_shapes():
    seed = unet2d_anatomy().total_parameters
    no_attention = unet2d_anatomy(attention=False)
    assert not any(b.attention for b in no_attention.blocks) and no_attention.total_parameters < seed
    deeper = unet2d_anatomy(layers_per_block=3)
    assert deeper.total_parameters > seed and sum(b.parameters for b in deeper.blocks) == deeper.total_parameters
    wider = unet2d_anatomy(block_out_channels=(32, 64, 128))
    assert wider.total_parameters > seed
    assert {b.name: b.out_shape for b in wider.blocks}["mid_block"] == (8, 128, 7, 7)
    two = unet2d_anatomy(block_out_channels=(32, 64), input_shape=(2, 3, 32, 32))
    assert two.output_shape == (2, 3, 32, 32) and len([b for b in two.blocks if b.role == "down"]) == 2
    with pytest.raises(ValueError, match="multiples of 32"):
        unet2d_anatomy(block_out_channels=(30, 64, 64))


def test_unet2d_odd_size_is_a_named_failure():
    anatomy = unet2d_anatomy(input_shape=(8, 1, 30, 30))
    assert anatomy.failure is not None and anatomy.failure.layer == "up_blocks.1"
    assert "16" in anatomy.failure.message and "15" in anatomy.failure.message
    reached = [b.name for b in anatomy.blocks if b.reached]
    assert reached[-1] == "up_blocks.0" and "up_blocks.1" not in reached
    assert sum(b.parameters for b in anatomy.blocks) == anatomy.total_parameters == 1_707_009


def test_u_diagram_draws_boxes_skips_and_the_highlight(net):
    trace = trace_basic_unet(net, torch.rand(8, 1, 28, 28), features=0)
    kinds = {k: k for k in ("input", "conv", "act", "down", "up", "skip")}
    texts = {"title": "U", "down": "down", "up": "up", "bottleneck": "bottleneck", "failed": "failed", "y": "res",
             "skip": "skip h[{index}] {shape} stored {order} popped {pop}", "stack": "h = [{items}] last {last}"}  # fmt: skip
    labels = [f"{s.path} {s.stage}: {s.kind}" for s in trace.steps]
    fig = u_diagram(trace, labels, kinds, texts, selected=16)
    boxes = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(boxes) == 24 - 6  # one box per layer step; input rows are dots
    assert sum(1 for s in boxes if s.line.color == "#dc2626") == 1  # the highlighted step
    notes = [a.text for a in fig.layout.annotations]
    assert "skip h[1] 64×14×14 stored 2 popped 1" in notes and "skip h[0] 32×28×28 stored 1 popped 2" in notes
    assert any("64×<br>7×7" in n for n in notes) and any(n.startswith("h = [32×28×28, 64×14×14]") for n in notes)
    # readable from the back of a room: no text of the diagram below 13 px
    assert min(a.font.size for a in fig.layout.annotations if a.font.size) >= 13
    assert fig.layout.yaxis.tickfont.size >= 13
    assert dict(zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext, strict=True)) == {
        0: "28×28",
        -1: "14×14",
        -2: "7×7",
    }

    failed = trace_basic_unet(net, torch.rand(8, 1, 30, 30), features=0)
    fig = u_diagram(failed, [s.kind for s in failed.steps], kinds, texts, selected=16)
    # the two shapes that differ, one per line, so the text stays inside the failure box
    assert any(a.text.endswith("64×14×14<br>≠ 64×15×15") for a in fig.layout.annotations)
    # 15×15 (stored) and 14×14 (upsampled) share one row and one tick instead of two overlapping ones
    assert dict(zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext, strict=True)) == {
        0: "30×30",
        -1: "15×15<br>14×14",
        -2: "7×7",
    }
