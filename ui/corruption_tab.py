"""Tab 1 · 损坏过程 / Corruption: the tutorial's ``corrupt(x, amount)`` with uniform noise."""

from __future__ import annotations

from typing import Any

import gradio as gr
import torch

from diffusion_core import corruption
from diffusion_core.figures import fit_scale, histogram_figure, to_image
from ui.client_scrub import both, follow, mix_payload, scrub_view, settled
from ui.common import TEXT as COMMON
from ui.common import after_upload, load_images, markdown, source_controls
from ui.components import slider
from ui.context import AppContext
from ui.errors import as_float, as_seed, friendly
from ui.i18n import Text, normalize_language, pick
from ui.lazy_views import uses_no_deferred_module

TEXT: Text = {
    "tab": {"zh": "① 损坏过程", "en": "① Corruption"},
    "lesson": {
        "zh": "### 一种简单的损坏（加噪）过程\n"
        "最简单的加噪办法：把图片和噪声按比例混合，$x_{noisy} = (1-amount)\\cdot x + amount\\cdot noise$。"
        "amount = 0 时原样返回输入；amount = 1 时只剩噪声，看不出原图的痕迹；介于两者之间，就像调节颜色的"
        "不透明度。这里的噪声来自 `torch.rand`，是 [0, 1) 上的**均匀分布**，所以混合结果仍在 0 到 1 之间。\n\n"
        "拖动 **amount** 滑块看单张图的变化；下面两行复现教程的图：上面是原图，下面的 amount 从左到右由 0 "
        "均匀增加到 1（`torch.linspace(0, 1, 8)`，形状 (8,)，经 `view(-1, 1, 1, 1)` 广播到 (8, 1, 1, 1)）。",
        "en": "### A simple corruption process\n"
        "The simplest way to add noise: mix the image with noise by an amount, "
        "$x_{noisy} = (1-amount)\\cdot x + amount\\cdot noise$. "
        "At amount = 0 the input comes back unchanged; at amount = 1 only noise is left, with no trace of the "
        "input; in between it works like opacity. The noise comes from `torch.rand`, **uniform** on [0, 1), "
        "so the mix stays between 0 and 1.\n\n"
        "Drag **amount** to watch one image; the two rows below reproduce the tutorial's figure: the clean "
        "inputs on top, and below them amounts growing from 0 to 1 left to right (`torch.linspace(0, 1, 8)`, "
        "shape (8,), broadcast to (8, 1, 1, 1) by `view(-1, 1, 1, 1)`).",
    },
    "amount": {"zh": "amount（噪声比例）", "en": "amount (noise fraction)"},
    "amount_info": {"zh": "0 = 原图，1 = 纯噪声", "en": "0 = the input, 1 = pure noise"},
    "single": {"zh": "当前 amount 下的第一张图", "en": "The first image at the current amount"},
    "clean_row": {"zh": "输入数据 Input data", "en": "Input data"},
    "noisy_row": {
        "zh": "损坏后的数据（amount 从左到右 0 → 1）",
        "en": "Corrupted data (amount increases left to right, 0 → 1)",
    },
    "hist_title": {"zh": "像素值分布", "en": "Pixel values"},
    "hist_x": {"zh": "像素值", "en": "pixel value"},
    "hist_y": {"zh": "占比", "en": "fraction of pixels"},
    "hist_clean": {"zh": "原图 x", "en": "input x"},
    "hist_noise": {"zh": "噪声 U[0,1)", "en": "noise U[0,1)"},
    "hist_mixed": {"zh": "混合结果", "en": "mix"},
    "formula": {
        "zh": "$$x_{{noisy}} = (1-{a:.2f})\\cdot x + {a:.2f}\\cdot noise = {keep:.2f}\\,x + {a:.2f}\\,noise$$\n"
        "其中 $noise \\sim U[0, 1)$。原图保留 **{keep_pct:.0f}%**，噪声占 **{a_pct:.0f}%**。混合后的像素仍在 [0, 1] 内"
        "（这一批：最小 {low:.3f}，最大 {high:.3f}）。",
        "en": "$$x_{{noisy}} = (1-{a:.2f})\\cdot x + {a:.2f}\\cdot noise = {keep:.2f}\\,x + {a:.2f}\\,noise$$\n"
        "with $noise \\sim U[0, 1)$. **{keep_pct:.0f}%** of the input is kept and the noise makes up **{a_pct:.0f}%**. The mix stays in "
        "[0, 1] (this batch: min {low:.3f}, max {high:.3f}).",
    },
    "formula_live": {
        "zh": '<span class="dx-eq"><i>x</i><sub>noisy</sub> = (1 − {a:.2f})·<i>x</i> + {a:.2f}·<i>noise</i> '
        "= {keep:.2f} <i>x</i> + {a:.2f} <i>noise</i></span>"
        "其中 <i>noise</i> ~ U[0, 1)。原图保留 <b>{keep_pct:.0f}%</b>，噪声占 <b>{a_pct:.0f}%</b>。混合后的像素仍在 "
        "[0, 1] 内（这一批：最小 {low:.3f}，最大 {high:.3f}）。",
        "en": '<span class="dx-eq"><i>x</i><sub>noisy</sub> = (1 − {a:.2f})·<i>x</i> + {a:.2f}·<i>noise</i> '
        "= {keep:.2f} <i>x</i> + {a:.2f} <i>noise</i></span>"
        "with <i>noise</i> ~ U[0, 1). <b>{keep_pct:.0f}%</b> of the input is kept and the noise makes up "
        "<b>{a_pct:.0f}%</b>. The mix stays in [0, 1] (this batch: min {low:.3f}, max {high:.3f}).",
    },
    "batch_now": {
        "zh": "这一批 8 张图，都在当前 amount 下（每张的噪声不同）",
        "en": "The whole batch of 8 at the current amount (each with its own noise)",
    },
}

CORRUPT_CODE = """import torch
import torchvision
from torchvision import transforms

# The tutorial's corruption: mix x with uniform noise by `amount` (0 = input, 1 = noise).
def corrupt(x, amount, generator=None):
    noise = torch.rand(x.shape, generator=generator)
    amount = amount.view(-1, 1, 1, 1)  # (B,) -> (B, 1, 1, 1) so it broadcasts
    return x * (1 - amount) + noise * amount

{data}
generator = torch.Generator().manual_seed({seed})

# The single view: every image at amount = {amount:.2f}
x_noisy = corrupt(x, torch.full((x.shape[0],), {amount:.2f}), generator)

# The tutorial's figure: amount from 0 to 1 across the batch
generator = torch.Generator().manual_seed({seed})
amount = torch.linspace(0, 1, x.shape[0])  # tensor([0.0000, 0.1429, ..., 1.0000])
noised_x = corrupt(x, amount, generator)
grid = torchvision.utils.make_grid(noised_x)  # the lower row above
"""

MNIST_DATA_CODE = """# 8 digits of the MNIST test set, picked with seed {seed}
dataset = torchvision.datasets.MNIST("data", train=False, download=True, transform=transforms.ToTensor())
index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed({seed}))[:8]
x = torch.stack([dataset[i][0] for i in index])  # (8, 1, 28, 28) in [0, 1]"""

UPLOAD_DATA_CODE = """# your image as a tensor (1, C, H, W) in [0, 1]
from PIL import Image
x = transforms.ToTensor()(Image.open("my_image.png").convert("RGB")).unsqueeze(0)
x = x.repeat(8, 1, 1, 1)  # the same image 8 times for the strip"""


def _noisy_batch(source: Any, seed: Any, upload: Any, lang: str) -> tuple[torch.Tensor, torch.Tensor, bool, int]:
    """The view's data: ``(x, noise, is_mnist, seed)``; x (8, 1, 28, 28) digits or an upload repeated 8 times,
    noise ``torch.rand`` of x's shape from ``seed`` (drawn once, so moving the slider only changes the mix)."""
    seed = as_seed(seed)
    x, is_mnist = load_images(source, seed, upload, lang)
    strip = x if is_mnist else x.repeat(8, 1, 1, 1)
    return strip, torch.rand(strip.shape, generator=torch.Generator().manual_seed(seed)), is_mnist, seed


@uses_no_deferred_module  # the page's first picture: drawn while diffusers and torchvision import
def corruption_frames(source: Any, seed: Any, amount: Any, upload: Any) -> str:
    """Handler of the ``corruption_frames`` API: everything the page needs to draw any amount itself.

    Returns:
        A JSON string (``ui.client_scrub.mix_payload``): x and the noise as base64 arrays (8 digits: x as
        bytes, the noise as float32), their shape, the amount now, and the formula's template in both
        languages. The page computes ``(1 - a) * x + a * noise`` for every move of the slider. An upload is
        sent once with the noise of its first copy only (the row of 8 copies is left to the server's strip).
    """
    amount = as_float(amount, "amount", 0.0, 1.0)
    x, noise, is_mnist, _ = _noisy_batch(source, seed, upload, "en")
    if not is_mnist:
        x, noise = x[:1], noise[:1]
    labels = {"single": both(TEXT, "single"), "row": both(TEXT, "batch_now")}
    return mix_payload(x, noise, amount, both(TEXT, "formula_live"), labels)


def corrupt(source: Any, seed: Any, amount: Any, upload: Any, lang: Any) -> tuple:
    """Handler of the ``corrupt`` API: widgets -> core ``corrupt`` -> pictures.

    Returns:
        (single image, clean row, corrupted row, histogram figure, formula markdown, code).
    """
    lang = normalize_language(lang)
    amount = as_float(amount, "amount", 0.0, 1.0)
    # 1. one noise draw, reused, so moving the slider only changes the mix
    strip, noise, is_mnist, seed = _noisy_batch(source, seed, upload, lang)
    x = strip[:1] if not is_mnist else strip
    # 2. the single view at the chosen amount, and the tutorial's linspace(0, 1, 8) strip
    mixed = corruption.corrupt(strip, amount, noise=noise)
    strip_noised = corruption.corrupt(strip, torch.linspace(0, 1, strip.shape[0]), noise=noise)

    height, width = x.shape[-2:]
    single = to_image(mixed[0], scale=fit_scale(height, width, 112))
    strip_scale = fit_scale(height, width, 56)
    clean_row = to_image(strip, scale=strip_scale)
    noisy_row = to_image(strip_noised, scale=strip_scale)
    histogram = histogram_figure(
        [
            (pick(TEXT, "hist_clean", lang), strip),
            (pick(TEXT, "hist_noise", lang), noise),
            (pick(TEXT, "hist_mixed", lang), mixed),
        ],
        title=f"{pick(TEXT, 'hist_title', lang)} (amount = {amount:.2f})",
        x_title=pick(TEXT, "hist_x", lang),
        y_title=pick(TEXT, "hist_y", lang),
    )
    formula = pick(TEXT, "formula", lang).format(
        a=amount,
        keep=1 - amount,
        keep_pct=(1 - amount) * 100,
        a_pct=amount * 100,
        low=float(mixed.min()),
        high=float(mixed.max()),
    )
    data = (MNIST_DATA_CODE if is_mnist else UPLOAD_DATA_CODE).format(seed=seed)
    code = CORRUPT_CODE.format(data=data, seed=seed, amount=amount)
    return single, clean_row, noisy_row, histogram, formula, code


def build(ctx: AppContext) -> None:
    """Build the Corruption tab.

    The amount slider is scrubbed in the page (``ui.client_scrub``): the view ``#corrupt-view`` gets the
    data once from ``/corruption_frames`` when the images or the seed change, and draws every move itself.
    The server's ``/corrupt`` redraws the strips, the histogram and the code when the data change, the
    language changes or the learner lets go of the slider (the view's ``settle``); its single image and LaTeX formula stay
    hidden outputs (the API returns them as before), the page shows the live ones.
    """
    loc = ctx.loc
    # the first tab's view is drawn when the page loads, not at build time (ui.lazy_views)
    with loc.widget(gr.Tab, TEXT, "tab", id="corruption"):
        loc.text(markdown, TEXT, "lesson", elem_classes="lesson")
        with gr.Row():
            with gr.Column(scale=2):
                source, seed, _, upload = source_controls(ctx)
                amount = loc.widget(
                    slider, TEXT, "amount", info="amount_info", minimum=0, maximum=1, value=0.3, step=0.01,
                    elem_id="corrupt-amount", name="amount",
                )  # fmt: skip
                formula = markdown("", elem_classes="formula", elem_id="corrupt-formula", visible=False)
            with gr.Column(scale=3):
                view = scrub_view("corrupt-view")  # filled when the page loads (ui.lazy_views)
                single = gr.Image(elem_id="corrupt-single", visible=False, format="png")
        clean_row = loc.widget(gr.Image, TEXT, "clean_row", elem_classes="pixelated", height=130, format="png")
        noisy_row = loc.widget(
            gr.Image, TEXT, "noisy_row", elem_classes="pixelated", elem_id="corrupt-strip",
            height=130, format="png",
        )  # fmt: skip
        histogram = gr.Plot(elem_id="corrupt-histogram", show_label=False)
        with loc.widget(gr.Accordion, COMMON, "code", open=False):
            code = gr.Code("", language="python")

    follow(amount, view)
    data_changes = [seed.change, source.change, upload.change]
    after_upload([*data_changes, ctx.page_load], source, upload).success(
        fn=friendly(corruption_frames),
        inputs=[source, seed, amount, upload],
        outputs=view,
        api_name="corruption_frames",
        trigger_mode="always_last",
        show_progress="hidden",
    )
    ctx.after_all_tabs(
        lambda: after_upload([*data_changes, settled(view), ctx.lang.change, ctx.page_load], source, upload).success(
            fn=friendly(corrupt),
            inputs=[source, seed, amount, upload, ctx.lang],
            outputs=[single, clean_row, noisy_row, histogram, formula, code],
            api_name="corrupt",
            trigger_mode="always_last",
            show_progress="hidden",
        )
    )
