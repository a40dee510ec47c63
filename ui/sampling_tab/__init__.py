"""Tab 5 · 采样 / Sampling: the seed's mix sampler, the DDPM loop step by step, and ``DDPMPipeline``.

Three sections:

* **A** - ``mix_sample`` with BasicUNet: the seed's two-column figure ("x (model input)" /
  "model prediction"), one row per step, streamed as it grows, with play and scrub.
* **B** - ``scheduler_sample`` with UNet2DModel and a choice of scheduler: x_t, predicted x0 and
  predicted noise of every step, the alpha_bar curve with a cursor at t, a GIF of the trajectory
  and the final grid as PNG.
* **C** - ``DDPMPipeline``: the bundled folder, this session's model, or a Hub id; the batch
  through ``make_grid``; ``save_pretrained`` of this session's model as a zip.

Models: this session's trained model (``ctx.session_models``) when there is one, otherwise the
bundled checkpoint (cached, read-only). Every run says which one it used.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import torch
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

from diffusion_core import sampling
from diffusion_core.checkpoints import BASIC_UNET_DIR, DDPM_DIR, save_ddpm_pipeline
from diffusion_core.device import gpu_seconds, gpu_task, pick_device
from diffusion_core.figures import to_image
from diffusion_core.models import BasicUNet
from diffusion_core.noising import SEED_TRAINING_SCHEDULE, make_scheduler
from diffusion_core.sample_figures import alpha_bar_figure, grid_columns, mix_figure, step_images, write_gif
from ui.common import TEXT as COMMON
from ui.common import download_folder, markdown
from ui.components import seed_number, slider
from ui.context import SESSION_TTL_SECONDS, AppContext
from ui.errors import as_choice, as_int, as_seed, friendly
from ui.i18n import Text, normalize_language, pick

MAX_BATCH = 64
MAX_MIX_STEPS = 50
MAX_STEPS = 1000
MAX_KEPT_FRAMES = 60  # frames kept for the scrubber and the GIF (evenly spaced over the steps)
SHOWN_IMAGES = 16  # images per frame kept for the scrubber
STREAM_EVERY_S = 0.25  # at most ~4 streamed updates per second
PLAY_FRAME_S = 0.35
ON_GPU = torch.cuda.is_available()
DEVICE = str(pick_device()) if ON_GPU else "cpu"
DEFAULT_SAMPLER = "ddpm" if ON_GPU else "dpm++"
DEFAULT_STEPS = 1000 if ON_GPU else 20
DEFAULT_PIPELINE_STEPS = 1000 if ON_GPU else 50
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
MAX_HUB_SAMPLE_SIZE = 64  # bigger Hub models are too slow for a shared demo
SOURCES = ("bundled", "session", "hub")

TEXT: Text = {
    "tab": {"zh": "⑤ 采样", "en": "⑤ Sampling"},
    "lesson": {
        "zh": "### 采样：从噪声一步步走向图像\n"
        "训练好的模型只会“猜”：给它一张带噪的图，它猜出干净的样子（BasicUNet）或猜出其中的噪声（DDPM）。"
        "从纯噪声一步猜到一张好图通常做不到，所以采样是**迭代**的：每一步都在模型预测的基础上去掉一点噪声。"
        "A 部分是教程里基础 UNet 的 5 步采样；B 部分是 DDPM 的采样循环，可以换不同的调度器；"
        "C 部分是一行代码的 `DDPMPipeline`。",
        "en": "### Sampling: from noise to an image, step by step\n"
        "A trained model can only guess: show it a noisy image and it guesses the clean one (BasicUNet) or the "
        "noise in it (DDPM). Guessing a good image from pure noise in one go rarely works, so sampling is "
        "**iterative**: each step removes a little noise based on the model's prediction. Section A is the "
        "tutorial's 5-step sampler for the basic UNet; B is the DDPM sampling loop with a choice of schedulers; "
        "C is the one-line `DDPMPipeline`.",
    },
    "a_title": {"zh": "A · 基础 UNet 的“每次走 1/(n−i)”采样", "en": "A · The basic UNet's “move 1/(n−i)” sampler"},
    "a_lesson": {
        "zh": "从随机图 `x = torch.rand(...)` 出发，分 n 步走：第 i 步让模型预测干净的图 `pred = net(x)`，"
        "然后朝预测走 $\\frac{1}{n-i}$ 的路：`x = x*(1-mix_factor) + pred*mix_factor`。"
        "5 步时依次走 1/5、1/4、1/3、1/2、1——最后一步正好落在模型的预测上。"
        "下图就是教程的两列图：左列是每步的模型输入 x，右列是模型的预测（每行显示前 8 张）。",
        "en": "Start from a random image `x = torch.rand(...)` and take n steps: at step i the model predicts the "
        "clean image `pred = net(x)`, and x moves $\\frac{1}{n-i}$ of the way there: "
        "`x = x*(1-mix_factor) + pred*mix_factor`. With 5 steps that is 1/5, 1/4, 1/3, 1/2, then 1: the last "
        "step lands exactly on the prediction. The figure is the tutorial's two columns: the model input x at "
        "each step on the left, the model's prediction on the right (the first 8 images of each row).",
    },
    "a_steps": {"zh": "步数 n_steps", "en": "Steps n_steps"},
    "batch": {"zh": "批量（生成几张）", "en": "Batch (images)"},
    "seed": {"zh": "随机种子", "en": "Random seed"},
    "a_run": {"zh": "▶ 开始采样", "en": "▶ Sample"},
    "a_figure": {
        "zh": "左：x（模型输入）｜右：模型预测；每行一步",
        "en": "Left: x (model input) | right: model prediction; one row per step",
    },
    "a_scrub": {"zh": "查看第几步", "en": "Show step"},
    "play": {"zh": "⏵ 播放", "en": "⏵ Play"},
    "x_input": {"zh": "x（模型输入）", "en": "x (model input)"},
    "model_pred": {"zh": "模型预测", "en": "model prediction"},
    "b_title": {
        "zh": "B · DDPM 逐步采样（UNet2DModel + 调度器）",
        "en": "B · DDPM step by step (UNet2DModel + scheduler)",
    },
    "b_lesson": {
        "zh": "DDPM 的采样循环：`for t in scheduler.timesteps: noise_pred = model(x, t).sample; "
        "x = scheduler.step(noise_pred, t, x).prev_sample`。每一步模型预测噪声 ε，由它可以反推出"
        "“预测的 x₀” $\\hat x_0 = (x_t - \\sqrt{1-\\bar\\alpha_t}\\,\\hat\\epsilon)/\\sqrt{\\bar\\alpha_t}$，"
        "调度器再据此走到下一个、噪声更少的 x。不同的调度器就是不同的“走法”。用自带模型实测（对比页 ①）："
        "DDIM、DPM-Solver++、Euler 大约 10–20 步就能画出认得出的数字；要最接近真实数字，仍需 50 步左右"
        "（50 步的 DDPM 和 Euler 最好）。",
        "en": "The DDPM sampling loop: `for t in scheduler.timesteps: noise_pred = model(x, t).sample; "
        "x = scheduler.step(noise_pred, t, x).prev_sample`. At each step the model predicts the noise ε; from it "
        "follows the “predicted x₀” $\\hat x_0 = (x_t - \\sqrt{1-\\bar\\alpha_t}\\,\\hat\\epsilon)/"
        "\\sqrt{\\bar\\alpha_t}$, and the scheduler moves to the next, less noisy x. Schedulers are different "
        "ways of walking. Measured with the bundled model (Compare tab, ①): DDIM, DPM-Solver++ and Euler draw "
        "readable digits from about 10–20 steps; coming closest to real digits still takes about 50 steps (DDPM "
        "and Euler at 50 steps do best).",
    },
    "cpu_note": {
        "zh": "💡 这台服务器没有 GPU：默认用 DPM-Solver++ 20 步，几秒就好；DDPM 1000 步在 2 核 CPU 上"
        "生成 16 张约需 4 分钟。",
        "en": "💡 This server has no GPU: the default is DPM-Solver++ with 20 steps (a few seconds); DDPM with "
        "1000 steps takes about 4 minutes for 16 images on 2 CPU cores.",
    },
    "gpu_note": {
        "zh": "💡 在 GPU 上默认完整的 DDPM 1000 步（DDPM/DDIM 用 CUDA Graph 快速路径）。",
        "en": "💡 On a GPU the default is the full 1000-step DDPM (DDPM/DDIM run the CUDA-graph fast path).",
    },
    "scheduler": {"zh": "调度器（采样方法）", "en": "Scheduler (sampler)"},
    "ddpm": {"zh": "DDPM（原版，需很多步）", "en": "DDPM (the original, many steps)"},
    "ddim": {"zh": "DDIM（确定性，eta = 0）", "en": "DDIM (deterministic, eta = 0)"},
    "dpm++": {"zh": "DPM-Solver++（多步，二阶）", "en": "DPM-Solver++ (multistep, 2nd order)"},
    "euler": {"zh": "Euler", "en": "Euler"},
    "b_steps": {"zh": "采样步数 num_inference_steps", "en": "Steps num_inference_steps"},
    "b_run": {"zh": "▶ 开始采样", "en": "▶ Sample"},
    "x_t": {"zh": "x_t（截断到 [-1, 1]）", "en": "x_t (clipped to [-1, 1])"},
    "pred_x0": {"zh": "预测的 x₀", "en": "predicted x₀"},
    "noise_pred": {"zh": "预测的噪声 ε（±3 标准差）", "en": "predicted noise ε (±3 std)"},
    "b_scrub": {"zh": "拖动查看每一步（帧）", "en": "Scrub through the steps (frame)"},
    "final": {"zh": "最终结果（整批）", "en": "Final images (whole batch)"},
    "gif": {"zh": "下载：轨迹动画 GIF", "en": "Download: trajectory GIF"},
    "png": {"zh": "下载：最终网格 PNG", "en": "Download: final grid PNG"},
    "curve_title": {"zh": "ᾱ_t 曲线与当前 t", "en": "ᾱ_t and the current t"},
    "curve_x": {"zh": "时间步 t", "en": "timestep t"},
    "curve_y": {"zh": "ᾱ_t（保留的信号比例）", "en": "ᾱ_t (share of signal left)"},
    "curve": {"zh": "ᾱ_t", "en": "ᾱ_t"},
    "current": {"zh": "当前 t", "en": "current t"},
    "c_title": {"zh": "C · 一行代码的 DDPMPipeline", "en": "C · The one-line DDPMPipeline"},
    "c_lesson": {
        "zh": "管道把上面的循环包装成一次调用：`images = pipeline(batch_size=8).images`，"
        "再用 `torchvision.utils.make_grid` 拼成一张图。保存用 `pipeline.save_pretrained(...)`，"
        "加载用 `DDPMPipeline.from_pretrained(...)`（只加载 safetensors）。"
        "DDPMPipeline 只会用 DDPM 调度器，所以步数少时效果差，想少步数请用 B 部分的 DPM-Solver++ 等。",
        "en": "The pipeline wraps the loop above into one call: `images = pipeline(batch_size=8).images`, then "
        "`torchvision.utils.make_grid` puts them in one picture. Save with `pipeline.save_pretrained(...)`, load "
        "with `DDPMPipeline.from_pretrained(...)` (safetensors only). DDPMPipeline always uses the DDPM "
        "scheduler, so few steps give poor images; for few steps use DPM-Solver++ and friends in section B.",
    },
    "source": {"zh": "模型来源", "en": "Model source"},
    "bundled": {"zh": "自带的检查点（assets/checkpoints/ddpm_mnist）", "en": "Bundled checkpoint (ddpm_mnist)"},
    "session": {"zh": "本次训练的模型（训练页）", "en": "This session's model (Training tab)"},
    "hub": {"zh": "Hugging Face Hub 模型 id", "en": "A Hugging Face Hub model id"},
    "hub_id": {"zh": "Hub 模型 id（如 google/ddpm-cifar10-32）", "en": "Hub model id (e.g. google/ddpm-cifar10-32)"},
    "c_steps": {"zh": "num_inference_steps", "en": "num_inference_steps"},
    "c_run": {"zh": "▶ 运行管道", "en": "▶ Run the pipeline"},
    "c_grid": {"zh": "make_grid 拼出的结果", "en": "The batch through make_grid"},
    "save": {"zh": "💾 save_pretrained 本次训练的模型（zip）", "en": "💾 save_pretrained this session's model (zip)"},
    "save_file": {"zh": "下载管道文件夹（zip）", "en": "Download the pipeline folder (zip)"},
    "status_idle": {"zh": "点击“开始采样”。", "en": "Press “Sample”."},
    "uses_session": {
        "zh": "使用**本次训练的模型**（来自训练页）。",
        "en": "Using **this session's trained model** (Training tab).",
    },
    "uses_bundled": {"zh": "使用**自带的检查点** `{path}`。", "en": "Using the **bundled checkpoint** `{path}`."},
    "uses_hub": {"zh": "使用 Hub 模型 `{id}`。", "en": "Using the Hub model `{id}`."},
    "missing_basic": {
        "zh": "自带的 BasicUNet 检查点还不在（assets/checkpoints/basic_unet）：请先在训练页训练一个，"
        "或运行 `python -m diffusion_core train --model basic --save`。",
        "en": "The bundled BasicUNet checkpoint is not there yet (assets/checkpoints/basic_unet): train one in the "
        "Training tab, or run `python -m diffusion_core train --model basic --save`.",
    },
    "missing_ddpm": {
        "zh": "自带的 DDPM 检查点还不在（assets/checkpoints/ddpm_mnist）：请先在训练页训练一个，"
        "或运行 `python -m diffusion_core train --model ddpm --save`。",
        "en": "The bundled DDPM checkpoint is not there yet (assets/checkpoints/ddpm_mnist): train one in the "
        "Training tab, or run `python -m diffusion_core train --model ddpm --save`.",
    },
    "no_session": {
        "zh": "本次会话还没有训练过 DDPM 模型：请先到训练页训练一个。",
        "en": "This session has not trained a DDPM model yet: train one in the Training tab first.",
    },
    "bad_hub_id": {
        "zh": "“{id}” 不是 Hub 模型 id：请写成 owner/name（不接受本地路径）。",
        "en": "“{id}” is not a Hub model id: write owner/name (local paths are not accepted).",
    },
    "offline": {
        "zh": "无法从 Hugging Face Hub 加载 “{id}”：服务器可能离线，或这个模型不存在 / 不是带 safetensors 的 "
        "DDPMPipeline。请改用自带的检查点。",
        "en": "Could not load “{id}” from the Hugging Face Hub: this server may be offline, or the model does not "
        "exist or is not a DDPMPipeline with safetensors weights. Use the bundled checkpoint instead.",
    },
    "too_big": {
        "zh": "“{id}” 的图像边长是 {size}，这个演示只运行边长 ≤ {limit} 的模型。",
        "en": "“{id}” makes {size}-pixel images; this demo runs models up to {limit} pixels.",
    },
    "a_status": {"zh": "第 {step}/{n} 步 · {source}", "en": "Step {step}/{n} · {source}"},
    "b_status": {
        "zh": "第 {step}/{n} 步，t = {t} · {sampler} · {seconds:.1f} 秒 · {source}",
        "en": "Step {step}/{n}, t = {t} · {sampler} · {seconds:.1f} s · {source}",
    },
    "c_status": {
        "zh": "{batch} 张，{steps} 步，用时 {seconds:.1f} 秒 · {source}",
        "en": "{batch} images, {steps} steps, {seconds:.1f} s · {source}",
    },
    "frame": {"zh": "第 {step}/{n} 步，t = {t}", "en": "Step {step}/{n}, t = {t}"},
    "run_first": {"zh": "请先运行一次采样。", "en": "Run a sampling first."},
}

SAMPLER_KEYS = {name: name for name in sampling.SAMPLERS}

MIX_CODE = """import torch
import torchvision
from diffusion_core.checkpoints import load_basic_unet  # or your own trained BasicUNet

net = load_basic_unet()  # {model}
n_steps = {n_steps}
generator = torch.Generator().manual_seed({seed})
x = torch.rand({batch}, 1, 28, 28, generator=generator)  # start from random
step_history = [x.detach().cpu()]
pred_output_history = []

for i in range(n_steps):
    with torch.no_grad():  # no need to track gradients during inference
        pred = net(x)  # predict the denoised x0
    pred_output_history.append(pred.detach().cpu())  # store model output for plotting
    mix_factor = 1 / (n_steps - i)  # how much we move towards the prediction
    x = x * (1 - mix_factor) + pred * mix_factor  # move part of the way there
    step_history.append(x.detach().cpu())  # store step for plotting

# row i of the figure: make_grid(step_history[i]) | make_grid(pred_output_history[i])
grid = torchvision.utils.make_grid(step_history[-1].clip(0, 1))
"""

SCHEDULER_LINES = {
    "ddpm": "DDPMScheduler.from_config(train_scheduler.config)",
    "ddim": "DDIMScheduler.from_config(train_scheduler.config)",
    "dpm++": 'DPMSolverMultistepScheduler.from_config(train_scheduler.config, algorithm_type="dpmsolver++", solver_order=2)',
    "euler": "EulerDiscreteScheduler.from_config(train_scheduler.config)",
}

DDPM_CODE = """import torch
import torchvision
from diffusers import DDIMScheduler, DDPMPipeline, DDPMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler

pipeline = DDPMPipeline.from_pretrained("{folder}", use_safetensors=True)  # {model}
model, train_scheduler = pipeline.unet.eval(), pipeline.scheduler  # squaredcos_cap_v2, T = 1000
scheduler = {scheduler_line}
scheduler.set_timesteps({steps})

generator = torch.Generator().manual_seed({seed})
x = torch.randn({batch}, 1, 28, 28, generator=generator) * scheduler.init_noise_sigma  # pure noise

for i, t in enumerate(scheduler.timesteps):
    x_t = scheduler.scale_model_input(x, t)  # 1. what the network sees (Euler rescales, the others don't)
    with torch.no_grad():
        noise_pred = model(x_t, t).sample  # 2. predict the noise
    x = scheduler.step(noise_pred, t, x, generator=generator).prev_sample  # 3. one step towards x0

images = (x / 2 + 0.5).clamp(0, 1)  # map (-1, 1) back to (0, 1)
grid = torchvision.utils.make_grid(images, nrow=8)
"""

PIPELINE_CODE = """import torch
import torchvision
from diffusers import DDPMPipeline

pipeline = DDPMPipeline.from_pretrained("{folder}", use_safetensors=True)  # {model}
generator = torch.Generator().manual_seed({seed})
images = pipeline(batch_size={batch}, generator=generator, num_inference_steps={steps}, output_type="pt").images
grid = torchvision.utils.make_grid(images, nrow=8)  # the seed's make_grid, as one picture
# pipeline.save_pretrained("my_pipeline")  # save it
"""


# ----------------------------------------------------------------------------------------------
# Models: this session's, else the bundled (cached, read-only)
# ----------------------------------------------------------------------------------------------


def resolve_basic(session_models: Any, lang: str) -> tuple[torch.nn.Module, str]:
    """The BasicUNet to sample with, and a sentence saying which one."""
    model = (session_models or {}).get("basic") if isinstance(session_models, dict) else None
    if isinstance(model, BasicUNet):
        return model.eval(), pick(TEXT, "uses_session", lang)
    if not (BASIC_UNET_DIR / "model.safetensors").is_file():
        raise gr.Error(pick(TEXT, "missing_basic", lang))
    return sampling.bundled_basic_unet(DEVICE), pick(TEXT, "uses_bundled", lang).format(path=_relative(BASIC_UNET_DIR))


def _session_ddpm(session_models: Any) -> tuple[UNet2DModel, Any] | None:
    entry = session_models.get("ddpm") if isinstance(session_models, dict) else None
    if isinstance(entry, DDPMPipeline):
        return entry.unet, entry.scheduler
    if isinstance(entry, UNet2DModel):
        return entry, make_scheduler(SEED_TRAINING_SCHEDULE)  # read-only: only its config is used
    return None


def resolve_ddpm(session_models: Any, lang: str) -> tuple[UNet2DModel, Any, str, str]:
    """(unet, training scheduler, which-model sentence, folder for the code) for sections B and C."""
    session = _session_ddpm(session_models)
    if session is not None:
        return session[0].eval(), session[1], pick(TEXT, "uses_session", lang), "my_pipeline"
    if not (DDPM_DIR / "model_index.json").is_file():
        raise gr.Error(pick(TEXT, "missing_ddpm", lang))
    pipeline = sampling.bundled_ddpm(DEVICE)
    folder = _relative(DDPM_DIR)
    return pipeline.unet, pipeline.scheduler, pick(TEXT, "uses_bundled", lang).format(path=folder), folder


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return f"assets/checkpoints/{path.name}"


_hub_cache: dict[str, DDPMPipeline] = {}  # read-only public models, at most 2


def load_hub_pipeline(repo_id: Any, lang: str) -> DDPMPipeline:
    """``DDPMPipeline.from_pretrained(repo_id, use_safetensors=True)``: a Hub id only, never a path."""
    repo_id = str(repo_id or "").strip()
    if not HUB_ID.match(repo_id) or ".." in repo_id or os.path.exists(repo_id):
        raise ValueError(pick(TEXT, "bad_hub_id", lang).format(id=repo_id[:100]))
    if repo_id in _hub_cache:
        return _hub_cache[repo_id]
    try:
        pipeline = DDPMPipeline.from_pretrained(repo_id, use_safetensors=True)
    except Exception:  # offline, missing, not a DDPMPipeline, no safetensors: one clear message
        raise ValueError(pick(TEXT, "offline", lang).format(id=repo_id)) from None
    size = pipeline.unet.config.sample_size
    size = size if isinstance(size, int) else max(size)
    if size > MAX_HUB_SAMPLE_SIZE:
        raise ValueError(pick(TEXT, "too_big", lang).format(id=repo_id, size=size, limit=MAX_HUB_SAMPLE_SIZE))
    pipeline.unet.eval().requires_grad_(False)
    if len(_hub_cache) >= 2:
        _hub_cache.pop(next(iter(_hub_cache)))
    _hub_cache[repo_id] = pipeline.to(DEVICE)
    return _hub_cache[repo_id]


def mix_gpu_seconds(n_steps: Any = 0, batch: Any = 0, *_: Any, **__: Any) -> int:
    """ZeroGPU quota of one ``mix_sample`` call: BasicUNet steps are about 2 ms each on a GPU."""
    return gpu_seconds(n_steps, 0.01, base=10, cap=60)


def ddpm_gpu_seconds(scheduler: Any = None, steps: Any = 0, *_: Any, **__: Any) -> int:
    """ZeroGPU quota of one ``ddpm_sample`` call: ~10 ms a UNet2DModel step for up to 64 images (H100, eager),
    plus the frames it encodes; 1000 DDPM steps get 40 s."""
    return gpu_seconds(steps, 0.03, base=10, cap=120)


def pipeline_gpu_seconds(source: Any = None, hub_id: Any = None, steps: Any = 0, *_: Any, **__: Any) -> int:
    """ZeroGPU quota of one ``pipeline_sample`` call (a Hub model may be larger than the bundled one)."""
    return gpu_seconds(steps, 0.05, base=15, cap=120)


# ----------------------------------------------------------------------------------------------
# A · the seed's mix sampler
# ----------------------------------------------------------------------------------------------


def _scale_for(batch: int, target: int = 520, columns: int | None = None) -> int:
    columns = columns or grid_columns(batch)
    return int(max(1, min(8, target // (columns * 30))))


def square_columns(batch: int) -> int:
    """Images per row for a compact grid: 4 up to 16 images (4 x 2 for 8, 4 x 4 for 16), else 8."""
    return max(1, min(batch, 4 if batch <= 16 else 8))


def _mix_pair(state: dict, index: int) -> tuple[Any, Any]:
    x, pred = state["x"][index].float(), state["pred"][index].float()
    nrow = square_columns(x.shape[0])
    scale = _scale_for(x.shape[0], 300, nrow)
    return to_image(x, (0, 1), nrow=nrow, scale=scale), to_image(pred, (0, 1), nrow=nrow, scale=scale)


@gpu_task(mix_gpu_seconds)
def mix_sample_view(n_steps: Any, batch: Any, seed: Any, lang: Any, session_models: Any = None):
    """Handler of the ``mix_sample`` API: stream the seed's two-column figure as it grows.

    Yields:
        (figure, x of the step, prediction of the step, scrub slider, state, status, code).
    """
    lang = normalize_language(lang)
    n_steps = as_int(n_steps, "n_steps", 1, MAX_MIX_STEPS)
    batch = as_int(batch, "batch", 1, MAX_BATCH)
    seed = as_seed(seed)
    net, source = resolve_basic(session_models, lang)
    code = MIX_CODE.format(n_steps=n_steps, seed=seed, batch=batch, model=source.replace("*", ""))
    records = sampling.mix_sample(net, n_steps, batch, generator=torch.Generator().manual_seed(seed))
    state: dict = {"x": [], "pred": []}
    shown = min(batch, 8)
    scale = 3 if n_steps <= 10 else 2
    last_yield = 0.0
    for record in records:
        state["x"].append(record.x_t.detach().cpu().half())
        state["pred"].append(record.pred_x0.detach().cpu().half())
        done = record.step == n_steps - 1
        if done or time.perf_counter() - last_yield > STREAM_EVERY_S:
            figure = mix_figure(
                [x[:shown].float() for x in state["x"]], [p[:shown].float() for p in state["pred"]], scale
            )
            x_image, pred_image = _mix_pair(state, record.step)
            status = pick(TEXT, "a_status", lang).format(step=record.step + 1, n=n_steps, source=source)
            scrub = gr.update(maximum=max(n_steps, 2), value=record.step + 1, interactive=done)
            yield figure, x_image, pred_image, scrub, state if done else gr.skip(), status, code
            last_yield = time.perf_counter()


@friendly
def mix_scrub(step: Any, state: Any, lang: Any):
    """Show one step of the last mix run: (x image, prediction image)."""
    if not isinstance(state, dict) or not state.get("x"):
        raise gr.Error(pick(TEXT, "run_first", normalize_language(lang)))
    index = as_int(step, "step", 1, MAX_MIX_STEPS) - 1
    index = min(index, len(state["x"]) - 1)
    return _mix_pair(state, index)


@friendly
def mix_play(state: Any, lang: Any):
    """Play the last mix run step by step: (slider value, x image, prediction image) per frame."""
    if not isinstance(state, dict) or not state.get("x"):
        raise gr.Error(pick(TEXT, "run_first", normalize_language(lang)))
    for index in range(len(state["x"])):
        yield (gr.update(value=index + 1), *_mix_pair(state, index))
        time.sleep(PLAY_FRAME_S)


# ----------------------------------------------------------------------------------------------
# B · the DDPM family, step by step
# ----------------------------------------------------------------------------------------------


def _curve_labels(lang: str) -> dict[str, str]:
    return {key: pick(TEXT, name, lang) for key, name in
            {"title": "curve_title", "x": "curve_x", "y": "curve_y", "curve": "curve", "current": "current"}.items()}  # fmt: skip


def initial_curve(lang: str):
    """The seed's training schedule's alpha_bar curve, cursor at t = T - 1 (where sampling starts)."""
    alpha_bar = make_scheduler(SEED_TRAINING_SCHEDULE).alphas_cumprod.tolist()
    return alpha_bar_figure(alpha_bar, len(alpha_bar) - 1, _curve_labels(lang))


def _format_t(t: float | int) -> str:
    return f"{t:.1f}" if isinstance(t, float) and not float(t).is_integer() else str(int(t))


def _frame_outputs(state: dict, index: int, lang: str) -> tuple:
    frame = state["frames"][index]
    images = step_images(frame["x_t"].float(), frame["pred_x0"].float(), frame["noise_pred"].float(), state["scale"],
                         square_columns(frame["x_t"].shape[0]))  # fmt: skip
    curve = alpha_bar_figure(state["alpha_bar"], float(frame["t"]), _curve_labels(lang))
    caption = pick(TEXT, "frame", lang).format(step=frame["step"] + 1, n=state["steps"], t=_format_t(frame["t"]))
    return (*images, curve, caption)


def _kept_steps(steps: int) -> set[int]:
    return {int(v) for v in np.rint(np.linspace(0, steps - 1, min(steps, MAX_KEPT_FRAMES)))}


@gpu_task(ddpm_gpu_seconds)
def ddpm_sample_view(scheduler: Any, steps: Any, batch: Any, seed: Any, lang: Any, session_models: Any = None):
    """Handler of the ``ddpm_sample`` API: stream x_t, predicted x0 and noise while sampling.

    Yields:
        (x_t, pred_x0, noise_pred, alpha_bar curve, status, state, scrubber, final grid, GIF, PNG, code).
    """
    lang = normalize_language(lang)
    sampler = as_choice(scheduler, "scheduler", sampling.SAMPLERS)
    steps = as_int(steps, "steps", 1, MAX_STEPS)
    batch = as_int(batch, "batch", 1, MAX_BATCH)
    seed = as_seed(seed)
    unet, train_scheduler, source, folder = resolve_ddpm(session_models, lang)
    code = DDPM_CODE.format(folder=folder, model=source.replace("*", ""), scheduler_line=SCHEDULER_LINES[sampler],
                            steps=steps, seed=seed, batch=batch)  # fmt: skip
    fast = sampler in sampling.FAST_SAMPLERS and sampling.fast_path_available(unet.device)
    records = sampling.scheduler_sample(
        unet, train_scheduler, sampler, steps, batch, generator=torch.Generator().manual_seed(seed), fast=fast
    )
    shown = min(batch, SHOWN_IMAGES)
    state: dict = {
        "frames": [],
        "steps": steps,
        "alpha_bar": DDPMScheduler.from_config(train_scheduler.config).alphas_cumprod.tolist(),
        "scale": _scale_for(shown, 300, square_columns(shown)),
    }
    keep = _kept_steps(steps)
    start = last_yield = time.perf_counter()
    skip = gr.skip()
    record = None
    for record in records:
        done = record.step == steps - 1
        due = done or record.step == 0 or time.perf_counter() - last_yield > STREAM_EVERY_S
        if record.step not in keep and not due:
            continue
        frame = {
            "step": record.step,
            "t": record.t,
            "x_t": record.x_t[:shown].detach().cpu().half(),
            "pred_x0": record.pred_x0[:shown].detach().cpu().half(),
            "noise_pred": record.noise_pred[:shown].detach().cpu().half(),
        }
        if record.step in keep:  # the scrubber and the GIF keep at most MAX_KEPT_FRAMES frames
            state["frames"].append(frame)
        if due and not done:
            *images, curve, _ = _frame_outputs({**state, "frames": [frame]}, 0, lang)
            status = pick(TEXT, "b_status", lang).format(step=record.step + 1, n=steps, t=_format_t(record.t),
                                                         sampler=sampler, seconds=time.perf_counter() - start,
                                                         source=source)  # fmt: skip
            yield (*images, curve, status, skip, skip, skip, skip, skip, code)
            last_yield = time.perf_counter()
    seconds = time.perf_counter() - start
    final = (record.x_prev.detach().float().cpu() / 2 + 0.5).clamp(0, 1)
    folder_out = download_folder("sampling-")
    final_image = to_image(final, (0, 1), nrow=8, scale=_scale_for(batch, 640))
    png = folder_out / f"{sampler}-{steps}-steps-seed{seed}.png"
    final_image.save(png)
    gif_frames = [to_image((f["x_t"].float() / 2 + 0.5).clamp(0, 1), (0, 1), nrow=square_columns(shown),
                           scale=state["scale"]) for f in state["frames"]]  # fmt: skip
    gif_frames.append(to_image(final[:shown], (0, 1), nrow=square_columns(shown), scale=state["scale"]))
    gif = write_gif(gif_frames, folder_out / f"{sampler}-{steps}-steps-seed{seed}.gif")
    *images, curve, _ = _frame_outputs(state, len(state["frames"]) - 1, lang)
    status = pick(TEXT, "b_status", lang).format(step=steps, n=steps, t=_format_t(record.t), sampler=sampler,
                                                 seconds=seconds, source=source)  # fmt: skip
    frames = len(state["frames"])
    scrub = gr.update(minimum=1, maximum=max(frames, 2), value=frames, interactive=True)
    yield (*images, curve, status, state, scrub, final_image, str(gif), str(png), code)


@friendly
def ddpm_scrub(frame: Any, state: Any, lang: Any):
    """Show one kept frame of the last DDPM-family run: (x_t, pred_x0, noise, curve, caption)."""
    lang = normalize_language(lang)
    if not isinstance(state, dict) or not state.get("frames"):
        raise gr.Error(pick(TEXT, "run_first", lang))
    index = min(as_int(frame, "frame", 1, MAX_STEPS) - 1, len(state["frames"]) - 1)
    return _frame_outputs(state, index, lang)


# ----------------------------------------------------------------------------------------------
# C · DDPMPipeline
# ----------------------------------------------------------------------------------------------


@gpu_task(pipeline_gpu_seconds)
def pipeline_sample_view(
    source: Any, hub_id: Any, steps: Any, batch: Any, seed: Any, lang: Any, session_models: Any = None,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
) -> tuple:  # fmt: skip
    """Handler of the ``pipeline_sample`` API: ``DDPMPipeline(...)`` and ``make_grid``.

    Returns:
        (grid image, status, code).
    """
    lang = normalize_language(lang)
    source = as_choice(source, "source", SOURCES)
    steps = as_int(steps, "steps", 1, MAX_STEPS)
    batch = as_int(batch, "batch", 1, MAX_BATCH)
    seed = as_seed(seed)
    if source == "hub":
        pipeline = load_hub_pipeline(hub_id, lang)
        folder, note = str(hub_id).strip(), pick(TEXT, "uses_hub", lang).format(id=str(hub_id).strip())
    elif source == "session":
        session = _session_ddpm(session_models)
        if session is None:
            raise ValueError(pick(TEXT, "no_session", lang))
        pipeline = DDPMPipeline(unet=session[0].eval(), scheduler=session[1])
        folder, note = "my_pipeline", pick(TEXT, "uses_session", lang)
    else:
        if not (DDPM_DIR / "model_index.json").is_file():
            raise gr.Error(pick(TEXT, "missing_ddpm", lang))
        pipeline = sampling.bundled_ddpm(DEVICE)
        folder, note = _relative(DDPM_DIR), pick(TEXT, "uses_bundled", lang).format(path=_relative(DDPM_DIR))
    start = time.perf_counter()
    images = sampling.pipeline_sample(pipeline, steps, batch, torch.Generator().manual_seed(seed), progress_bar=True)
    seconds = time.perf_counter() - start
    size = images.shape[-1]
    grid = to_image(images, (0, 1), nrow=8, scale=max(1, min(8, 640 // (min(batch, 8) * (size + 2)))))
    status = pick(TEXT, "c_status", lang).format(batch=batch, steps=steps, seconds=seconds, source=note)
    code = PIPELINE_CODE.format(folder=folder, model=note.replace("*", ""), seed=seed, batch=batch, steps=steps)
    return grid, status, code


@friendly
def save_session_pipeline(session_models: Any, lang: Any) -> str:
    """``save_pretrained`` this session's DDPM model into a folder, zipped for download."""
    lang = normalize_language(lang)
    session = _session_ddpm(session_models)
    if session is None:
        raise ValueError(pick(TEXT, "no_session", lang))
    unet, scheduler = session
    folder = download_folder("pipeline-")
    save_ddpm_pipeline(unet, DDPMScheduler.from_config(scheduler.config), folder / "my_pipeline")
    archive = shutil.make_archive(str(folder / "my_pipeline"), "zip", root_dir=folder, base_dir="my_pipeline")
    return archive


# ----------------------------------------------------------------------------------------------
# The tab
# ----------------------------------------------------------------------------------------------


def build(ctx: AppContext) -> None:
    """Build the Sampling tab."""
    loc = ctx.loc
    with gr.Tab(pick(TEXT, "tab", "zh"), id="sampling") as tab:
        loc.label(tab, TEXT, "tab")
        loc.value(markdown(pick(TEXT, "lesson", "zh"), elem_classes="lesson"), TEXT, "lesson")

        # A · the seed's mix sampler
        with gr.Accordion(pick(TEXT, "a_title", "zh"), open=True, elem_id="sample-a") as section_a:
            loc.value(markdown(pick(TEXT, "a_lesson", "zh")), TEXT, "a_lesson")
            with gr.Row():
                a_steps = slider(1, MAX_MIX_STEPS, value=5, step=1, label=pick(TEXT, "a_steps", "zh"),
                                 elem_id="mix-steps", name="n_steps")  # fmt: skip
                a_batch = slider(1, MAX_BATCH, value=8, step=1, label=pick(TEXT, "batch", "zh"), name="batch")
                a_seed = seed_number(pick(TEXT, "seed", "zh"))
                a_run = gr.Button(
                    pick(TEXT, "a_run", "zh"), variant="primary", elem_id="mix-run", scale=0, min_width=140
                )
            loc.label(a_steps, TEXT, "a_steps")
            loc.label(a_batch, TEXT, "batch")
            loc.label(a_seed, TEXT, "seed")
            loc.value(a_run, TEXT, "a_run")
            a_status = gr.Markdown(pick(TEXT, "status_idle", "zh"), elem_id="mix-status")
            with gr.Row():
                with gr.Column(scale=3):
                    a_figure = gr.Image(label=pick(TEXT, "a_figure", "zh"), elem_id="mix-figure",
                                        elem_classes="pixelated", format="png")  # fmt: skip
                    loc.label(a_figure, TEXT, "a_figure")
                with gr.Column(scale=2):
                    with gr.Row():
                        a_scrub = slider(1, 5, value=1, step=1, label=pick(TEXT, "a_scrub", "zh"),
                                         elem_id="mix-scrub", interactive=False, name="step")  # fmt: skip
                        a_play = gr.Button(pick(TEXT, "play", "zh"), elem_id="mix-play", scale=0, min_width=100)
                    loc.label(a_scrub, TEXT, "a_scrub")
                    loc.value(a_play, TEXT, "play")
                    a_x = gr.Image(label=pick(TEXT, "x_input", "zh"), elem_id="mix-x", elem_classes="pixelated",
                                   format="png")  # fmt: skip
                    a_pred = gr.Image(label=pick(TEXT, "model_pred", "zh"), elem_id="mix-pred",
                                      elem_classes="pixelated", format="png")  # fmt: skip
                    loc.label(a_x, TEXT, "x_input")
                    loc.label(a_pred, TEXT, "model_pred")
            with gr.Accordion(pick(COMMON, "code", "zh"), open=False) as a_accordion:
                a_code = gr.Code(MIX_CODE.format(n_steps=5, seed=0, batch=8, model="bundled"), language="python")
            loc.label(a_accordion, COMMON, "code")
        loc.label(section_a, TEXT, "a_title")
        a_state = gr.State(None, time_to_live=SESSION_TTL_SECONDS)

        # B · DDPM step by step
        with gr.Accordion(pick(TEXT, "b_title", "zh"), open=True, elem_id="sample-b") as section_b:
            loc.value(markdown(pick(TEXT, "b_lesson", "zh")), TEXT, "b_lesson")
            note_key = "gpu_note" if ON_GPU else "cpu_note"
            loc.value(gr.Markdown(pick(TEXT, note_key, "zh")), TEXT, note_key)
            with gr.Row():
                b_scheduler = gr.Radio([(pick(TEXT, k, "zh"), k) for k in sampling.SAMPLERS], value=DEFAULT_SAMPLER,
                                       label=pick(TEXT, "scheduler", "zh"), elem_id="ddpm-scheduler")  # fmt: skip
                loc.choices(b_scheduler, TEXT, SAMPLER_KEYS, label_key="scheduler")
            with gr.Row():
                b_steps = slider(1, MAX_STEPS, value=DEFAULT_STEPS, step=1, label=pick(TEXT, "b_steps", "zh"),
                                 elem_id="ddpm-steps", name="steps")  # fmt: skip
                b_batch = slider(1, MAX_BATCH, value=16, step=1, label=pick(TEXT, "batch", "zh"), name="batch")
                b_seed = seed_number(pick(TEXT, "seed", "zh"))
                b_run = gr.Button(
                    pick(TEXT, "b_run", "zh"), variant="primary", elem_id="ddpm-run", scale=0, min_width=140
                )
            loc.label(b_steps, TEXT, "b_steps")
            loc.label(b_batch, TEXT, "batch")
            loc.label(b_seed, TEXT, "seed")
            loc.value(b_run, TEXT, "b_run")
            b_status = gr.Markdown(pick(TEXT, "status_idle", "zh"), elem_id="ddpm-status")
            b_scrub = slider(1, 2, value=1, step=1, label=pick(TEXT, "b_scrub", "zh"), elem_id="ddpm-scrub",
                             interactive=False, name="frame")  # fmt: skip
            loc.label(b_scrub, TEXT, "b_scrub")
            with gr.Row():
                b_xt = gr.Image(
                    label=pick(TEXT, "x_t", "zh"), elem_id="ddpm-xt", elem_classes="pixelated", format="png"
                )
                b_pred = gr.Image(label=pick(TEXT, "pred_x0", "zh"), elem_id="ddpm-pred", elem_classes="pixelated",
                                  format="png")  # fmt: skip
                b_noise = gr.Image(label=pick(TEXT, "noise_pred", "zh"), elem_id="ddpm-noise",
                                   elem_classes="pixelated", format="png")  # fmt: skip
            for component, key in ((b_xt, "x_t"), (b_pred, "pred_x0"), (b_noise, "noise_pred")):
                loc.label(component, TEXT, key)
            with gr.Row():
                b_curve = gr.Plot(initial_curve("zh"), elem_id="sample-curve", show_label=False)
                b_final = gr.Image(label=pick(TEXT, "final", "zh"), elem_id="ddpm-final", elem_classes="pixelated",
                                   format="png")  # fmt: skip
                loc.label(b_final, TEXT, "final")
            with gr.Row():
                b_gif = gr.File(label=pick(TEXT, "gif", "zh"), elem_id="ddpm-gif", height=90)
                b_png = gr.File(label=pick(TEXT, "png", "zh"), elem_id="ddpm-png", height=90)
                loc.label(b_gif, TEXT, "gif")
                loc.label(b_png, TEXT, "png")
            with gr.Accordion(pick(COMMON, "code", "zh"), open=False) as b_accordion:
                b_code = gr.Code(DDPM_CODE.format(folder=_relative(DDPM_DIR), model="bundled",
                                 scheduler_line=SCHEDULER_LINES[DEFAULT_SAMPLER], steps=DEFAULT_STEPS, seed=0,
                                 batch=16), language="python")  # fmt: skip
            loc.label(b_accordion, COMMON, "code")
        loc.label(section_b, TEXT, "b_title")
        b_state = gr.State(None, time_to_live=SESSION_TTL_SECONDS)

        # C · the pipeline
        with gr.Accordion(pick(TEXT, "c_title", "zh"), open=True, elem_id="sample-c") as section_c:
            loc.value(markdown(pick(TEXT, "c_lesson", "zh")), TEXT, "c_lesson")
            with gr.Row():
                c_source = gr.Radio([(pick(TEXT, k, "zh"), k) for k in SOURCES], value="bundled",
                                    label=pick(TEXT, "source", "zh"), elem_id="pipe-source")  # fmt: skip
                loc.choices(c_source, TEXT, {k: k for k in SOURCES}, label_key="source")
                c_hub = gr.Textbox(value="google/ddpm-cifar10-32", label=pick(TEXT, "hub_id", "zh"),
                                   elem_id="pipe-hub", max_lines=1)  # fmt: skip
                loc.label(c_hub, TEXT, "hub_id")
            with gr.Row():
                c_steps = slider(1, MAX_STEPS, value=DEFAULT_PIPELINE_STEPS, step=1, label=pick(TEXT, "c_steps", "zh"),
                                 name="steps")  # fmt: skip
                c_batch = slider(1, MAX_BATCH, value=8, step=1, label=pick(TEXT, "batch", "zh"), name="batch")
                c_seed = seed_number(pick(TEXT, "seed", "zh"))
                c_run = gr.Button(
                    pick(TEXT, "c_run", "zh"), variant="primary", elem_id="pipe-run", scale=0, min_width=140
                )
            loc.label(c_steps, TEXT, "c_steps")
            loc.label(c_batch, TEXT, "batch")
            loc.label(c_seed, TEXT, "seed")
            loc.value(c_run, TEXT, "c_run")
            c_status = gr.Markdown("", elem_id="pipe-status")
            c_grid = gr.Image(label=pick(TEXT, "c_grid", "zh"), elem_id="pipe-grid", elem_classes="pixelated",
                              format="png")  # fmt: skip
            loc.label(c_grid, TEXT, "c_grid")
            with gr.Row():
                c_save = gr.Button(pick(TEXT, "save", "zh"), elem_id="pipe-save", size="sm")
                c_zip = gr.File(label=pick(TEXT, "save_file", "zh"), elem_id="pipe-zip", height=90)
            loc.value(c_save, TEXT, "save")
            loc.label(c_zip, TEXT, "save_file")
            with gr.Accordion(pick(COMMON, "code", "zh"), open=False) as c_accordion:
                c_code = gr.Code(PIPELINE_CODE.format(folder=_relative(DDPM_DIR), model="bundled", seed=0, batch=8,
                                 steps=DEFAULT_PIPELINE_STEPS), language="python")  # fmt: skip
            loc.label(c_accordion, COMMON, "code")
        loc.label(section_c, TEXT, "c_title")

    heavy = {"concurrency_limit": 2, "concurrency_id": "sample"}
    a_run.click(
        friendly(mix_sample_view),
        [a_steps, a_batch, a_seed, ctx.lang, ctx.session_models],
        [a_figure, a_x, a_pred, a_scrub, a_state, a_status, a_code],
        api_name="mix_sample",
        **heavy,
    )
    a_scrub.input(mix_scrub, [a_scrub, a_state, ctx.lang], [a_x, a_pred], api_visibility="private",
                  trigger_mode="always_last", show_progress="hidden")  # fmt: skip
    a_play.click(mix_play, [a_state, ctx.lang], [a_scrub, a_x, a_pred], api_visibility="private",
                 show_progress="hidden")  # fmt: skip
    b_run.click(
        friendly(ddpm_sample_view),
        [b_scheduler, b_steps, b_batch, b_seed, ctx.lang, ctx.session_models],
        [b_xt, b_pred, b_noise, b_curve, b_status, b_state, b_scrub, b_final, b_gif, b_png, b_code],
        api_name="ddpm_sample",
        **heavy,
    )
    b_scrub.input(ddpm_scrub, [b_scrub, b_state, ctx.lang], [b_xt, b_pred, b_noise, b_curve, b_status],
                  api_visibility="private", trigger_mode="always_last", show_progress="hidden")  # fmt: skip
    c_run.click(
        friendly(pipeline_sample_view),
        [c_source, c_hub, c_steps, c_batch, c_seed, ctx.lang, ctx.session_models],
        [c_grid, c_status, c_code],
        api_name="pipeline_sample",
        **heavy,
    )
    c_save.click(save_session_pipeline, [ctx.session_models, ctx.lang], c_zip, api_name="save_pipeline")

    # texts drawn before any run follow the language too: the idle hints and the alpha_bar chart
    def idle_status(current: Any, lang_value: Any) -> Any:
        idle = TEXT["status_idle"].values()
        return pick(TEXT, "status_idle", normalize_language(lang_value)) if current in idle else gr.skip()

    for status in (a_status, b_status):
        ctx.lang.change(idle_status, [status, ctx.lang], status, api_visibility="private", queue=False)
    ctx.lang.change(redraw_curve, [ctx.lang, b_state, b_scrub], b_curve, api_visibility="private", queue=False)


def redraw_curve(lang: Any, state: Any, frame: Any):
    """The alpha_bar chart in ``lang``: the schedule before any run, else the frame on show."""
    lang = normalize_language(lang)
    if not isinstance(state, dict) or not state.get("frames"):
        return initial_curve(lang)
    try:
        index = int(frame) - 1
    except (TypeError, ValueError):
        index = len(state["frames"]) - 1
    shown = state["frames"][min(max(index, 0), len(state["frames"]) - 1)]
    return alpha_bar_figure(state["alpha_bar"], float(shown["t"]), _curve_labels(lang))
