"""Tab 3 · 内部结构 / Inside the UNet: the seed's shape walk through BasicUNet, live, and UNet2DModel's anatomy."""

from __future__ import annotations

import functools
from typing import Any

import gradio as gr
import pandas as pd
import torch

from diffusion_core.checkpoints import load_basic_unet
from diffusion_core.data import mnist_batch
from diffusion_core.models import BasicUNet, count_parameters
from diffusion_core.tracing import (
    MAX_BATCH,
    MAX_PIXELS,
    MAX_SIDE,
    Trace,
    failure_text,
    fit_images,
    format_shape,
    random_input,
    step_label,
    trace_basic_unet,
    unet2d_anatomy,
)
from diffusion_core.unet_figures import feature_rows, feature_strip, u_diagram
from diffusion_core.user_images import as_digit
from ui.common import TEXT as COMMON
from ui.common import markdown
from ui.components import Image, seed_number, slider
from ui.context import AppContext
from ui.errors import as_choice, as_int, as_seed, friendly
from ui.i18n import Text, normalize_language, pick

SOURCES = ("random", "mnist", "upload")
BLOCK_PRESETS = ("32,64,64", "32,32,64", "32,64,128", "64,128,128", "32,64", "32,64,64,128")
MAX_STEPS = 24  # BasicUNet's walk has 24 rows (a failed walk has fewer, plus the failed row)

TEXT: Text = {
    "tab": {"zh": "③ 内部结构", "en": "③ Inside the UNet"},
    "lesson": {
        "zh": "### 基础 UNet：看清每一层的形状\n"
        "UNet 接收一张图，**输出同样形状的预测**。它由一条“压缩路径”（下行，down_layers）和一条“扩展路径”"
        "（上行，up_layers）组成：下行时每层是 5×5 卷积 + SiLU 激活，前两层的结果存进列表 `h`，再用 2×2 最大池化"
        "把尺寸减半；上行时先上采样放大 2 倍，加上 `h.pop()` 取出的跳跃连接，再卷积 + 激活。\n\n"
        "教程说“维度变化比图像更直观”，下面就是它手写的那张形状清单，但每一行都是真的跑出来的：改批量、通道、"
        "高宽，或者换成真实数字、你自己的图片，表格和 U 形图会立刻更新。用 **第几步** 滑块（或点表格的一行）"
        "高亮某一步，看它在 U 形图里的位置和它的特征图。\n\n"
        "> **教程勘误：** ① `list.pop()` 取出并删除的是列表的**最后一个**元素，不是头部。所以后存入的"
        "64×14×14 先被加回去，先存入的 32×28×28 最后才用，这正是“后进先出”的栈。"
        "② 原文“在下采样时候，输入先经过上行路径……”应为“在**上采样**时候”：上行路径先经过第一个卷积层 + 激活"
        "函数，之后每一层都是先上采样、加上跳跃连接，再卷积。",
        "en": "### BasicUNet: the shape of every step\n"
        "A UNet takes an image and **returns a prediction of the same shape**. It has a contracting path "
        "(down, `down_layers`) and an expanding path (up, `up_layers`): going down, each layer is a 5×5 "
        "convolution + SiLU; the first two results are stored in a list `h`, then a 2×2 max-pool halves the "
        "size. Going up, the map is upsampled ×2, the skip connection from `h.pop()` is added, then conv + "
        "activation.\n\n"
        "The tutorial says the shapes show the flow more clearly than pictures; below is its hand-written list "
        "of shapes, but every row is computed live: change the batch, channels, height or width, or use real "
        "digits or your own image, and the table and the U diagram update. Use the **step** slider (or click a "
        "table row) to highlight a step in the diagram and see its feature maps.\n\n"
        "> **Correction to the tutorial:** (1) `list.pop()` removes and returns the **last** element, not the "
        "first. So the skip stored last (64×14×14) is added first and the one stored first (32×28×28) last: "
        'a last-in-first-out stack. (2) Where it says the input "goes through the up path when '
        'downsampling", it means **upsampling**: the up path starts with a conv + activation, then each layer '
        "upsamples, adds the skip, and convolves.",
    },
    "source": {"zh": "输入", "en": "Input"},
    "source_random": {"zh": "随机张量 torch.rand", "en": "Random tensor torch.rand"},
    "source_mnist": {"zh": "真实的 MNIST 数字", "en": "Real MNIST digits"},
    "source_upload": {"zh": "上传自己的图片", "en": "Upload your own image"},
    "batch": {"zh": "批量 B", "en": "Batch size B"},
    "channels": {"zh": "通道 C", "en": "Channels C"},
    "height": {"zh": "高 H", "en": "Height H"},
    "width": {"zh": "宽 W", "en": "Width W"},
    "size_info": {
        "zh": "试试 30：第一次跳跃连接会因为形状不同而失败",
        "en": "Try 30: the first skip connection fails because the shapes differ",
    },
    "step": {"zh": "第几步（高亮）", "en": "Step to highlight"},
    "step_info": {"zh": "也可以点击表格中的一行", "en": "or click a row of the table"},
    "upload": {
        "zh": "上传图片（变成 MNIST 风格的灰度数字）",
        "en": "Upload an image (turned into an MNIST-like digit)",
    },
    "need_upload": {"zh": "请先上传一张图片", "en": "Please upload an image first"},
    "table": {
        "zh": "逐步的形状（和教程的清单一一对应）",
        "en": "Shape of every step (row for row the tutorial's list)",
    },
    "col_mark": {"zh": "▶", "en": "▶"},
    "col_index": {"zh": "#", "en": "#"},
    "col_step": {"zh": "步骤", "en": "Step"},
    "col_path": {"zh": "路径", "en": "Path"},
    "col_layer": {"zh": "层", "en": "Layer"},
    "col_in": {"zh": "输入形状", "en": "Input shape"},
    "col_out": {"zh": "输出形状", "en": "Output shape"},
    "col_params": {"zh": "参数量", "en": "Parameters"},
    "col_note": {"zh": "说明", "en": "Note"},
    "path_down": {"zh": "下行", "en": "down"},
    "path_up": {"zh": "上行", "en": "up"},
    "note_conv": {"zh": "{a} → {b} 通道", "en": "{a} → {b} channels"},
    "note_act": {"zh": "SiLU，不改变形状", "en": "SiLU, shape unchanged"},
    "note_down": {"zh": "2×2 最大池化，尺寸减半", "en": "2×2 max-pool halves the size"},
    "note_up": {"zh": "最近邻上采样，放大 2 倍", "en": "nearest upsampling ×2"},
    "note_skip": {
        "zh": "加上 h.pop() = 第 {src} 步的输出（第 {pop} 个取出）",
        "en": "adds h.pop() = output of step {src} (popped {pop_en})",
    },
    "note_stored": {"zh": "★ 存入 h[{i}]", "en": "★ stored as h[{i}]"},
    "note_failed": {"zh": "✗ 失败", "en": "✗ failed"},
    "total": {"zh": "合计", "en": "Total"},
    "ok": {
        "zh": "✅ {shape} 顺利走完 {n} 步，输出 {out}，和输入同形状。BasicUNet（{c} 通道）共有 **{params:,}** 个参数"
        "（教程：1 通道时 309057）。",
        "en": "✅ {shape} passed all {n} steps; the output {out} has the input's shape. BasicUNet ({c} channel(s)) "
        "has **{params:,}** parameters (tutorial: 309057 for 1 channel).",
    },
    "kept": {
        "zh": "\n\n前 {n} 步照常完成，保留在表格中；失败的一步标为 ✗。",
        "en": "\n\nThe first {n} steps worked and are kept in the table; the failed one is marked ✗.",
    },
    "diagram": {"zh": "U 形结构（实时形状）", "en": "The U (live shapes)"},
    "diagram_down": {"zh": "下行路径", "en": "down path"},
    "diagram_up": {"zh": "上行路径", "en": "up path"},
    "diagram_bottleneck": {"zh": "瓶颈（最小尺寸）", "en": "bottleneck (smallest size)"},
    "diagram_skip": {
        "zh": "跳跃 h[{index}] = {shape}：第 {order} 个存入，第 {pop} 个取出",
        "en": "skip h[{index}] = {shape}: stored {order}, popped {pop}",
    },
    "diagram_stack": {
        "zh": "h = [{items}]　·　h.pop() 取最后一个：后进先出，先加回 {last}",
        "en": "h = [{items}]  ·  h.pop() takes the last one: last in, first out, so {last} is added first",
    },
    "diagram_failed": {"zh": "失败", "en": "failed"},
    "diagram_y": {"zh": "分辨率", "en": "resolution"},
    "kind_input": {"zh": "输入", "en": "input"},
    "kind_conv": {"zh": "卷积", "en": "conv"},
    "kind_act": {"zh": "激活", "en": "SiLU"},
    "kind_down": {"zh": "下采样", "en": "pool"},
    "kind_up": {"zh": "上采样", "en": "upsample"},
    "kind_skip": {"zh": "+跳跃", "en": "+skip"},
    "selected_maps": {
        "zh": "所选步骤的特征图（第 1 张图的前 8 个通道）",
        "en": "Feature maps of the selected step (image 1, first 8 channels)",
    },
    "stage_rows": {
        "zh": "从上到下每一行是一个阶段：{names}。每行是第 1 张图的前 8 个通道，各自拉伸到黑-白。",
        "en": "Top to bottom, one row per stage: {names}. Each row shows the first 8 channels of image 1, "
        "each stretched to black-white.",
    },
    "stage_maps": {"zh": "每个阶段的特征图（激活之后）", "en": "Feature maps of each stage (after the activation)"},
    "anatomy_title": {
        "zh": "### diffusers 的 UNet2DModel：逐块解剖",
        "en": "### diffusers' UNet2DModel, block by block",
    },
    "anatomy_lesson": {
        "zh": "教程后面换成了 diffusers 的 `UNet2DModel`，参数从 309057（30 万）变成 1707009（170 万）。下表用**同一个输入"
        "形状**（上面的 B、C、H、W）逐块跑一遍（在 meta 设备上，只算形状不占内存），列出每一块的输出形状和参数量，"
        "合计就是整个模型的参数量。调一调下面的旋钮，看数字怎么变。",
        "en": "Later the tutorial switches to diffusers' `UNet2DModel`: 1707009 parameters (1.7 M) instead of "
        "309057 (0.3 M). The table runs it block by block on **the same input shape** (B, C, H, W above), on "
        "the meta device (shapes only, no memory), with each block's output shape and parameters; they add up "
        "to the whole model. Turn the knobs below and watch the numbers change.",
    },
    "blocks": {"zh": "block_out_channels（每层通道数）", "en": "block_out_channels"},
    "layers": {"zh": "layers_per_block（每块的 ResNet 层数）", "en": "layers_per_block (ResNet layers per block)"},
    "attention": {
        "zh": "使用注意力（AttnDownBlock2D / AttnUpBlock2D）",
        "en": "Use attention (AttnDown/AttnUpBlock2D)",
    },
    "a_block": {"zh": "模块", "en": "Block"},
    "a_type": {"zh": "类型", "en": "Type"},
    "a_out": {"zh": "输出形状", "en": "Output shape"},
    "a_attn": {"zh": "注意力", "en": "Attention"},
    "a_resnets": {"zh": "ResNet 层（接收时间嵌入）", "en": "ResNet layers (get the time embedding)"},
    "a_skips": {"zh": "跳跃连接", "en": "Skips"},
    "a_params": {"zh": "参数量", "en": "Parameters"},
    "skips_store": {"zh": "存入 {n} 个", "en": "stores {n}"},
    "skips_use": {"zh": "取出 {n} 个", "en": "uses {n}"},
    "time_path": {
        "zh": "**时间步嵌入的路径：** t {t_shape} → `time_proj`（正弦位置编码，0 个参数）{p_shape} → `time_embedding`"
        "（两层 MLP，{e_params:,} 个参数）{e_shape} → 加进每一个 ResNet 层：下行 {down} 个、中间 {mid} 个、上行 {up} 个，"
        "共 {total} 处。BasicUNet 没有这条路径：它不知道噪声有多大。\n\n"
        "**合计 {params:,} 个参数**（各块之和；教程的配置是 1707009）。{status}",
        "en": "**The timestep-embedding path:** t {t_shape} → `time_proj` (sinusoidal, 0 parameters) {p_shape} → "
        "`time_embedding` (a two-layer MLP, {e_params:,} parameters) {e_shape} → added inside every ResNet layer: "
        "{down} down, {mid} mid, {up} up, {total} in all. BasicUNet has no such path: it is not told how noisy "
        "its input is.\n\n**Total {params:,} parameters** (the sum of the blocks; the tutorial's config has "
        "1707009). {status}",
    },
    "anatomy_ok": {"zh": "输出形状 {out}，与输入相同。", "en": "Output shape {out}, the same as the input."},
    "anatomy_failed": {
        "zh": "❌ 这个尺寸走不通：`{layer}` 失败（{message}）。UNet2DModel 每个下采样块把尺寸减半（向上取整），"
        "上行时拼接的跳跃连接必须同样大。",
        "en": "❌ This size cannot pass: `{layer}` failed ({message}). Each downsampling block halves the size "
        "(rounding up) and the skips concatenated on the way up must match.",
    },
    "compare": {
        "zh": "| | BasicUNet（教程第一部分） | UNet2DModel（教程的 DDPM 部分） |\n|---|---|---|\n"
        "| 参数量 | {basic:,} | {unet:,} |\n"
        "| 归一化 | 无 | 每块输入做组归一化（GroupNorm） |\n"
        "| 正则化 | 无 | Dropout，让训练更平滑 |\n"
        "| 每层结构 | 一个 5×5 卷积 + SiLU | 每块 {layers} 个 ResNet 层（带残差） |\n"
        "| 注意力 | 无 | {attn} |\n"
        "| 时间步条件 | 无（只输入噪声图） | 时间步 t → 嵌入，送进每个 ResNet 层 |\n"
        "| 下采样 / 上采样 | 最大池化 / 最近邻放大（无参数） | 可学习的卷积下采样 / 上采样 |\n"
        "| 跳跃连接 | 相加（`x + h.pop()`），2 个 | 按通道拼接（concat），{skips} 个 |",
        "en": "| | BasicUNet (first part of the tutorial) | UNet2DModel (the tutorial's DDPM part) |\n|---|---|---|\n"
        "| Parameters | {basic:,} | {unet:,} |\n"
        "| Normalisation | none | GroupNorm on each block's input |\n"
        "| Regularisation | none | dropout, for smoother training |\n"
        "| Each layer | one 5×5 conv + SiLU | {layers} ResNet layers (residual) per block |\n"
        "| Attention | none | {attn} |\n"
        "| Timestep conditioning | none (sees only the noisy image) | t → embedding, fed to every ResNet layer |\n"
        "| Down / up sampling | max-pool / nearest upsampling (no parameters) | learned conv down/upsamplers |\n"
        "| Skip connections | added (`x + h.pop()`), 2 | concatenated along channels, {skips} |",
    },
    "attn_on": {
        "zh": "低分辨率的块用自注意力（省内存）",
        "en": "self-attention in the low-resolution blocks (saves memory)",
    },
    "attn_off": {"zh": "（已关闭）", "en": "(switched off)"},
}

CODE_TEMPLATE = """import torch
from torch import nn

class BasicUNet(nn.Module):  # the tutorial's model, without the prints
    def __init__(self, in_channels=1, out_channels=1):
        super().__init__()
        self.down_layers = nn.ModuleList([nn.Conv2d(in_channels, 32, 5, padding=2),
                                          nn.Conv2d(32, 64, 5, padding=2), nn.Conv2d(64, 64, 5, padding=2)])
        self.up_layers = nn.ModuleList([nn.Conv2d(64, 64, 5, padding=2),
                                        nn.Conv2d(64, 32, 5, padding=2), nn.Conv2d(32, out_channels, 5, padding=2)])
        self.act = nn.SiLU()
        self.downscale = nn.MaxPool2d(2)
        self.upscale = nn.Upsample(scale_factor=2)

    def forward(self, x):
        h = []
        for i, l in enumerate(self.down_layers):
            x = self.act(l(x))
            if i < 2:
                h.append(x)           # store for a skip connection
                x = self.downscale(x)
        for i, l in enumerate(self.up_layers):
            if i > 0:
                x = self.upscale(x)
                x = x + h.pop()       # pop() takes the LAST stored map: last in, first out
            x = self.act(l(x))
        return x

net = BasicUNet({channels}, {channels})
{data}

# Print every layer's shapes with forward hooks: no prints inside the model
def show(module, inputs, output):
    print(f"{{module.__class__.__name__:10s}} {{tuple(inputs[0].shape)}} -> {{tuple(output.shape)}}")

hooks = [m.register_forward_hook(show) for m in net.modules() if not list(m.children())]
with torch.no_grad():
    y = net(x)  # {outcome}
for hook in hooks:
    hook.remove()
print(sum(p.numel() for p in net.parameters()))  # {params}

# The diffusers model of the tutorial's DDPM part
from diffusers import UNet2DModel
model = UNet2DModel(sample_size={height}, in_channels={channels}, out_channels={channels}, layers_per_block={layers},
                    block_out_channels={blocks}, down_block_types={down}, up_block_types={up}, add_attention={attention})
print(sum(p.numel() for p in model.parameters()))  # {unet_params}
for name, block in [("down", b) for b in model.down_blocks] + [("mid", model.mid_block)] + [("up", b) for b in model.up_blocks]:
    print(name, type(block).__name__, sum(p.numel() for p in block.parameters()))
"""

DATA_RANDOM = "x = torch.rand({b}, {c}, {h}, {w}, generator=torch.Generator().manual_seed({seed}))"
DATA_MNIST = """import torchvision
from torchvision import transforms
dataset = torchvision.datasets.MNIST("data", train=False, download=True, transform=transforms.ToTensor())
index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed({seed}))[:{b}]
x = torch.stack([dataset[i][0] for i in index])  # ({b}, 1, 28, 28) real digits{resize}"""
DATA_UPLOAD = """from PIL import Image
from torchvision import transforms
img = Image.open("my_image.png").convert("L").resize(({w}, {h}))
x = transforms.ToTensor()(img).unsqueeze(0).repeat({b}, {c}, 1, 1)  # ({b}, {c}, {h}, {w})"""


@functools.lru_cache(maxsize=1)
def _trained_weights() -> dict[str, torch.Tensor] | None:
    """The bundled trained BasicUNet's weights (read-only), or None when it is not there."""
    try:
        return load_basic_unet().state_dict()
    except ValueError:
        return None


def _model(channels: int) -> BasicUNet:
    """A fresh BasicUNet for C channels (never shared: the trace puts hooks on it).

    One channel: the bundled trained weights when present, so the feature maps of a real digit
    mean something. Otherwise a fixed initialisation (seed 0), so the maps do not flicker.
    """
    weights = _trained_weights() if channels == 1 else None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = BasicUNet(channels, channels)
    if weights is not None:
        model.load_state_dict(weights)
    return model.eval()


def _inputs(source: str, seed: int, batch: int, channels: int, height: int, width: int, upload: Any, lang: str):
    if source == "random":
        return random_input(batch, channels, height, width, torch.Generator().manual_seed(seed))
    if source == "mnist":
        images = mnist_batch(min(batch, 64), seed)[0]
        return fit_images(images, batch, channels, height, width)
    if not upload:
        raise ValueError(pick(TEXT, "need_upload", lang))
    return fit_images(as_digit(upload), batch, channels, height, width)


def _note(step, steps, lang: str) -> str:
    if step.kind == "conv":
        text = pick(TEXT, "note_conv", lang).format(a=step.in_shape[1], b=step.out_shape[1])
    elif step.kind in ("act", "down", "up"):
        text = pick(TEXT, f"note_{step.kind}", lang)
    elif step.kind == "skip" and step.skip_source is not None:
        pop = sum(1 for s in steps[: step.index + 1] if s.kind == "skip")
        text = pick(TEXT, "note_skip", lang).format(
            src=step.skip_source + 1, pop=pop, pop_en="first" if pop == 1 else ("second" if pop == 2 else f"#{pop}")
        )
    else:
        text = ""
    if step.stored:
        text += ("，" if lang == "zh" else "; ") + pick(TEXT, "note_stored", lang).format(i=step.stored_order - 1)
    return text.lstrip("，; ")


def _table(trace: Trace, selected: int, lang: str) -> Any:
    columns = [
        pick(TEXT, key, lang)
        for key in (
            "col_mark",
            "col_index",
            "col_step",
            "col_path",
            "col_layer",
            "col_in",
            "col_out",
            "col_params",
            "col_note",
        )
    ]
    rows = []
    for step in trace.steps:
        rows.append(
            [
                "▶" if step.index == selected else "",
                step.index + 1,
                step_label(step, lang),
                pick(TEXT, f"path_{step.path}", lang) if step.path else "",
                f"{step.layer}: {step.module}" if step.layer and step.module != "add" else step.layer,
                format_shape(step.in_shape),
                format_shape(step.out_shape),
                f"{step.parameters:,}" if step.parameters else "",
                _note(step, trace.steps, lang),
            ]
        )
    if trace.failure:
        failure = trace.failure
        rows.append(
            [
                "▶" if failure.index == selected else "",
                failure.index + 1,
                step_label(failure, lang),
                pick(TEXT, f"path_{failure.path}", lang) if failure.path else "",
                failure.layer,
                " + ".join(format_shape(s) for s in failure.shapes),
                "✗",
                "",
                pick(TEXT, "note_failed", lang),
            ]
        )
    rows.append(["", "", pick(TEXT, "total", lang), "", "", "", "", f"{trace.total_parameters:,}", ""])
    frame = pd.DataFrame(rows, columns=columns)
    failure_row = trace.failure.index if trace.failure else -1

    def colour(row: pd.Series) -> list[str]:
        if row.name == selected:
            return ["background-color: #fde68a; font-weight: 600"] * len(row)
        if row.name == failure_row:
            return ["background-color: #fecaca"] * len(row)
        return [""] * len(row)

    return frame.style.apply(colour, axis=1)


def _texts(lang: str) -> tuple[dict[str, str], dict[str, str]]:
    kinds = {kind: pick(TEXT, f"kind_{kind}", lang) for kind in ("input", "conv", "act", "down", "up", "skip")}
    texts = {
        "title": pick(TEXT, "diagram", lang),
        "down": pick(TEXT, "diagram_down", lang),
        "up": pick(TEXT, "diagram_up", lang),
        "bottleneck": pick(TEXT, "diagram_bottleneck", lang),
        "skip": pick(TEXT, "diagram_skip", lang),
        "stack": pick(TEXT, "diagram_stack", lang),
        "failed": pick(TEXT, "diagram_failed", lang),
        "y": pick(TEXT, "diagram_y", lang),
    }
    return kinds, texts


def trace_shapes(
    source: Any, seed: Any, batch: Any, channels: Any, height: Any, width: Any, upload: Any, step: Any, lang: Any
) -> tuple:
    """Handler of the ``trace_shapes`` API: walk the chosen input through BasicUNet.

    Returns:
        (step table, U diagram, summary markdown, selected step's feature maps, stage feature maps
        (one row per stage), their caption, code).
    """
    lang = normalize_language(lang)
    # 1. validate every value before anything is allocated
    source = as_choice(source, "source", SOURCES)
    seed = as_seed(seed)
    batch = as_int(batch, "batch", 1, MAX_BATCH)
    channels = as_int(channels, "channels", 1, 3)
    height = as_int(height, "height", 1, MAX_SIDE)
    width = as_int(width, "width", 1, MAX_SIDE)
    step = as_int(step, "step", 1, MAX_STEPS + 1) - 1
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if batch * height * width > MAX_PIXELS:
        raise ValueError(f"batch × height × width = {batch * height * width:,} is too large (at most {MAX_PIXELS:,})")

    # 2. the input, the model, the walk
    x = _inputs(source, seed, batch, channels, height, width, upload, lang)
    model = _model(channels)
    trace = trace_basic_unet(model, x)
    last = trace.failure.index if trace.failure else len(trace.steps) - 1
    selected = min(step, last)

    # 3. table, diagram, text
    labels = [step_label(s, lang) for s in trace.steps]
    kinds, texts = _texts(lang)
    failure_label = step_label(trace.failure, lang) if trace.failure else ""
    diagram = u_diagram(trace, labels, kinds, texts, selected=selected, failure_label=failure_label)
    shape = format_shape(tuple(x.shape))
    if trace.ok:
        summary = pick(TEXT, "ok", lang).format(
            shape=shape,
            n=len(trace.steps),
            out=format_shape(trace.output_shape),
            c=channels,
            params=trace.total_parameters,
        )
    else:
        summary = "❌ " + failure_text(trace.failure, lang) + pick(TEXT, "kept", lang).format(n=len(trace.steps))

    # 4. feature maps: the selected step, and each stage after its activation
    chosen = trace.steps[min(selected, len(trace.steps) - 1)]
    selected_maps = feature_strip(chosen.features, cell=64) if chosen.features is not None else None
    stages = [s for s in trace.steps if s.features is not None and (s.kind == "act" or s.index == 0)]
    stage_maps = feature_rows([s.features for s in stages], cell=40) if stages else None
    stage_names = (
        "；".join(step_label(s, lang) for s in stages)
        if lang == "zh"
        else "; ".join(step_label(s, lang) for s in stages)
    )
    stage_caption = pick(TEXT, "stage_rows", lang).format(names=stage_names)
    code = _code(source, seed, batch, channels, height, width, trace, lang)
    return _table(trace, selected, lang), diagram, summary, selected_maps, stage_maps, stage_caption, code


def _code(source: str, seed: int, b: int, c: int, h: int, w: int, trace: Trace, lang: str, anatomy=None) -> str:
    if source == "random":
        data = DATA_RANDOM.format(b=b, c=c, h=h, w=w, seed=seed)
    elif source == "mnist":
        resize = ""
        if (h, w) != (28, 28) or c != 1:
            resize = (
                f"\nx = nn.functional.interpolate(x, size=({h}, {w}), mode='bilinear')" if (h, w) != (28, 28) else ""
            )
            if c == 3:
                resize += "\nx = x.repeat(1, 3, 1, 1)"
        data = DATA_MNIST.format(b=b, seed=seed, resize=resize)
    else:
        data = DATA_UPLOAD.format(b=b, c=c, h=h, w=w)
    outcome = f"-> {format_shape(trace.output_shape)}" if trace.ok else f"RuntimeError: {trace.failure.message}"
    from diffusion_core.tracing import unet2d_config

    config = unet2d_config()
    return CODE_TEMPLATE.format(
        channels=c,
        data=data,
        outcome=outcome,
        params=f"{trace.total_parameters}",
        height=h,
        layers=config["layers_per_block"],
        blocks=config["block_out_channels"],
        down=config["down_block_types"],
        up=config["up_block_types"],
        attention=True,
        unet_params="1707009 with these settings",
    )


def anatomy_view(
    blocks: Any, layers: Any, attention: Any, batch: Any, channels: Any, height: Any, width: Any, lang: Any
) -> tuple:
    """Handler of the ``unet2d_anatomy`` API: UNet2DModel block by block for the same input shape.

    Returns:
        (block table, time-path and total markdown, comparison markdown).
    """
    lang = normalize_language(lang)
    blocks = as_choice(blocks, "block_out_channels", BLOCK_PRESETS)
    layers = as_int(layers, "layers_per_block", 1, 3)
    if not isinstance(attention, bool):
        raise ValueError(f"attention must be true or false, got {attention!r}")
    batch = as_int(batch, "batch", 1, MAX_BATCH)
    channels = as_int(channels, "channels", 1, 3)
    height = as_int(height, "height", 1, MAX_SIDE)
    width = as_int(width, "width", 1, MAX_SIDE)
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    anatomy = unet2d_anatomy(
        tuple(int(v) for v in blocks.split(",")), layers, attention, (batch, channels, height, width)
    )
    columns = [
        pick(TEXT, k, lang) for k in ("a_block", "a_type", "a_out", "a_attn", "a_resnets", "a_skips", "a_params")
    ]
    rows = []
    failed = anatomy.failure.layer if anatomy.failure else None
    for block in anatomy.blocks:
        skips = ""
        if block.role == "down" or block.name == "conv_in":
            skips = pick(TEXT, "skips_store", lang).format(n=block.skips if block.role == "down" else 1)
        elif block.role == "up":
            skips = pick(TEXT, "skips_use", lang).format(n=block.skips)
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
    frame = pd.DataFrame(rows, columns=columns)

    by_name = {b.name: b for b in anatomy.blocks}
    resnets = {role: sum(b.resnets for b in anatomy.blocks if b.role == role) for role in ("down", "mid", "up")}
    status = (
        pick(TEXT, "anatomy_ok", lang).format(out=format_shape(anatomy.output_shape))
        if anatomy.failure is None
        else pick(TEXT, "anatomy_failed", lang).format(layer=anatomy.failure.layer, message=anatomy.failure.message)
    )
    time_path = pick(TEXT, "time_path", lang).format(
        t_shape=f"({batch},)",
        p_shape=format_shape(by_name["time_proj"].out_shape) if "time_proj" in by_name else "",
        e_shape=format_shape(by_name["time_embedding"].out_shape) if "time_embedding" in by_name else "",
        e_params=by_name["time_embedding"].parameters if "time_embedding" in by_name else 0,
        down=resnets["down"],
        mid=resnets["mid"],
        up=resnets["up"],
        total=sum(resnets.values()),
        params=anatomy.total_parameters,
        status=status,
    )
    compare = pick(TEXT, "compare", lang).format(
        basic=count_parameters(_model(channels)),
        unet=anatomy.total_parameters,
        layers=layers,
        attn=pick(TEXT, "attn_on" if attention else "attn_off", lang),
        skips=sum(b.skips for b in anatomy.blocks if b.role == "up"),
    )
    return frame, time_path, compare


def build(ctx: AppContext) -> None:
    """Build the Inside-the-UNet tab."""
    loc = ctx.loc
    first = trace_shapes("random", 0, 8, 1, 28, 28, None, 1, "zh")
    first_anatomy = anatomy_view(BLOCK_PRESETS[0], 2, True, 8, 1, 28, 28, "zh")
    with gr.Tab(pick(TEXT, "tab", "zh"), id="inside") as tab:
        loc.label(tab, TEXT, "tab")
        loc.value(markdown(pick(TEXT, "lesson", "zh"), elem_classes="lesson"), TEXT, "lesson")
        with gr.Row():
            with gr.Column(scale=2):
                source = gr.Radio(
                    [(pick(TEXT, f"source_{s}", "zh"), s) for s in SOURCES],
                    value="random",
                    label=pick(TEXT, "source", "zh"),
                    elem_id="inside-source",
                )
                loc.choices(source, TEXT, {s: f"source_{s}" for s in SOURCES}, label_key="source")
                with gr.Row():
                    seed = seed_number(pick(COMMON, "seed", "zh"), min_width=100)
                    loc.label(seed, COMMON, "seed")
                    channels = gr.Radio([1, 3], value=1, label=pick(TEXT, "channels", "zh"), elem_id="inside-channels")
                    loc.label(channels, TEXT, "channels")
                upload = Image(
                    type="filepath",
                    image_mode=None,
                    label=pick(TEXT, "upload", "zh"),
                    visible=False,
                    height=180,
                    sources=["upload", "clipboard"],
                )
                loc.label(upload, TEXT, "upload")
            with gr.Column(scale=3):
                batch = slider(
                    1, MAX_BATCH, value=8, step=1, label=pick(TEXT, "batch", "zh"), name="batch", elem_id="inside-batch"
                )
                loc.label(batch, TEXT, "batch")
                with gr.Row():
                    height = slider(
                        4,
                        256,
                        value=28,
                        step=1,
                        label=pick(TEXT, "height", "zh"),
                        info=pick(TEXT, "size_info", "zh"),
                        name="height",
                        elem_id="inside-height",
                    )
                    loc.label(height, TEXT, "height", "size_info")
                    width = slider(
                        4, 256, value=28, step=1, label=pick(TEXT, "width", "zh"), name="width", elem_id="inside-width"
                    )
                    loc.label(width, TEXT, "width")
                step = slider(
                    1,
                    MAX_STEPS,
                    value=1,
                    step=1,
                    label=pick(TEXT, "step", "zh"),
                    info=pick(TEXT, "step_info", "zh"),
                    name="step",
                    elem_id="inside-step",
                )
                loc.label(step, TEXT, "step", "step_info")
        summary = markdown(first[2], elem_id="inside-summary")
        diagram = gr.Plot(first[1], elem_id="inside-diagram", show_label=False)
        with gr.Row():
            with gr.Column(scale=3):
                selected_maps = gr.Image(
                    first[3],
                    label=pick(TEXT, "selected_maps", "zh"),
                    elem_id="inside-maps",
                    elem_classes="pixelated",
                    height=120,
                    format="png",
                )
                loc.label(selected_maps, TEXT, "selected_maps")
                stage_caption = gr.Markdown(first[5], elem_id="inside-stage-caption")
            with gr.Column(scale=2):
                stage_maps = gr.Image(
                    first[4],
                    label=pick(TEXT, "stage_maps", "zh"),
                    elem_id="inside-stage-maps",
                    elem_classes="pixelated",
                    height=330,
                    format="png",
                )
                loc.label(stage_maps, TEXT, "stage_maps")
        table = gr.Dataframe(
            first[0],
            label=pick(TEXT, "table", "zh"),
            elem_id="inside-table",
            interactive=False,
            wrap=True,
            max_height=1000,
            column_widths=["3%", "4%", "15%", "5%", "24%", "12%", "12%", "7%", "18%"],
        )
        loc.label(table, TEXT, "table")

        loc.value(gr.Markdown(pick(TEXT, "anatomy_title", "zh")), TEXT, "anatomy_title")
        loc.value(markdown(pick(TEXT, "anatomy_lesson", "zh"), elem_classes="lesson"), TEXT, "anatomy_lesson")
        with gr.Row():
            blocks = gr.Dropdown(
                list(BLOCK_PRESETS), value=BLOCK_PRESETS[0], label=pick(TEXT, "blocks", "zh"), elem_id="inside-blocks"
            )
            loc.label(blocks, TEXT, "blocks")
            layers = slider(
                1,
                3,
                value=2,
                step=1,
                label=pick(TEXT, "layers", "zh"),
                name="layers_per_block",
                elem_id="inside-layers",
            )
            loc.label(layers, TEXT, "layers")
            attention = gr.Checkbox(True, label=pick(TEXT, "attention", "zh"), elem_id="inside-attention")
            loc.label(attention, TEXT, "attention")
        anatomy_table = gr.Dataframe(first_anatomy[0], interactive=False, elem_id="inside-anatomy", show_label=False)
        time_path = markdown(first_anatomy[1], elem_id="inside-time-path")
        compare = markdown(first_anatomy[2], elem_id="inside-compare")
        with gr.Accordion(pick(COMMON, "code", "zh"), open=False) as accordion:
            code = gr.Code(first[6], language="python")
        loc.label(accordion, COMMON, "code")

    source.change(lambda s: gr.update(visible=s == "upload"), source, upload, api_visibility="private", queue=False)
    gr.on(
        triggers=[
            source.change,
            seed.change,
            batch.change,
            channels.change,
            height.change,
            width.change,
            upload.change,
            step.change,
            ctx.lang.change,
        ],
        fn=friendly(trace_shapes),
        inputs=[source, seed, batch, channels, height, width, upload, step, ctx.lang],
        outputs=[table, diagram, summary, selected_maps, stage_maps, stage_caption, code],
        api_name="trace_shapes",
        trigger_mode="always_last",
        show_progress="hidden",
    )
    gr.on(
        triggers=[
            blocks.change,
            layers.change,
            attention.change,
            batch.change,
            channels.change,
            height.change,
            width.change,
            ctx.lang.change,
        ],
        fn=friendly(anatomy_view),
        inputs=[blocks, layers, attention, batch, channels, height, width, ctx.lang],
        outputs=[anatomy_table, time_path, compare],
        api_name="unet2d_anatomy",
        trigger_mode="always_last",
        show_progress="hidden",
    )

    def pick_row(event: gr.SelectData) -> Any:
        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        return gr.update(value=min(MAX_STEPS, int(row) + 1))

    table.select(pick_row, None, step, api_visibility="private", queue=False)
