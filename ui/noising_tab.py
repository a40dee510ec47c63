"""Tab 2 · 加噪过程 / DDPM noising: ``DDPMScheduler.add_noise``, beta schedules and noise levels."""

from __future__ import annotations

import math
from typing import Any

import gradio as gr
import numpy as np
import torch

from diffusion_core.data import to_model_range
from diffusion_core.figures import fit_scale, histogram_figure, to_image
from diffusion_core.noise_figures import schedule_figure, snr_figure
from diffusion_core.noising import (
    BETA_SCHEDULES,
    MAX_TRAIN_TIMESTEPS,
    ScheduleConfig,
    add_noise,
    draw_noise,
    make_scheduler,
    noise_curves,
    seed_timesteps,
)
from ui.client_scrub import CHART_POINTS, both, ddpm_payload, follow, scrub_view, settled
from ui.common import TEXT as COMMON
from ui.common import after_upload, load_images, markdown, source_controls
from ui.components import number, slider
from ui.context import AppContext
from ui.errors import as_choice, as_float, as_int, as_seed, friendly
from ui.i18n import LANGUAGES, Text, normalize_language, pick

NOISE_KINDS = ("randn", "rand")
HISTOGRAM_TICKS = (0.001, 0.01, 0.1, 1.0)  # the log axis of the pixel-value histogram

TEXT: Text = {
    "tab": {"zh": "② DDPM 加噪", "en": "② DDPM noising"},
    "lesson": {
        "zh": "### DDPM 的损坏过程\n"
        "DDPM 每个时间步只加一点点噪声：$q(x_t\\mid x_{t-1}) = \\mathcal{N}(\\sqrt{1-\\beta_t}\\,x_{t-1},\\ "
        "\\beta_t I)$，$\\beta_t$ 由噪声调度（beta schedule）决定。一步步算到 $x_t$ 太慢，好在它可以一步到位："
        "$q(x_t\\mid x_0) = \\mathcal{N}(\\sqrt{\\bar\\alpha_t}\\,x_0,\\ (1-\\bar\\alpha_t) I)$，其中 "
        "$\\alpha_s = 1-\\beta_s$，$\\bar\\alpha_t = \\prod_{s=1}^{t}\\alpha_s$。"
        "`DDPMScheduler.add_noise` 做的正是这件事。随着 t 增大，$\\sqrt{\\bar\\alpha_t}$ 越来越小、"
        "$\\sqrt{1-\\bar\\alpha_t}$ 越来越大，也就是噪声越来越多。"
        "$\\bar\\alpha_t$ 是信号在方差中所占的份额，$\\sqrt{\\bar\\alpha_t}$ 是信号的幅度（乘在 $x_0$ 前的系数）。\n\n"
        "> **教程勘误**：教程把方差写成 $\\sqrt{1-\\bar\\alpha_t}\\,I$，正确的是 $(1-\\bar\\alpha_t)\\,I$"
        "（$\\sqrt{1-\\bar\\alpha_t}$ 是乘在噪声前面的**标准差**）；$\\bar\\alpha_t$ 是乘到 **t** 为止，"
        "不是乘到 T。",
        "en": "### The DDPM corruption process\n"
        "DDPM adds a little noise at each timestep: $q(x_t\\mid x_{t-1}) = \\mathcal{N}(\\sqrt{1-\\beta_t}\\,"
        "x_{t-1},\\ \\beta_t I)$, with $\\beta_t$ set by the noise schedule (the beta schedule). Stepping all the way to $x_t$ is "
        "slow, but it closes to one jump: $q(x_t\\mid x_0) = \\mathcal{N}(\\sqrt{\\bar\\alpha_t}\\,x_0,\\ "
        "(1-\\bar\\alpha_t) I)$ with $\\alpha_s = 1-\\beta_s$ and $\\bar\\alpha_t = \\prod_{s=1}^{t}\\alpha_s$. "
        "That is what `DDPMScheduler.add_noise` computes. As t grows, $\\sqrt{\\bar\\alpha_t}$ shrinks and "
        "$\\sqrt{1-\\bar\\alpha_t}$ grows: more and more noise. "
        "$\\bar\\alpha_t$ is the signal's share of the variance; $\\sqrt{\\bar\\alpha_t}$ is its amplitude "
        "(the factor in front of $x_0$).\n\n"
        "> **A slip in the tutorial**: it writes the variance as $\\sqrt{1-\\bar\\alpha_t}\\,I$; the variance "
        "is $(1-\\bar\\alpha_t)\\,I$ ($\\sqrt{1-\\bar\\alpha_t}$ is the **standard deviation** that multiplies "
        "the noise), and $\\bar\\alpha_t$ is the product up to **t**, not up to T.",
    },
    "schedule": {"zh": "beta 调度（beta_schedule）", "en": "Beta schedule (beta_schedule)"},
    "schedule_info": {
        "zh": "linear 是 DDPMScheduler 的默认；教程训练时用 squaredcos_cap_v2",
        "en": "linear is DDPMScheduler's default; the tutorial trains with squaredcos_cap_v2",
    },
    "t": {"zh": "时间步 t", "en": "Timestep t"},
    "t_info": {"zh": "0 = 几乎干净，T−1 = 几乎纯噪声", "en": "0 = almost clean, T−1 = almost pure noise"},
    "noise_kind": {"zh": "噪声类型", "en": "Noise"},
    "randn": {"zh": "randn：高斯 N(0, 1)（DDPM 用的）", "en": "randn: Gaussian N(0, 1) (what DDPM uses)"},
    "rand": {"zh": "rand：均匀 U[0, 1)（对比用）", "en": "rand: uniform U[0, 1) (for contrast)"},
    "advanced": {"zh": "高级：T 与 beta 范围", "en": "Advanced: T and the beta range"},
    "T": {"zh": "扩散时间步数 T（num_train_timesteps）", "en": "Diffusion timesteps T (num_train_timesteps)"},
    "beta_start": {"zh": "beta_start（squaredcos_cap_v2 不使用）", "en": "beta_start (unused by squaredcos_cap_v2)"},
    "beta_end": {"zh": "beta_end（squaredcos_cap_v2 不使用）", "en": "beta_end (unused by squaredcos_cap_v2)"},
    "single": {"zh": "时间步 t 时的 x_t（截断到 [-1, 1]）", "en": "x_t at timestep t (clipped to [-1, 1])"},
    "clean_row": {"zh": "干净的 X（已映射到 [-1, 1]）", "en": "Clean X (mapped to [-1, 1])"},
    "clipped_row": {
        "zh": "加噪后的 X，截断到 (-1, 1)；t = linspace(0, T−1, 8)",
        "en": "Noisy X, clipped to (-1, 1); t = linspace(0, T−1, 8)",
    },
    "raw_row": {
        "zh": "加噪后的 X，不截断（按这一行自身的最小/最大值显示）",
        "en": "Noisy X, unclipped (shown from this row's own min to max)",
    },
    "curve_title": {"zh": "噪声水平", "en": "Noise levels"},
    "curve_x": {"zh": "时间步 t", "en": "timestep t"},
    "curve_y": {"zh": "系数", "en": "coefficient"},
    "signal": {"zh": "√ᾱ_t（x₀ 的幅度系数）", "en": "√ᾱ_t (the amplitude of x₀)"},
    "noise": {"zh": "√(1−ᾱ_t)（噪声的标准差）", "en": "√(1−ᾱ_t) (the noise's std)"},
    "current": {"zh": "当前 t", "en": "current t"},
    "snr_title": {"zh": "信噪比 SNR = ᾱ_t / (1−ᾱ_t)（对数坐标）", "en": "Signal-to-noise ratio ᾱ_t / (1−ᾱ_t) (log)"},
    "snr_y": {"zh": "log₁₀ SNR", "en": "log₁₀ SNR"},
    "hist_title": {"zh": "像素值分布与标准正态 N(0, 1)", "en": "Pixel values against the standard normal N(0, 1)"},
    "hist_x": {"zh": "像素值", "en": "pixel value"},
    "hist_y": {"zh": "占比", "en": "fraction of pixels"},
    "hist_x0": {"zh": "x₀", "en": "x₀"},
    "hist_xt": {"zh": "x_t", "en": "x_t"},
    "hist_normal": {"zh": "N(0, 1) 参考", "en": "N(0, 1) reference"},
    "formula": {
        "zh": "$$x_t = \\sqrt{{\\bar\\alpha_t}}\\,x_0 + \\sqrt{{1-\\bar\\alpha_t}}\\,\\epsilon "
        "= {s:.4f}\\,x_0 + {n:.4f}\\,\\epsilon$$\n"
        "当前 **t = {t}**，$\\bar\\alpha_t$ = **{ab:.4g}**；方差 $1-\\bar\\alpha_t$ = **{var:.4g}**，信噪比 SNR = **{snr:.3g}**。"
        "这一批 x_t：均值 **{mean:.3f}**，标准差 **{std:.3f}**。",
        "en": "$$x_t = \\sqrt{{\\bar\\alpha_t}}\\,x_0 + \\sqrt{{1-\\bar\\alpha_t}}\\,\\epsilon "
        "= {s:.4f}\\,x_0 + {n:.4f}\\,\\epsilon$$\n"
        "At **t = {t}**, $\\bar\\alpha_t$ = **{ab:.4g}**; variance $1-\\bar\\alpha_t$ = **{var:.4g}**, SNR = **{snr:.3g}**. "
        "This batch of x_t: mean **{mean:.3f}**, standard deviation **{std:.3f}**.",
    },
    "formula_live": {
        "zh": '<span class="dx-eq"><i>x<sub>t</sub></i> = √<span class="dx-over">ᾱ<sub>t</sub></span> <i>x</i><sub>0</sub> '
        '+ √<span class="dx-over">1 − ᾱ<sub>t</sub></span> <i>ε</i> = {s:.4f} <i>x</i><sub>0</sub> + {n:.4f} <i>ε</i></span>'
        "当前 <b>t = {t}</b>，ᾱ<sub>t</sub> = <b>{ab:.4g}</b>；方差 1 − ᾱ<sub>t</sub> = <b>{var:.4g}</b>，"
        "信噪比 SNR = <b>{snr:.3g}</b>。这一批 x<sub>t</sub>：均值 <b>{mean:.3f}</b>，标准差 <b>{std:.3f}</b>。",
        "en": '<span class="dx-eq"><i>x<sub>t</sub></i> = √<span class="dx-over">ᾱ<sub>t</sub></span> <i>x</i><sub>0</sub> '
        '+ √<span class="dx-over">1 − ᾱ<sub>t</sub></span> <i>ε</i> = {s:.4f} <i>x</i><sub>0</sub> + {n:.4f} <i>ε</i></span>'
        "At <b>t = {t}</b>, ᾱ<sub>t</sub> = <b>{ab:.4g}</b>; variance 1 − ᾱ<sub>t</sub> = <b>{var:.4g}</b>, "
        "SNR = <b>{snr:.3g}</b>. This batch of x<sub>t</sub>: mean <b>{mean:.3f}</b>, standard deviation "
        "<b>{std:.3f}</b>.",
    },
    "batch_now": {
        "zh": "这一批 8 张图，都在当前 t 下（截断到 [-1, 1]）",
        "en": "The whole batch of 8 at the current t (clipped to [-1, 1])",
    },
    "why_randn": {
        "zh": "**为什么用 randn 和 [-1, 1]？** DDPM 假设噪声 ε 来自均值 0、方差 1 的高斯分布（`torch.randn`，"
        "取值可以是任意实数，所以显示时要截断到 [-1, 1]），并把图片从 [0, 1] 映射到 [-1, 1]（`x * 2 - 1`），"
        "让图片和噪声一样以 0 为中心、幅度相当。t 接近 T 时 x_t 变成标准正态分布 N(0, I)，原因是 "
        "$\\bar\\alpha_T \\approx 0$（linear 调度约 4×10⁻⁵）：$\\sqrt{\\bar\\alpha_T}\\,x_0$ 几乎消失，"
        "只剩 $\\sqrt{1-\\bar\\alpha_T}\\,\\epsilon \\approx \\epsilon$，这和图片的取值范围无关。"
        "所以生成时从 `torch.randn` 出发。",
        "en": "**Why randn and [-1, 1]?** DDPM assumes the noise ε is Gaussian with mean 0 and variance 1 "
        "(`torch.randn`, any real value, hence the clipping for display), and maps images from [0, 1] to "
        "[-1, 1] (`x * 2 - 1`) so that they are centred at 0 and of the same size as the noise. As t nears T, "
        "x_t becomes the standard normal N(0, I) because $\\bar\\alpha_T \\approx 0$ (about 4×10⁻⁵ for the "
        "linear schedule): $\\sqrt{\\bar\\alpha_T}\\,x_0$ all but vanishes and "
        "$\\sqrt{1-\\bar\\alpha_T}\\,\\epsilon \\approx \\epsilon$ is left, whatever the images' range. "
        "That is why sampling starts from `torch.randn`.",
    },
    "why_rand": {
        "zh": "**你选了 rand（均匀噪声）：** 它的均值是 0.5 而不是 0，方差只有 1/12。看直方图：t 很大时 x_t "
        "并不是 N(0, 1)，而是挤在 [0, 1) 里——和采样起点 `torch.randn` 对不上，这正是 DDPM 必须用 randn 的原因。",
        "en": "**You chose rand (uniform noise):** its mean is 0.5, not 0, and its variance only 1/12. See the "
        "histogram: at large t, x_t is not N(0, 1) but squeezed into [0, 1), which does not match where "
        "sampling starts (`torch.randn`). That is why DDPM needs randn.",
    },
}

NOISING_CODE = """import torch
import torchvision
from diffusers import DDPMScheduler
{data}
xb = xb * 2.0 - 1.0  # map [0, 1] -> [-1, 1]

noise_scheduler = DDPMScheduler(
    num_train_timesteps={T}, beta_schedule="{schedule}", beta_start={beta_start}, beta_end={beta_end}
)
generator = torch.Generator().manual_seed({seed})
noise = torch.{kind}(xb.shape, generator=generator)  # NB: DDPM uses randn, not rand

# The tutorial's strip: a different timestep per image
timesteps = torch.linspace(0, {T_last}, 8).long()  # {timesteps}
noisy_xb = noise_scheduler.add_noise(xb, noise, timesteps)
clipped = torchvision.utils.make_grid(noisy_xb.clip(-1, 1))

# The single view: every image at t = {t}
x_t = noise_scheduler.add_noise(xb, noise, torch.full((xb.shape[0],), {t}))
# same thing by hand: sqrt(alpha_bar_t) * x0 + sqrt(1 - alpha_bar_t) * noise
alpha_bar = noise_scheduler.alphas_cumprod[{t}]  # {alpha_bar:.6f}
assert torch.allclose(x_t, alpha_bar.sqrt() * xb + (1 - alpha_bar).sqrt() * noise, atol=1e-6)
"""

MNIST_DATA_CODE = """from torchvision import transforms

dataset = torchvision.datasets.MNIST("data", train=False, download=True, transform=transforms.ToTensor())
index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed({seed}))[:8]
xb = torch.stack([dataset[i][0] for i in index])  # (8, 1, 28, 28) in [0, 1]"""

UPLOAD_DATA_CODE = """from PIL import Image
from torchvision import transforms

xb = transforms.ToTensor()(Image.open("my_image.png").convert("RGB")).unsqueeze(0).repeat(8, 1, 1, 1)"""


def read_schedule(schedule: Any, T: Any, beta_start: Any, beta_end: Any) -> ScheduleConfig:
    """Validate the schedule widgets into a ``ScheduleConfig``."""
    return ScheduleConfig(
        beta_schedule=as_choice(schedule, "beta schedule", BETA_SCHEDULES),
        num_train_timesteps=as_int(T, "T (num_train_timesteps)", 2, MAX_TRAIN_TIMESTEPS),
        beta_start=as_float(beta_start, "beta_start", 1e-8, 0.5),
        beta_end=as_float(beta_end, "beta_end", 1e-8, 0.999),
    ).validate()


def _noise_view(source: Any, seed: Any, upload: Any, schedule: Any, T: Any, beta_start: Any, beta_end: Any,
                t: Any, noise_kind: Any, lang: str) -> tuple:  # fmt: skip
    """Checked arguments and the view's data: ``(config, t, noise_kind, seed, x, x0, noise, is_mnist)``;
    x in [0, 1] (8 digits, or an upload repeated 8 times), x0 = 2x - 1, noise drawn once from ``seed``."""
    config = read_schedule(schedule, T, beta_start, beta_end)
    t = as_int(t, "timestep t", 0, config.num_train_timesteps - 1)
    noise_kind = as_choice(noise_kind, "noise", NOISE_KINDS)
    seed = as_seed(seed)
    x, is_mnist = load_images(source, seed, upload, lang)
    x = x if is_mnist else x.repeat(8, 1, 1, 1)
    x0 = to_model_range(x)  # (8, C, H, W) in [-1, 1]
    # 1. one noise draw for the whole view, so moving t changes only the mix
    noise = draw_noise(tuple(x0.shape), noise_kind, torch.Generator().manual_seed(seed))
    return config, t, noise_kind, seed, x, x0, noise, is_mnist


def _faint_curves(config: ScheduleConfig) -> list[dict[str, list[float]]]:
    """The other schedules' sqrt(alpha_bar) and sqrt(1 - alpha_bar), about 200 points each, for context."""
    others = []
    for other in BETA_SCHEDULES:
        if other != config.beta_schedule:
            curves = noise_curves(config, beta_schedule=other)
            every = max(1, len(curves.t) // CHART_POINTS)
            others.append({
                "signal": [round(float(v), 4) for v in curves.sqrt_alpha_bar[::every]],
                "noise": [round(float(v), 4) for v in curves.sqrt_one_minus_alpha_bar[::every]],
            })  # fmt: skip
    return others


def noising_frames(
    source: Any,
    seed: Any,
    upload: Any,
    schedule: Any,
    T: Any,
    beta_start: Any,
    beta_end: Any,
    t: Any,
    noise_kind: Any,
) -> str:
    """Handler of the ``noising_frames`` API: everything the page needs to draw any t itself.

    Returns:
        A JSON string (``ui.client_scrub.ddpm_payload``): x in [0, 1] and the noise as base64 arrays, the
        scheduler's ``alphas_cumprod`` (T float32 values), shapes, t now, the formula's template and the
        chart's words in both languages, the other schedules' curves. The page computes
        ``sqrt(alpha_bar_t) * (2x - 1) + sqrt(1 - alpha_bar_t) * noise`` for every move of the slider.
    """
    config, t, _, _, x, _, noise, is_mnist = _noise_view(
        source, seed, upload, schedule, T, beta_start, beta_end, t, noise_kind, "en"
    )
    if not is_mnist:
        x, noise = x[:1], noise[:1]
    words = {lang: {key: TEXT[name][lang] for key, name in _CHART_WORDS.items()} for lang in LANGUAGES}
    chart = {"schedule": config.beta_schedule, "labels": words, "others": _faint_curves(config)}
    labels = {"single": both(TEXT, "single"), "row": both(TEXT, "batch_now")}
    alpha_bar = make_scheduler(config).alphas_cumprod
    return ddpm_payload(x, noise, alpha_bar, t, both(TEXT, "formula_live"), labels, chart)


_CHART_WORDS = {"title": "curve_title", "x": "curve_x", "signal": "signal", "noise": "noise"}


def ddpm_noise(
    source: Any,
    seed: Any,
    upload: Any,
    schedule: Any,
    T: Any,
    beta_start: Any,
    beta_end: Any,
    t: Any,
    noise_kind: Any,
    lang: Any,
) -> tuple:
    """Handler of the ``ddpm_noise`` API: widgets -> ``DDPMScheduler.add_noise`` -> pictures and charts.

    Returns:
        (x_t image, clean row, clipped row, unclipped row, schedule chart, SNR chart, histogram,
        formula markdown, explanation markdown, code).
    """
    lang = normalize_language(lang)
    # 1. one noise draw for the whole view, so moving t changes only the mix
    config, t, noise_kind, seed, _, x0, noise, is_mnist = _noise_view(
        source, seed, upload, schedule, T, beta_start, beta_end, t, noise_kind, lang
    )
    scheduler = make_scheduler(config)
    # 2. the tutorial's strip: timesteps linspace(0, T-1, 8), one per image
    strip_t = seed_timesteps(config.num_train_timesteps)
    noisy_strip, _ = add_noise(x0, strip_t, scheduler, noise=noise)
    # 3. the single view: every image at the chosen t
    x_t, _ = add_noise(x0, t, scheduler, noise=noise)

    curves = noise_curves(config)
    height, width = x0.shape[-2:]
    strip_scale = fit_scale(height, width, 56)
    images = (
        to_image(x_t[0], value_range=(-1, 1), scale=fit_scale(height, width, 112)),
        to_image(x0, value_range=(-1, 1), scale=strip_scale),
        to_image(noisy_strip, value_range=(-1, 1), scale=strip_scale),
        to_image(noisy_strip, clip=False, scale=strip_scale),
    )
    labels = {key: pick(TEXT, name, lang) for key, name in _CURVE_LABELS.items()}
    charts = (
        schedule_figure(config, t, labels),
        snr_figure(curves, t, {"title": labels["snr"], "x": labels["x"], "y": pick(TEXT, "snr_y", lang)}),
        _histogram(x0, x_t, lang),
    )
    alpha_bar = float(curves.alpha_bar[t])
    formula = pick(TEXT, "formula", lang).format(
        s=math.sqrt(alpha_bar),
        n=math.sqrt(1 - alpha_bar),
        t=t,
        ab=alpha_bar,
        var=1 - alpha_bar,
        snr=alpha_bar / max(1 - alpha_bar, 1e-12),
        mean=float(x_t.mean()),
        std=float(x_t.std()),
    )
    explanation = pick(TEXT, "why_rand" if noise_kind == "rand" else "why_randn", lang)
    code = NOISING_CODE.format(
        data=(MNIST_DATA_CODE if is_mnist else UPLOAD_DATA_CODE).format(seed=seed),
        T=config.num_train_timesteps,
        T_last=config.num_train_timesteps - 1,
        schedule=config.beta_schedule,
        beta_start=config.beta_start,
        beta_end=config.beta_end,
        seed=seed,
        kind=noise_kind,
        timesteps=strip_t.tolist(),
        t=t,
        alpha_bar=alpha_bar,
    )
    return (*images, *charts, formula, explanation, code)


_CURVE_LABELS = {
    "title": "curve_title",
    "x": "curve_x",
    "y": "curve_y",
    "signal": "signal",
    "noise": "noise",
    "current": "current",
    "snr": "snr_title",
}


def _histogram(x0: torch.Tensor, x_t: torch.Tensor, lang: str):
    value_range = (-4.0, 4.0)
    fig = histogram_figure(
        [(pick(TEXT, "hist_x0", lang), x0), (pick(TEXT, "hist_xt", lang), x_t)],
        title=pick(TEXT, "hist_title", lang),
        x_title=pick(TEXT, "hist_x", lang),
        y_title=pick(TEXT, "hist_y", lang),
        value_range=value_range,
        bins=64,
    )
    centers = np.linspace(*value_range, 200)
    bin_width = (value_range[1] - value_range[0]) / 64
    density = np.exp(-(centers**2) / 2) / math.sqrt(2 * math.pi) * bin_width
    fig.add_scatter(x=centers, y=density, mode="lines", line={"color": "#111827", "dash": "dash"},
                    name=pick(TEXT, "hist_normal", lang))  # fmt: skip
    # ticks written out from 0.001 up: plotly's "100μ" at the bottom corner ran into the x axis's "−4"
    fig.update_yaxes(
        type="log", range=[-4, 0.05], tickvals=HISTOGRAM_TICKS, ticktext=[f"{v:g}" for v in HISTOGRAM_TICKS]
    )
    return fig


def timestep_slider_update(T: Any, t: Any) -> Any:
    """Keep the timestep slider inside 0..T-1 when T changes."""
    try:
        last = as_int(T, "T", 2, MAX_TRAIN_TIMESTEPS) - 1
    except ValueError:
        return gr.update()
    try:
        value = min(int(float(t)), last)
    except (TypeError, ValueError):
        value = last
    return gr.update(maximum=last, value=value)


def build(ctx: AppContext) -> None:
    """Build the DDPM noising tab.

    The t slider is scrubbed in the page (``ui.client_scrub``): the view ``#ddpm-view`` gets x, the noise
    and the alpha_bar table once from ``/noising_frames`` when the data or the schedule change, and draws
    the image, the batch, the formula and the noise-level chart's cursor itself for every t. The server's
    ``/ddpm_noise`` redraws the strips, the SNR chart, the histogram and the code when the data change,
    the language changes or the learner lets go of the slider; its single image, schedule chart and LaTeX formula stay
    hidden outputs (the API returns them as before).
    """
    loc = ctx.loc
    with loc.widget(gr.Tab, TEXT, "tab", id="noising") as tab:  # its view is drawn when first opened (lazy_views)
        loc.text(markdown, TEXT, "lesson", elem_classes="lesson")
        with gr.Row():
            with gr.Column(scale=2):
                source, seed, _, upload = source_controls(ctx)
                schedule = loc.widget(
                    gr.Radio, TEXT, "schedule", info="schedule_info", choices=list(BETA_SCHEDULES), value="linear",
                    elem_id="ddpm-schedule",
                )  # fmt: skip
                t = loc.widget(
                    slider, TEXT, "t", info="t_info", minimum=0, maximum=999, value=250, step=1, elem_id="ddpm-t",
                    name="timestep t",
                )  # fmt: skip
                noise_kind = loc.widget(
                    gr.Radio, TEXT, "noise_kind", choices={"randn": "randn", "rand": "rand"}, value="randn",
                    elem_id="ddpm-noise-kind",
                )  # fmt: skip
                with loc.widget(gr.Accordion, TEXT, "advanced", open=False):
                    T = loc.widget(
                        number, TEXT, "T", name="T (num_train_timesteps)", value=1000, precision=0, minimum=2,
                        maximum=MAX_TRAIN_TIMESTEPS,
                    )  # fmt: skip
                    beta_start = loc.widget(
                        number, TEXT, "beta_start", name="beta_start", value=1e-4, minimum=1e-8, maximum=0.5
                    )
                    beta_end = loc.widget(
                        number, TEXT, "beta_end", name="beta_end", value=0.02, minimum=1e-8, maximum=0.999
                    )
                formula = markdown("", elem_classes="formula", elem_id="ddpm-formula", visible=False)
                explanation = markdown("", elem_id="ddpm-explanation")
            with gr.Column(scale=3):
                view = scrub_view("ddpm-view")  # filled when the tab is first opened (ui.lazy_views)
                single = gr.Image(elem_id="ddpm-single", visible=False, format="png")
                curve = gr.Plot(elem_id="ddpm-curve", show_label=False, visible=False)
        row_ids = {"clean_row": "ddpm-clean", "clipped_row": "ddpm-strip", "raw_row": "ddpm-raw"}
        rows = [
            loc.widget(gr.Image, TEXT, key, elem_classes="pixelated", height=130, format="png", elem_id=row_ids[key])
            for key in row_ids
        ]
        with gr.Row():
            snr = gr.Plot(show_label=False)
            histogram = gr.Plot(elem_id="ddpm-histogram", show_label=False)
        with loc.widget(gr.Accordion, COMMON, "code", open=False):
            code = gr.Code("", language="python")

    T.change(timestep_slider_update, [T, t], t, api_visibility="private", queue=False)
    follow(t, view)
    data_changes = [
        schedule.change,
        noise_kind.change,
        seed.change,
        source.change,
        upload.change,
        T.change,
        beta_start.change,
        beta_end.change,
    ]
    opened = ctx.openings.first_open(tab)
    after_upload([*data_changes, opened], source, upload).success(
        fn=friendly(noising_frames),
        inputs=[source, seed, upload, schedule, T, beta_start, beta_end, t, noise_kind],
        outputs=view,
        api_name="noising_frames",
        trigger_mode="always_last",
        show_progress="hidden",
    )
    # worded (titles, formula, explanation): drawn in the page's language when the tab opens, and on each switch
    after_upload([*data_changes, settled(view), ctx.openings.view_language(tab)], source, upload).success(
        fn=friendly(ddpm_noise),
        inputs=[source, seed, upload, schedule, T, beta_start, beta_end, t, noise_kind, ctx.lang],
        outputs=[single, *rows, curve, snr, histogram, formula, explanation, code],
        api_name="ddpm_noise",
        trigger_mode="always_last",
        show_progress="hidden",
    )
