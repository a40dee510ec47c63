"""Tab 6 · 对比 / Compare: measured sample quality, samplers side by side, objectives, failure modes.

Four sections, each read widgets -> call ``diffusion_core.evaluation`` -> draw:

1. quality vs steps for DDPM / DDIM / DPM-Solver++ / Euler, precomputed by
   ``python -m diffusion_core eval`` (``assets/quality_curves.json``), with a small live recompute
   (API ``quality``);
2. x0-prediction (BasicUNet) vs noise-prediction (UNet2DModel) on the same digits at matched
   noise levels, with per-image MSE (API ``quality_objectives``);
3. the DDPM loss per timestep and its implicit weighting (API ``quality_loss_t``);
4. the failure-mode lab (API ``quality_failures``).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import gradio as gr
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from diffusion_core import evaluation as ev
from diffusion_core.data import mnist_batch
from diffusion_core.device import gpu_seconds, gpu_task, pick_device
from diffusion_core.figures import PALETTE, style_figure, to_image
from ui.common import TEXT as COMMON
from ui.common import markdown
from ui.components import checkbox_group, seed_number, slider
from ui.context import AppContext
from ui.errors import as_choice, as_int, as_seed, friendly
from ui.i18n import Text, normalize_language, pick

LIVE_STEPS = (1, 2, 5, 10, 20, 50)  # step counts the live recompute offers
LIVE_MAX_N = 64
DEVICE = str(pick_device()) if torch.cuda.is_available() else "cpu"  # as the Sampling tab
SAMPLER_NAMES = {"ddpm": "DDPM", "ddim": "DDIM", "dpm++": "DPM-Solver++", "euler": "Euler"}
LAB_MODES = ("rand", "no_scaling", "few_steps", "undertrained")  # the toggles; "correct" is always shown
LAB_SAMPLERS = ("ddim", "dpm++", "euler", "ddpm")
OBJECTIVE_CURVE_T = (50, 150, 250, 350, 450, 550, 650, 750, 850, 950)

TEXT: Text = {
    "tab": {"zh": "⑥ 对比", "en": "⑥ Compare"},
    "lesson": {
        "zh": "### 生成得好不好？用数字说话\n"
        "前面几页靠眼睛判断生成的数字。这一页给出**测量值**，并把不同的采样器、不同的训练目标放在一起比。\n\n"
        "- **特征分类器**：本项目用自带的 1 万张 MNIST 训练的小 CNN（留出集准确率见下一行）。它倒数第二层的 "
        "128 个数就是一张图的“特征”。\n"
        "- **Fréchet 距离（FD）**：分别用高斯分布拟合生成图和真实图的特征，再比较两个高斯："
        "$FD = \\|\\mu_g-\\mu_r\\|^2 + \\mathrm{Tr}\\big(\\Sigma_g+\\Sigma_r-2(\\Sigma_g\\Sigma_r)^{1/2}\\big)$，越小越好。"
        "这就是 FID 的算法，只是把 Inception 网络换成了 MNIST 分类器。\n"
        "- **下限（floor）**：样本少时，哪怕两组都是真实数字，FD 也不是 0。所以每个 FD 旁边都给出**同样张数的真实数字**"
        "的 FD——这是完美的生成器在这个张数下能拿到的成绩。\n"
        "- **平均置信度**：分类器对每张图给出的最大 softmax 概率的平均。真实数字约 0.98，认不出是几的图会低得多。\n"
        "- **类别均衡度**：预测类别分布的熵除以 $\\log 10$。1 表示十个数字一样多，0 表示只会生成一种数字（模式坍塌）。",
        "en": "### How good are the samples? Numbers, not adjectives\n"
        "The earlier tabs let your eyes judge the digits. This one **measures** them, and puts samplers and "
        "training objectives side by side.\n\n"
        "- **Feature classifier**: a small CNN trained by this project on the bundled 10k MNIST digits "
        "(held-out accuracy on the line below). The 128 numbers of its penultimate layer are an image's *features*.\n"
        "- **Fréchet distance (FD)**: fit a Gaussian to the features of the generated and of the real digits and "
        "compare them: $FD = \\|\\mu_g-\\mu_r\\|^2 + \\mathrm{Tr}\\big(\\Sigma_g+\\Sigma_r-2(\\Sigma_g\\Sigma_r)^{1/2}\\big)$; "
        "lower is better. This is FID with the Inception network swapped for an MNIST classifier.\n"
        "- **Floor**: with few samples even two sets of *real* digits are not at FD 0, so every FD comes with the FD "
        "of **as many real digits**: the score a perfect generator would get at that n.\n"
        "- **Mean confidence**: the classifier's largest softmax probability, averaged. About 0.98 on real digits; "
        "much lower on images that are no recognisable digit.\n"
        "- **Class balance**: the entropy of the predicted classes divided by $\\log 10$. 1 = all ten digits equally "
        "often, 0 = a single digit (mode collapse).",
    },
    "curves_title": {"zh": "#### ① 采样质量 vs 步数", "en": "#### ① Quality vs sampling steps"},
    "curves_text": {
        "zh": "同一个模型（自带的 DDPM 检查点）、同一组起始噪声，只换调度器和步数。DDPM 是祖先采样，每一步都重新加一点随机噪声；"
        "DDIM（eta = 0）、DPM-Solver++ 和 Euler 更像沿着一条确定的轨迹求解。看哪条曲线先贴近虚线（下限），"
        "就知道哪个采样器用更少的步数（= 更少的模型调用）达到同样的质量。横轴是对数刻度。",
        "en": "Same model (the bundled DDPM checkpoint), same starting noise; only the scheduler and the step count "
        "change. DDPM is ancestral: it adds fresh noise at every step. DDIM (eta = 0), DPM-Solver++ and Euler follow "
        "a deterministic path instead. The curve that reaches the dashed floor first needs the fewest steps "
        "(= model calls) for that quality. The x axis is logarithmic.",
    },
    "live_samplers": {"zh": "采样器", "en": "Samplers"},
    "live_steps": {"zh": "步数", "en": "Steps"},
    "live_n": {"zh": "每个点的样本数 n", "en": "Samples per point n"},
    "live_n_info": {
        "zh": "n 越小越快，但 FD 的下限越高（CPU 上 32 张约需数十秒）",
        "en": "Smaller n is faster but raises the FD floor (32 samples take tens of seconds on a CPU)",
    },
    "seed": {"zh": "随机种子", "en": "Random seed"},
    "live_button": {"zh": "▶ 现场重算（小规模）", "en": "▶ Recompute live (small)"},
    "precomputed": {
        "zh": "**预先计算的曲线**：每点 n = {n} 张，种子 {seed}，{created}，机器：{machine}。真实数字的 FD 下限 {floor:.1f}，"
        "真实数字的置信度 {real_conf:.3f}、均衡度 {real_bal:.3f}。{partial}",
        "en": "**Precomputed curves**: n = {n} per point, seed {seed}, {created}, machine: {machine}. FD floor of real "
        "digits {floor:.1f}; real digits score confidence {real_conf:.3f} and balance {real_bal:.3f}. {partial}",
    },
    "missing_curves": {
        "zh": "还没有预先计算的曲线（`assets/quality_curves.json`）：运行 `python -m diffusion_core eval`，或用下面的按钮现场算一个小版本。",
        "en": "No precomputed curves yet (`assets/quality_curves.json`): run `python -m diffusion_core eval`, "
        "or compute a small version live with the button below.",
    },
    "partial": {
        "zh": "（这次运行中途停止了，只有部分点。）",
        "en": "(This run was stopped early: some points are missing.)",
    },
    "table": {"zh": "数值表", "en": "Table of numbers"},
    "live_done": {
        "zh": "**现场结果**：每点 n = {n} 张，种子 {seed}，共 {seconds:.0f} 秒。",
        "en": "**Live result**: n = {n} per point, seed {seed}, {seconds:.0f} s in all.",
    },
    "col_sampler": {"zh": "采样器", "en": "sampler"},
    "col_steps": {"zh": "步数", "en": "steps"},
    "col_n": {"zh": "n", "en": "n"},
    "col_fd": {"zh": "FD", "en": "FD"},
    "col_floor": {"zh": "下限", "en": "floor"},
    "col_conf": {"zh": "置信度", "en": "confidence"},
    "col_bal": {"zh": "均衡度", "en": "balance"},
    "col_sec": {"zh": "采样秒数", "en": "sampling s"},
    "fig_fd": {"zh": "FD（越低越好）", "en": "FD (lower is better)"},
    "fig_conf": {"zh": "平均置信度", "en": "mean confidence"},
    "fig_bal": {"zh": "类别均衡度", "en": "class balance"},
    "fig_steps": {"zh": "采样步数", "en": "sampling steps"},
    "fig_floor": {"zh": "真实数字（下限 / 参考）", "en": "real digits (floor / reference)"},
    "objectives_title": {"zh": "#### ② 预测 x0 还是预测噪声？", "en": "#### ② Predict x0 or predict the noise?"},
    "objectives_text": {
        "zh": "教程里 BasicUNet 直接预测干净图像 $x_0$，而 DDPM 的 UNet2DModel 预测加进去的噪声 $\\epsilon$。"
        "预测出的噪声也能换算成对 $x_0$ 的猜测：$\\hat x_0 = (x_t - \\sqrt{1-\\bar\\alpha_t}\\,\\hat\\epsilon)/\\sqrt{\\bar\\alpha_t}$。"
        "这里把**同一批数字**在**相同的噪声强度**下交给两个模型。每个模型加的是它训练时见过的噪声"
        "（BasicUNet：均匀噪声 `rand`；DDPM：高斯噪声 `randn`），强度按**信噪比**对齐：DDPM 在 t 时 "
        "$\\mathrm{SNR}=\\bar\\alpha_t/(1-\\bar\\alpha_t)$，均匀噪声的标准差是 amount$/\\sqrt{12}$，"
        "两边信噪比相等时 amount $= 1/(1+\\sqrt{\\mathrm{SNR}/3})$。MSE 在 [0, 1] 像素尺度上计算，越小越好。",
        "en": "In the tutorial BasicUNet predicts the clean image $x_0$ directly, while DDPM's UNet2DModel predicts the "
        "noise $\\epsilon$ that was added. A noise prediction also implies a guess of $x_0$: "
        "$\\hat x_0 = (x_t - \\sqrt{1-\\bar\\alpha_t}\\,\\hat\\epsilon)/\\sqrt{\\bar\\alpha_t}$. Here **the same digits** go "
        "to both models at **matched noise levels**. Each model gets the noise it was trained with (BasicUNet: uniform "
        "`rand`; DDPM: Gaussian `randn`), matched by **signal-to-noise ratio**: DDPM has "
        "$\\mathrm{SNR}=\\bar\\alpha_t/(1-\\bar\\alpha_t)$ at t, uniform noise has standard deviation amount$/\\sqrt{12}$, "
        "and the two ratios are equal at amount $= 1/(1+\\sqrt{\\mathrm{SNR}/3})$. MSE is on the [0, 1] pixel scale; "
        "lower is better.",
    },
    "t": {"zh": "DDPM 时间步 t", "en": "DDPM timestep t"},
    "t_info": {"zh": "t 越大噪声越多", "en": "larger t = more noise"},
    "objectives_button": {"zh": "▶ 比较两个模型", "en": "▶ Compare the two models"},
    "row_clean": {"zh": "干净的数字 x0", "en": "clean digits x0"},
    "row_basic_in": {"zh": "BasicUNet 的输入 corrupt(x0, amount)", "en": "BasicUNet input corrupt(x0, amount)"},
    "row_basic_out": {"zh": "BasicUNet 直接猜的 x0", "en": "BasicUNet's direct x0 guess"},
    "row_ddpm_in": {"zh": "UNet2DModel 的输入 x_t", "en": "UNet2DModel input x_t"},
    "row_ddpm_out": {"zh": "UNet2DModel 由噪声换算出的 x0", "en": "UNet2DModel's implied x0 (from the noise)"},
    "objectives_summary": {
        "zh": "t = {t}：信噪比 SNR = {snr:.3g}，同样信噪比下 BasicUNet 的 amount = {amount:.3f}。"
        "平均 MSE：BasicUNet **{basic:.4f}**，UNet2DModel **{ddpm:.4f}**；{wins} 张图上 UNet2DModel 更准（共 {n} 张）。",
        "en": "t = {t}: SNR = {snr:.3g}; BasicUNet's amount at the same SNR = "
        "{amount:.3f}. Mean MSE: BasicUNet **{basic:.4f}**, UNet2DModel **{ddpm:.4f}**; UNet2DModel is closer on "
        "{wins} of {n} images.",
    },
    "mse_image": {"zh": "图", "en": "image"},
    "fig_objective": {"zh": "对 x0 的猜测误差 vs 噪声强度", "en": "Error of the x0 guess vs noise level"},
    "fig_objective_x": {
        "zh": "DDPM 时间步 t（BasicUNet 用同样信噪比的 amount）",
        "en": "DDPM timestep t (BasicUNet at the amount with the same SNR)",
    },
    "fig_objective_y": {"zh": "平均 MSE（[0, 1] 像素）", "en": "mean MSE ([0, 1] pixels)"},
    "loss_title": {"zh": "#### ③ 每个时间步的损失", "en": "#### ③ Loss per timestep"},
    "loss_text": {
        "zh": "训练时 t 均匀抽取，损失是 $\\mathrm{MSE}(\\hat\\epsilon, \\epsilon)$。把同一个误差换算到 $x_0$ 上，它等于 "
        "$\\mathrm{SNR}(t)\\cdot\\mathrm{MSE}(\\hat x_0, x_0)$，其中 $\\mathrm{SNR}(t)=\\bar\\alpha_t/(1-\\bar\\alpha_t)$。"
        "也就是说，“预测噪声”这个目标暗含一种加权：t 小（噪声少）时，$x_0$ 上的一点点误差会被放大成很大的损失；"
        "t 大时，$x_0$ 猜错很多也只算一点损失。教程说调度器要“给不明显的噪声更多权重”，指的就是这件事。"
        "蓝线高的地方，就是模型觉得难的 t。",
        "en": "Training draws t uniformly and minimises $\\mathrm{MSE}(\\hat\\epsilon, \\epsilon)$. Written on $x_0$, the "
        "same error is $\\mathrm{SNR}(t)\\cdot\\mathrm{MSE}(\\hat x_0, x_0)$ with "
        "$\\mathrm{SNR}(t)=\\bar\\alpha_t/(1-\\bar\\alpha_t)$. So predicting the noise carries an implicit weighting: "
        "at small t (little noise) a tiny $x_0$ error becomes a large loss; at large t a big $x_0$ error costs little. "
        "This is the weighting the tutorial hints at. Where the blue line is high, the model finds t hard.",
    },
    "loss_n": {"zh": "图片数", "en": "Images"},
    "loss_points": {"zh": "测量多少个 t", "en": "How many t to measure"},
    "loss_button": {"zh": "▶ 测量损失", "en": "▶ Measure the loss"},
    "fig_loss": {"zh": "DDPM 模型每个时间步的损失", "en": "The DDPM model's loss per timestep"},
    "fig_loss_y": {"zh": "噪声 MSE", "en": "noise MSE"},
    "fig_loss_y2": {"zh": "x0 MSE（对数刻度）", "en": "x0 MSE (log scale)"},
    "fig_loss_x": {"zh": "时间步 t", "en": "timestep t"},
    "series_noise": {"zh": "噪声 MSE（训练损失）", "en": "noise MSE (the training loss)"},
    "series_x0": {"zh": "x0 MSE = 噪声 MSE / SNR（右轴）", "en": "x0 MSE = noise MSE / SNR (right axis)"},
    "loss_summary": {
        "zh": "{n} 张图、{k} 个 t。噪声 MSE 最高在 t = {hard_t}（{hard:.3f}），最低在 t = {easy_t}（{easy:.3f}）；"
        "所有 t 的平均 {mean:.3f}（≈ 均匀抽 t 时的训练损失）。",
        "en": "{n} images, {k} timesteps. The noise MSE is highest at t = {hard_t} ({hard:.3f}) and lowest at t = "
        "{easy_t} ({easy:.3f}); its mean over t is {mean:.3f} (≈ the training loss with t drawn uniformly).",
    },
    "lab_title": {"zh": "#### ④ 失败模式实验室", "en": "#### ④ Failure-mode lab"},
    "lab_text": {
        "zh": "打开一个开关，看看犯这个错会怎样。每一格都和“正确做法”用同一个种子、同一个模型，只改一处；下面的数字是分类器量出来的。",
        "en": "Turn on a toggle to see what that mistake does. Every grid uses the same seed and model as the "
        "correct run and changes one thing; the numbers under it are measured by the classifier.",
    },
    "lab_modes": {"zh": "要看的错误", "en": "Mistakes to show"},
    "mode_rand": {"zh": "用 rand 代替 randn", "en": "rand instead of randn"},
    "mode_no_scaling": {"zh": "没有 [-1, 1] 缩放", "en": "no [-1, 1] scaling"},
    "mode_few_steps": {"zh": "采样步数太少", "en": "too few sampling steps"},
    "mode_undertrained": {"zh": "训练不足（早期检查点）", "en": "undertrained (early checkpoint)"},
    "lab_sampler": {"zh": "采样器", "en": "Sampler"},
    "lab_steps": {"zh": "正确做法的步数", "en": "Steps of the correct run"},
    "lab_few": {"zh": "“步数太少”用几步", "en": "Steps for “too few steps”"},
    "lab_n": {"zh": "每格图片数", "en": "Images per grid"},
    "lab_button": {"zh": "▶ 生成对比", "en": "▶ Generate"},
    "label_correct": {"zh": "正确做法", "en": "Correct"},
    "measured": {
        "zh": "置信度 {conf:.2f}，均衡度 {bal:.2f}，输出范围 [{low:.2f}, {high:.2f}]",
        "en": "confidence {conf:.2f}, balance {bal:.2f}, output range [{low:.2f}, {high:.2f}]",
    },
    "say_correct": {
        "zh": "从 `torch.randn` 出发，{sampler} 采样 {steps} 步，再用 `x * 0.5 + 0.5` 从 [-1, 1] 映射回 [0, 1] 显示。",
        "en": "Start from `torch.randn`, sample {steps} {sampler} steps, then map [-1, 1] back to [0, 1] with `x * 0.5 + 0.5`.",
    },
    "say_rand": {
        "zh": "`torch.rand` 的噪声在 [0, 1) 上均匀分布（均值 0.5、标准差 0.29），而模型是在 N(0, I) 的噪声上训练的："
        "起点偏亮、噪声又太小，模型把它当成了另一种东西，生成的结果随之跑偏。",
        "en": "`torch.rand` noise is uniform on [0, 1) (mean 0.5, std 0.29), but the model was trained on N(0, I) noise: "
        "the start is too bright and too quiet, the model reads it as something else, and the samples drift off.",
    },
    "say_no_scaling": {
        "zh": "模型在 [-1, 1] 里工作；忘了 `x * 0.5 + 0.5` 就把输出当成 [0, 1] 显示，所有负值（背景和笔画的柔和边缘）都被截成黑色，"
        "笔画变细、变硬。",
        "en": "The model works in [-1, 1]; shown as [0, 1] without `x * 0.5 + 0.5`, every negative value (the "
        "background and the soft edges of strokes) is clipped to black, so the strokes come out thin and hard.",
    },
    "say_few_steps": {
        "zh": "只走 {few} 步：每一步要去掉的噪声太多，模型的猜测来不及变清楚，结果要么是模糊的“平均”样子，要么还留着噪声。",
        "en": "Only {few} steps: each step must remove too much noise at once, so the guess never sharpens: the "
        "result is a blurry average or still noisy.",
    },
    "say_undertrained": {
        "zh": "训练早期（第 {step} 步）保存的检查点：模型还没学会数字的形状，用同样的采样也只能得到模糊的笔画。",
        "en": "An early checkpoint (step {step}): the model has not learned the shapes of digits yet, so the same "
        "sampler gives only vague strokes.",
    },
    "say_undertrained_missing": {
        "zh": "没有找到早期检查点：训练命令要加 `--save-every N` 才会在 `assets/checkpoints/ddpm_mnist/early/` 里保存。",
        "en": "No early checkpoint found: the training CLI saves one to `assets/checkpoints/ddpm_mnist/early/` only "
        "with `--save-every N`.",
    },
    "need_sampler": {"zh": "请至少选一个采样器", "en": "choose at least one sampler"},
    "need_steps": {"zh": "请至少选一个步数", "en": "choose at least one step count"},
}

_KEYS_MODES = {mode: f"mode_{mode}" for mode in LAB_MODES}


# ----------------------------------------------------------------------------------------------
# Read-only bundled models (cached), and small helpers
# ----------------------------------------------------------------------------------------------


def _ddpm():
    from diffusion_core.sampling import bundled_ddpm

    return bundled_ddpm(DEVICE)


def _basic():
    from diffusion_core.sampling import bundled_basic_unet

    return bundled_basic_unet(DEVICE)


@functools.lru_cache(maxsize=1)
def _early_unet() -> tuple[Any, int] | None:
    """The earliest bundled DDPM checkpoint (``ddpm_mnist/early/step_*``) and its step, or None."""
    from diffusion_core.checkpoints import load_ddpm_pipeline

    found = ev.early_checkpoints()
    if not found:
        return None
    pipeline = load_ddpm_pipeline(found[0], device=DEVICE)
    for parameter in pipeline.unet.parameters():
        parameter.requires_grad_(False)
    return pipeline.unet, int(found[0].name.split("_")[-1])


def _check_list(values: Any, name: str, choices: tuple) -> list:
    if values is None:
        values = []
    if isinstance(values, (str, int, float)):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"{name} must be a list, got {values!r}")
    return [as_choice(value, name, choices) for value in values]


def _classifier_accuracy() -> str:
    import json

    try:
        log = json.loads((ev.CLASSIFIER_DIR / ev.CLASSIFIER_LOG).read_text())
        return f"{log['heldout_accuracy']:.3f}"
    except (OSError, KeyError, ValueError):
        return "?"


# ----------------------------------------------------------------------------------------------
# 1. Quality vs steps
# ----------------------------------------------------------------------------------------------


def curves_figure(points: list[dict], floor: float | None, real: dict | None, lang: str) -> go.Figure:
    """Three panels (FD, confidence, class balance) against steps, one line per sampler."""
    fig = style_figure(
        make_subplots(
            rows=1,
            cols=3,
            subplot_titles=(pick(TEXT, "fig_fd", lang), pick(TEXT, "fig_conf", lang), pick(TEXT, "fig_bal", lang)),
            horizontal_spacing=0.08,
        ),
        "",
        "",
        "",
    )
    grouped = ev.curves_by_sampler({"points": points})
    for index, sampler in enumerate(s for s in ev.SAMPLERS if s in grouped):
        series = grouped[sampler]
        color = PALETTE[index % len(PALETTE)]
        steps = [p["steps"] for p in series]
        for col, key in enumerate(("fd", "confidence", "class_balance"), start=1):
            fig.add_scatter(
                x=steps,
                y=[p[key] for p in series],
                mode="lines+markers",
                name=SAMPLER_NAMES[sampler],
                legendgroup=sampler,
                showlegend=col == 1,
                line={"color": color},
                hovertemplate=f"{SAMPLER_NAMES[sampler]}<br>%{{x}} steps<br>%{{y:.3f}}<extra></extra>",
                row=1,
                col=col,
            )
    floors = {(p["n"], round(p["fd_floor"], 6)) for p in points}
    if floor is not None:
        floors.add((None, round(floor, 6)))
    shown = set()
    for n, value in sorted(floors, key=lambda item: (item[1], item[0] is None)):
        if value in shown:
            continue
        shown.add(value)
        label = f"n = {n}" if n is not None and len({v for _, v in floors}) > 1 else None
        fig.add_hline(y=value, line_dash="dash", line_color="#6b7280", row=1, col=1)
        if label and value > 0:  # the FD axis is logarithmic: annotations take log10(y)
            fig.add_annotation(text=label, xref="x domain", x=0.98, yref="y", y=math.log10(value), showarrow=False,
                               xanchor="right", yanchor="bottom", font={"size": 11, "color": "#6b7280"})  # fmt: skip
    if real:
        for col, value in ((2, real.get("confidence")), (3, real.get("class_balance"))):
            if value is not None:
                fig.add_hline(y=value, line_dash="dash", line_color="#6b7280", row=1, col=col)
    fig.add_scatter(
        x=[None], y=[None], mode="lines", line={"dash": "dash", "color": "#6b7280"}, name=pick(TEXT, "fig_floor", lang)
    )
    ticks = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    fig.update_xaxes(
        type="log", title_text=pick(TEXT, "fig_steps", lang), tickvals=ticks, ticktext=[str(v) for v in ticks]
    )
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_yaxes(range=[0, 1.02], row=1, col=3)
    fig.update_layout(
        margin={"l": 50, "r": 20, "t": 40, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "center", "x": 0.5},
        height=400,
    )
    return fig


def points_table(points: list[dict], lang: str) -> str:
    """A markdown table of curve points."""
    keys = ("col_sampler", "col_steps", "col_n", "col_fd", "col_floor", "col_conf", "col_bal")
    head = [pick(TEXT, key, lang) for key in keys]
    head.append(pick(TEXT, "col_sec", lang))
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in points:
        lines.append(
            f"| {SAMPLER_NAMES[p['sampler']]} | {p['steps']} | {p['n']} | {p['fd']:.1f} | {p['fd_floor']:.1f} | "
            f"{p['confidence']:.3f} | {p['class_balance']:.3f} | {p['seconds']:.1f} |"
        )
    return "\n".join(lines)


def precomputed_view(lang: Any) -> tuple[go.Figure | None, str, str]:
    """The precomputed curves (figure, summary markdown, table markdown), or (None, how to make them, "")."""
    lang = normalize_language(lang)
    try:
        data = ev.load_curves()
    except ValueError:
        return None, pick(TEXT, "missing_curves", lang), ""
    figure = curves_figure(data["points"], data["floor"]["fd"], data["real"], lang)
    summary = pick(TEXT, "precomputed", lang).format(
        n=data["n"],
        seed=data["seed"],
        created=data["created"][:10],
        machine=data["machine"],
        floor=data["floor"]["fd"],
        real_conf=data["real"]["confidence"],
        real_bal=data["real"]["class_balance"],
        partial=pick(TEXT, "partial", lang) if any(note.startswith("partial") for note in data["notes"]) else "",
    )
    return figure, summary, points_table(data["points"], lang)


QUALITY_CODE = """import torch
from diffusion_core import evaluation as ev
from diffusion_core.checkpoints import load_ddpm_pipeline

pipe = load_ddpm_pipeline()  # assets/checkpoints/ddpm_mnist (safetensors)
sample_fn = ev.sampling_function(pipe.unet, pipe.scheduler)  # diffusion_core.sampling.scheduler_sample in chunks
for point in ev.quality_vs_steps(sample_fn, samplers={samplers}, steps={steps}, n={n}, seed={seed}):
    print(point.sampler, point.steps, f"FD {{point.fd:.1f}} (floor {{point.fd_floor:.1f}})",
          f"confidence {{point.confidence:.3f}}", f"balance {{point.class_balance:.3f}}")

# what one point does: sample, map [-1, 1] -> [0, 1], score with the feature classifier
x = ev.generate(pipe.unet, pipe.scheduler, "ddim", 20, n={n}, seed={seed})  # (n, 1, 28, 28)
report = ev.measure((x * 0.5 + 0.5).clamp(0, 1))  # FD, its real-vs-real floor at n, confidence, balance
# the full curves file: python -m diffusion_core eval
"""


def quality_gpu_seconds(samplers: Any = None, steps: Any = None, n: Any = 0, *_: Any, **__: Any) -> int:
    """ZeroGPU quota of one ``quality`` call: every point samples n images, up to 50 steps each."""
    return gpu_seconds(n, 0.25, base=20, cap=120)


@gpu_task(quality_gpu_seconds)
def quality_live(samplers: Any, steps: Any, n: Any, seed: Any, lang: Any, progress=gr.Progress()):  # noqa: B008
    """Handler of the ``quality`` API: recompute a small quality-vs-steps curve, one point at a time.

    Yields:
        (figure, summary markdown, table markdown, code) after every point.
    """
    lang = normalize_language(lang)
    samplers = _check_list(samplers, "samplers", ev.SAMPLERS)
    steps = sorted({as_int(s, "steps", 1, max(LIVE_STEPS)) for s in _check_list(steps, "steps", LIVE_STEPS)})
    n = as_int(n, "n", 8, LIVE_MAX_N)
    seed = as_seed(seed)
    if not samplers:
        raise ValueError(pick(TEXT, "need_sampler", lang))
    if not steps:
        raise ValueError(pick(TEXT, "need_steps", lang))
    samplers = [s for s in ev.SAMPLERS if s in samplers]
    pipe = _ddpm()
    code = QUALITY_CODE.format(samplers=samplers, steps=steps, n=n, seed=seed)
    floor = ev.real_floor(n)
    real = ev.measure(ev.real_digits(n, seed=1)[0])
    real_ref = {"confidence": real.confidence, "class_balance": real.class_balance}
    points: list[dict] = []
    total = len(samplers) * len(steps)
    progress(0, desc=f"0 / {total}")
    seconds = 0.0
    for point in ev.quality_vs_steps(ev.sampling_function(pipe.unet, pipe.scheduler), samplers, steps, n, seed):
        points.append(point.__dict__)
        seconds += point.seconds
        progress(len(points) / total, desc=f"{len(points)} / {total}: {SAMPLER_NAMES[point.sampler]} {point.steps}")
        summary = pick(TEXT, "live_done", lang).format(n=n, seed=seed, seconds=seconds)
        yield curves_figure(points, floor, real_ref, lang), summary, points_table(points, lang), code


# ----------------------------------------------------------------------------------------------
# 2. x0-prediction vs noise-prediction
# ----------------------------------------------------------------------------------------------

OBJECTIVES_CODE = """import torch
from diffusion_core.checkpoints import load_basic_unet, load_ddpm_pipeline
from diffusion_core.corruption import corrupt
from diffusion_core.data import mnist_batch
from diffusion_core.device import pick_device

basic = load_basic_unet()          # predicts x0 from corrupt(x0, amount), images in [0, 1]
pipe = load_ddpm_pipeline()        # UNet2DModel predicts the noise, images in [-1, 1]
x0, _ = mnist_batch(8, seed={seed})  # (8, 1, 28, 28) in [0, 1]
generator = torch.Generator().manual_seed({seed})

t = {t}
alpha_bar = pipe.scheduler.alphas_cumprod[t]
snr = alpha_bar / (1 - alpha_bar)  # DDPM's signal-to-noise ratio at t
amount = 1 / (1 + (snr / 3).sqrt())  # the corrupt amount with the same SNR (uniform noise std = amount / sqrt(12))
with torch.no_grad():
    # 1. BasicUNet: uniform noise, direct guess of x0
    basic_guess = basic(corrupt(x0, amount.item(), generator=generator)).clamp(0, 1)
    # 2. UNet2DModel: Gaussian noise (DDPM eq. 4), predict the noise, solve for x0
    noise = torch.randn(x0.shape, generator=generator)
    x_t = alpha_bar.sqrt() * (x0 * 2 - 1) + (1 - alpha_bar).sqrt() * noise
    noise_pred = pipe.unet(x_t, torch.full((8,), t)).sample
    ddpm_guess = ((x_t - (1 - alpha_bar).sqrt() * noise_pred) / alpha_bar.sqrt() * 0.5 + 0.5).clamp(0, 1)
# 3. per-image MSE against the clean digits
print((basic_guess - x0).square().mean(dim=(1, 2, 3)))
print((ddpm_guess - x0).square().mean(dim=(1, 2, 3)))
"""


@gpu_task(20)  # two forwards of 8 images
def objectives_view(t: Any, seed: Any, lang: Any) -> tuple:
    """Handler of the ``quality_objectives`` API.

    Returns:
        (five image rows, per-image MSE table, summary markdown, MSE-vs-t figure, code).
    """
    lang = normalize_language(lang)
    t = as_int(t, "t", 0, 999)
    seed = as_seed(seed)
    pipe, basic = _ddpm(), _basic()
    x0, _ = mnist_batch(8, seed)
    result = ev.compare_objectives(basic, pipe.unet, pipe.scheduler, x0, t, torch.Generator().manual_seed(seed))
    rows = [
        to_image(tensor, nrow=8, scale=3)
        for tensor in (result.x0, result.basic_input, result.basic_pred, result.ddpm_input, result.ddpm_pred)
    ]
    head = pick(TEXT, "mse_image", lang)
    table = {
        "headers": [head, "BasicUNet (x0)", "UNet2DModel (ε → x0)"],
        "data": [
            [i + 1, round(float(b), 5), round(float(d), 5)]
            for i, (b, d) in enumerate(zip(result.mse_basic, result.mse_ddpm, strict=True))
        ],
    }
    summary = pick(TEXT, "objectives_summary", lang).format(
        t=t,
        snr=result.snr,
        amount=result.amount,
        basic=float(result.mse_basic.mean()),
        ddpm=float(result.mse_ddpm.mean()),
        wins=int((result.mse_ddpm < result.mse_basic).sum()),
        n=len(x0),
    )
    # the same comparison across noise levels, on the same digits and seed
    curve_t = sorted({*OBJECTIVE_CURVE_T, t})
    basic_mse, ddpm_mse = [], []
    for level in curve_t:
        other = ev.compare_objectives(basic, pipe.unet, pipe.scheduler, x0, level, torch.Generator().manual_seed(seed))
        basic_mse.append(float(other.mse_basic.mean()))
        ddpm_mse.append(float(other.mse_ddpm.mean()))
    fig = go.Figure()
    fig.add_scatter(x=curve_t, y=basic_mse, mode="lines+markers", name="BasicUNet (x0)", line={"color": PALETTE[1]})
    fig.add_scatter(
        x=curve_t, y=ddpm_mse, mode="lines+markers", name="UNet2DModel (ε → x0)", line={"color": PALETTE[0]}
    )
    fig.add_vline(x=t, line_dash="dot", line_color="#6b7280")
    style_figure(
        fig, pick(TEXT, "fig_objective", lang), pick(TEXT, "fig_objective_x", lang), pick(TEXT, "fig_objective_y", lang)
    )
    code = OBJECTIVES_CODE.format(t=t, seed=seed)
    return (*rows, table, summary, fig, code)


# ----------------------------------------------------------------------------------------------
# 3. Loss per timestep
# ----------------------------------------------------------------------------------------------

LOSS_CODE = """import torch
from diffusion_core import evaluation as ev
from diffusion_core.checkpoints import load_ddpm_pipeline
from diffusion_core.data import mnist_batch
from diffusion_core.device import pick_device

pipe = load_ddpm_pipeline()
x0, _ = mnist_batch({n}, seed={seed})  # in [0, 1]; mapped to [-1, 1] inside
timesteps = torch.linspace(0, 999, {k}).long().tolist()
for r in ev.loss_per_timestep(pipe.unet, pipe.scheduler, x0, timesteps, torch.Generator().manual_seed({seed})):
    # noise MSE = the training loss at t; x0 MSE = noise MSE / SNR(t)
    print(r.t, round(r.noise_mse, 4), round(r.x0_mse, 4), round(r.snr, 3))
"""


def loss_gpu_seconds(n: Any = 0, points: Any = 0, *_: Any, **__: Any) -> int:
    """ZeroGPU quota of one ``quality_loss_t`` call: one forward of n images per point."""
    return gpu_seconds(points, 0.5, base=15, cap=90)


@gpu_task(loss_gpu_seconds)
def loss_view(n: Any, points: Any, seed: Any, lang: Any, progress=gr.Progress()):  # noqa: B008
    """Handler of the ``quality_loss_t`` API: the DDPM loss at evenly spaced t, streamed.

    Yields:
        (figure, summary markdown, code) after every timestep.
    """
    lang = normalize_language(lang)
    n = as_int(n, "images", 4, 64)
    count = as_int(points, "timesteps", 5, 50)
    seed = as_seed(seed)
    pipe = _ddpm()
    x0, _ = mnist_batch(n, seed)
    timesteps = torch.linspace(0, 999, count).long().tolist()
    code = LOSS_CODE.format(n=n, k=count, seed=seed)
    records = []
    generator = torch.Generator().manual_seed(seed)
    for record in ev.loss_per_timestep(pipe.unet, pipe.scheduler, x0, timesteps, generator):
        records.append(record)
        progress(len(records) / count, desc=f"t = {record.t}")
        yield loss_figure(records, lang), loss_summary(records, n, lang), code


def loss_figure(records: list, lang: str) -> go.Figure:
    """Noise MSE (left axis, linear) and the same error on x0 (right axis, log) against t."""
    t = [r.t for r in records]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(
        x=t,
        y=[r.noise_mse for r in records],
        mode="lines+markers",
        name=pick(TEXT, "series_noise", lang),
        line={"color": PALETTE[0], "width": 3},
        secondary_y=False,
    )
    fig.add_scatter(
        x=t,
        y=[r.x0_mse for r in records],
        mode="lines+markers",
        name=pick(TEXT, "series_x0", lang),
        line={"color": PALETTE[1], "dash": "dot"},
        secondary_y=True,
    )
    style_figure(fig, pick(TEXT, "fig_loss", lang), pick(TEXT, "fig_loss_x", lang), "")
    fig.update_yaxes(title_text=pick(TEXT, "fig_loss_y", lang), rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text=pick(TEXT, "fig_loss_y2", lang), type="log", exponentformat="power",
                     showgrid=False, secondary_y=True)  # fmt: skip
    fig.update_xaxes(range=[-10, 1010])
    return fig


def loss_summary(records: list, n: int, lang: str) -> str:
    hard = max(records, key=lambda r: r.noise_mse)
    easy = min(records, key=lambda r: r.noise_mse)
    return pick(TEXT, "loss_summary", lang).format(
        n=n,
        k=len(records),
        hard_t=hard.t,
        hard=hard.noise_mse,
        easy_t=easy.t,
        easy=easy.noise_mse,
        mean=sum(r.noise_mse for r in records) / len(records),
    )


# ----------------------------------------------------------------------------------------------
# 4. Failure-mode lab
# ----------------------------------------------------------------------------------------------

LAB_CODE = """import torch
from diffusion_core import evaluation as ev
from diffusion_core.checkpoints import load_ddpm_pipeline
from diffusion_core.sampling import scheduler_sample, final_sample

pipe = load_ddpm_pipeline()
generator = torch.Generator().manual_seed({seed})
# correct: x_T ~ randn, {steps} {sampler} steps, then [-1, 1] -> [0, 1]
x = final_sample(scheduler_sample(pipe.unet, pipe.scheduler, "{sampler}", {steps}, {n}, generator=generator))
images = (x * 0.5 + 0.5).clamp(0, 1)
print(ev.measure(images).confidence)  # mean classifier confidence

# the mistakes, one at a time (same seed):
#   rand:        ev.generate(pipe.unet, pipe.scheduler, "{sampler}", {steps}, {n}, {seed}, start="rand")
#   no scaling:  x.clamp(0, 1)   # shown without x * 0.5 + 0.5
#   few steps:   ev.generate(pipe.unet, pipe.scheduler, "{sampler}", {few}, {n}, {seed})
#   undertrained: load_ddpm_pipeline("assets/checkpoints/ddpm_mnist/early/step_...") and sample the same way
"""


def lab_gpu_seconds(modes: Any = None, sampler: Any = None, steps: Any = 0, *_: Any, **__: Any) -> int:
    """ZeroGPU quota of one ``quality_failures`` call: up to five sampling runs of ``steps`` steps."""
    return gpu_seconds(steps, 0.1, base=15, cap=120)


@gpu_task(lab_gpu_seconds)
def lab_view(modes: Any, sampler: Any, steps: Any, few: Any, n: Any, seed: Any, lang: Any, progress=gr.Progress()):  # noqa: B008
    """Handler of the ``quality_failures`` API.

    Returns:
        (correct image, correct caption, then image + caption for each of ``LAB_MODES``, code).
        Modes not switched on get no image and an empty caption.
    """
    lang = normalize_language(lang)
    modes = _check_list(modes, "modes", LAB_MODES)
    sampler = as_choice(sampler, "sampler", LAB_SAMPLERS)
    steps = as_int(steps, "steps", 2, 50)
    few = as_int(few, "few steps", 1, 10)
    n = as_int(n, "images", 4, 32)
    seed = as_seed(seed)
    pipe = _ddpm()
    name = SAMPLER_NAMES[sampler]
    outputs: list[Any] = []
    planned = ["correct", *[m for m in LAB_MODES if m in modes]]
    for mode in ("correct", *LAB_MODES):
        if mode not in planned:
            outputs += [None, ""]
            continue
        progress(planned.index(mode) / len(planned), desc=mode)
        early, early_step = None, 0
        if mode == "undertrained":
            found = _early_unet()
            if found is None:
                outputs += [None, pick(TEXT, "say_undertrained_missing", lang)]
                continue
            early, early_step = found
        result = ev.failure_samples(
            mode, pipe.unet, pipe.scheduler, n=n, sampler=sampler, steps=steps, few_steps=few, seed=seed,
            early_unet=early,
        )  # fmt: skip
        sentence = pick(TEXT, f"say_{mode}", lang).format(sampler=name, steps=steps, few=few, step=early_step)
        measured = pick(TEXT, "measured", lang).format(
            conf=result.confidence, bal=result.class_balance, low=result.raw_min, high=result.raw_max
        )
        outputs += [to_image(result.images, nrow=8, scale=3), f"{sentence}\n\n*{measured}*"]
    code = LAB_CODE.format(seed=seed, steps=steps, sampler=sampler, n=n, few=few)
    return (*outputs, code)


# ----------------------------------------------------------------------------------------------
# The tab
# ----------------------------------------------------------------------------------------------


def build(ctx: AppContext) -> None:
    """Build the Compare tab."""
    loc = ctx.loc
    figure, summary, numbers = precomputed_view("zh")
    with gr.Tab(pick(TEXT, "tab", "zh"), id="compare") as tab:
        loc.label(tab, TEXT, "tab")
        loc.value(markdown(pick(TEXT, "lesson", "zh"), elem_classes="lesson"), TEXT, "lesson")
        accuracy = gr.Markdown(_accuracy_line("zh"))
        loc.add(accuracy, lambda lang: gr.update(value=_accuracy_line(lang)))

        # 1. quality vs steps
        loc.value(gr.Markdown(pick(TEXT, "curves_title", "zh")), TEXT, "curves_title")
        loc.value(markdown(pick(TEXT, "curves_text", "zh")), TEXT, "curves_text")
        curves = gr.Plot(figure, elem_id="quality-curves", show_label=False)
        curves_info = markdown(summary, elem_id="quality-summary")
        with gr.Accordion(pick(TEXT, "table", "zh"), open=False) as table_box:
            curves_table = markdown(numbers, elem_id="quality-table")
        loc.label(table_box, TEXT, "table")
        with gr.Row():
            live_samplers = checkbox_group(
                [(SAMPLER_NAMES[s], s) for s in ev.SAMPLERS],
                name="samplers",
                value=["ddim", "dpm++", "euler"],
                label=pick(TEXT, "live_samplers", "zh"),
                elem_id="quality-samplers",
            )
            loc.label(live_samplers, TEXT, "live_samplers")
            live_steps = checkbox_group(
                list(LIVE_STEPS),
                value=[2, 5, 10],
                label=pick(TEXT, "live_steps", "zh"),
                elem_id="quality-steps",
                name="steps",
            )
            loc.label(live_steps, TEXT, "live_steps")
        with gr.Row():
            live_n = slider(8, LIVE_MAX_N, value=32, step=8, name="n", label=pick(TEXT, "live_n", "zh"),
                            info=pick(TEXT, "live_n_info", "zh"))  # fmt: skip
            loc.label(live_n, TEXT, "live_n", "live_n_info")
            live_seed = seed_number(pick(TEXT, "seed", "zh"))
            loc.label(live_seed, TEXT, "seed")
            live_button = gr.Button(pick(TEXT, "live_button", "zh"), variant="primary", elem_id="quality-run")
            loc.value(live_button, TEXT, "live_button")

        # 2. x0 vs noise prediction
        loc.value(gr.Markdown(pick(TEXT, "objectives_title", "zh")), TEXT, "objectives_title")
        loc.value(markdown(pick(TEXT, "objectives_text", "zh")), TEXT, "objectives_text")
        with gr.Row():
            obj_t = slider(0, 999, value=500, step=1, name="t", label=pick(TEXT, "t", "zh"),
                           info=pick(TEXT, "t_info", "zh"), elem_id="objectives-t")  # fmt: skip
            loc.label(obj_t, TEXT, "t", "t_info")
            obj_seed = seed_number(pick(TEXT, "seed", "zh"))
            loc.label(obj_seed, TEXT, "seed")
            obj_button = gr.Button(pick(TEXT, "objectives_button", "zh"), variant="primary", elem_id="objectives-run")
            loc.value(obj_button, TEXT, "objectives_button")
        obj_rows = []
        with gr.Row():
            with gr.Column(scale=3):
                for key in ("row_clean", "row_basic_in", "row_basic_out", "row_ddpm_in", "row_ddpm_out"):
                    row = gr.Image(label=pick(TEXT, key, "zh"), elem_classes="pixelated", height=110, buttons=[],
                                   interactive=False)  # fmt: skip
                    loc.label(row, TEXT, key)
                    obj_rows.append(row)
            with gr.Column(scale=2):
                obj_summary = markdown("", elem_id="objectives-summary")
                obj_table = gr.Dataframe(interactive=False, elem_id="objectives-mse")
                obj_figure = gr.Plot(show_label=False, elem_id="objectives-curve")

        # 3. loss per timestep
        loc.value(gr.Markdown(pick(TEXT, "loss_title", "zh")), TEXT, "loss_title")
        loc.value(markdown(pick(TEXT, "loss_text", "zh")), TEXT, "loss_text")
        with gr.Row():
            loss_n = slider(4, 64, value=16, step=4, name="images", label=pick(TEXT, "loss_n", "zh"))
            loc.label(loss_n, TEXT, "loss_n")
            loss_points = slider(5, 50, value=20, step=1, name="timesteps", label=pick(TEXT, "loss_points", "zh"))
            loc.label(loss_points, TEXT, "loss_points")
            loss_seed = seed_number(pick(TEXT, "seed", "zh"))
            loc.label(loss_seed, TEXT, "seed")
            loss_button = gr.Button(pick(TEXT, "loss_button", "zh"), variant="primary", elem_id="loss-run")
            loc.value(loss_button, TEXT, "loss_button")
        loss_plot = gr.Plot(show_label=False, elem_id="loss-curve")
        loss_info = markdown("", elem_id="loss-summary")

        # 4. failure-mode lab
        loc.value(gr.Markdown(pick(TEXT, "lab_title", "zh")), TEXT, "lab_title")
        loc.value(markdown(pick(TEXT, "lab_text", "zh")), TEXT, "lab_text")
        lab_modes = checkbox_group(
            [(pick(TEXT, key, "zh"), mode) for mode, key in _KEYS_MODES.items()],
            name="modes",
            value=list(LAB_MODES),
            label=pick(TEXT, "lab_modes", "zh"),
            elem_id="lab-modes",
        )
        loc.choices(lab_modes, TEXT, _KEYS_MODES, label_key="lab_modes")
        with gr.Row():
            lab_sampler = gr.Dropdown([(SAMPLER_NAMES[s], s) for s in LAB_SAMPLERS], value="ddim",
                                      label=pick(TEXT, "lab_sampler", "zh"))  # fmt: skip
            loc.label(lab_sampler, TEXT, "lab_sampler")
            lab_steps = slider(2, 50, value=10, step=1, name="steps", label=pick(TEXT, "lab_steps", "zh"))
            loc.label(lab_steps, TEXT, "lab_steps")
            lab_few = slider(1, 10, value=2, step=1, name="few steps", label=pick(TEXT, "lab_few", "zh"))
            loc.label(lab_few, TEXT, "lab_few")
            lab_n = slider(4, 32, value=8, step=4, name="images", label=pick(TEXT, "lab_n", "zh"))
            loc.label(lab_n, TEXT, "lab_n")
            lab_seed = seed_number(pick(TEXT, "seed", "zh"))
            loc.label(lab_seed, TEXT, "seed")
        lab_button = gr.Button(pick(TEXT, "lab_button", "zh"), variant="primary", elem_id="lab-run")
        loc.value(lab_button, TEXT, "lab_button")
        lab_outputs = []
        for mode in ("correct", *LAB_MODES):
            key = "label_correct" if mode == "correct" else f"mode_{mode}"
            with gr.Row(equal_height=False):
                image = gr.Image(label=pick(TEXT, key, "zh"), elem_classes="pixelated", height=90, scale=3,
                                 buttons=[], interactive=False, elem_id=f"lab-{mode}")  # fmt: skip
                loc.label(image, TEXT, key)
                caption = markdown("", elem_id=f"lab-{mode}-text")
            lab_outputs += [image, caption]

        with gr.Accordion(pick(COMMON, "code", "zh"), open=False) as accordion:
            code = gr.Code(QUALITY_CODE.format(samplers=["ddim", "dpm++", "euler"], steps=[2, 5, 10], n=32, seed=0),
                           language="python")  # fmt: skip
        loc.label(accordion, COMMON, "code")

    heavy = {"concurrency_id": "sample", "concurrency_limit": 2}
    live_button.click(
        friendly(quality_live),
        [live_samplers, live_steps, live_n, live_seed, ctx.lang],
        [curves, curves_info, curves_table, code],
        api_name="quality",
        **heavy,
    )
    obj_button.click(
        friendly(objectives_view),
        [obj_t, obj_seed, ctx.lang],
        [*obj_rows, obj_table, obj_summary, obj_figure, code],
        api_name="quality_objectives",
        **heavy,
    )
    loss_button.click(
        friendly(loss_view),
        [loss_n, loss_points, loss_seed, ctx.lang],
        [loss_plot, loss_info, code],
        api_name="quality_loss_t",
        **heavy,
    )
    lab_button.click(
        friendly(lab_view),
        [lab_modes, lab_sampler, lab_steps, lab_few, lab_n, lab_seed, ctx.lang],
        [*lab_outputs, code],
        api_name="quality_failures",
        **heavy,
    )
    ctx.lang.change(
        precomputed_view, ctx.lang, [curves, curves_info, curves_table], api_visibility="private", queue=False
    )


def _accuracy_line(lang: str) -> str:
    accuracy = _classifier_accuracy()
    if lang == "en":
        return f"*Feature classifier: held-out accuracy {accuracy} on 1,500 digits it never trained on (`assets/classifier/`).*"
    return f"*特征分类器：在 1500 张没参与训练的数字上，准确率 {accuracy}（`assets/classifier/`）。*"
