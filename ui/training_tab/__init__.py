"""Tab · 训练 / Training: watch BasicUNet (x0) or UNet2DModel (noise) learn, live.

The handler streams ``diffusion_core.training``'s ``TrainStep`` records: a plotly loss curve
(raw and smoothed, optional log scale), the seed's three-row figure "input / corrupted (or
noised) / network prediction" every N steps, and throughput with an ETA. The model trains in
place and is this session's model (``ctx.session_models``, a per-session ``gr.State``) from
the first update on, so Stop (``cancels=``) keeps what was learnt; the Sampling tab then uses
it. The learner can download it as safetensors or go back to the bundled checkpoint.
"""

from __future__ import annotations

import math
import time
from typing import Any

import gradio as gr
import plotly.graph_objects as go
import torch
from diffusers import DDPMPipeline, UNet2DModel

from diffusion_core.checkpoints import save_basic_unet
from diffusion_core.corruption import corrupt
from diffusion_core.data import load_mnist, mnist_batch, to_model_range, to_unit_range
from diffusion_core.device import gpu_seconds, gpu_task, on_zero_gpu, pick_device, to_host
from diffusion_core.figures import PALETTE, style_figure, to_image
from diffusion_core.models import BasicUNet
from diffusion_core.training import DEFAULT_LR, TrainConfig, build_model, make_training_scheduler, train_eps, train_x0
from diffusion_core.user_data import MAX_IMAGES, MIN_IMAGES, images_to_tensor
from ui.common import TEXT as COMMON
from ui.common import download_folder, markdown
from ui.components import number, seed_number, slider
from ui.context import AppContext
from ui.errors import as_bool, as_choice, as_float, as_int, as_seed, friendly
from ui.i18n import Text, normalize_language, pick

MAX_STEPS = 5000  # a browser session trains for minutes, not hours (the CLI has no such limit)
MAX_BATCH = 512
MAX_PREVIEW_EVERY = 500
MIN_SECONDS_BETWEEN_UPDATES = 0.5  # at most ~2 streamed updates per second, plus every preview
PREVIEW_COUNT = 8  # images in the three-row figure, as in the seed
SMOOTHING = 0.9  # exponential smoothing of the loss curve (debiased, like TensorBoard's)
DEVICE = pick_device()
TRAIN_CONCURRENCY = {"concurrency_id": "train", "concurrency_limit": 2}

# Stop asks the running loop to finish at its next step (session hash -> when Stop was pressed). Cancelling
# the event instead left Gradio's page showing "Error" badges on the outputs about one time in three.
_stop_requests: dict[str, float] = {}


def request_stop(request: gr.Request) -> None:
    """Handler of the Stop button: the session's running ``train_view`` ends after its current step."""
    session = getattr(request, "session_hash", None)
    if session:
        _stop_requests[session] = time.time()


TEXT: Text = {
    "tab": {"zh": "④ 训练", "en": "④ Training"},
    "lesson": {
        "zh": "### 训练模型\n"
        "训练就是反复做五件事：**取一批数据 → 加随机噪声 → 送进模型 → 把预测和目标比较算出 loss → 更新参数**。\n\n"
        "- **BasicUNet（预测 x0）**：教程前半部分的做法。每张图随机取一个 amount，用 `corrupt` 损坏它，"
        "模型要猜出**干净的原图**，损失是预测和原图之间的均方误差（MSE）。优化器 Adam，学习率 1e-3，批量 128。\n"
        "- **UNet2DModel（预测噪声 ε）**：DDPM 的做法。图像先映射到 [-1, 1]，随机取时间步 t，"
        '用 `DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")` 加上高斯噪声'
        "（`torch.randn`，不是 `rand`！），模型要猜出**加进去的噪声**，损失是预测噪声和真实噪声的 MSE。"
        "优化器 AdamW，学习率 4e-4。\n\n"
        "点 **开始训练**，看损失曲线一路下降；下面三行图每隔 N 步刷新一次：原图、损坏（或加噪）后的图、"
        "模型的预测。训练好的模型就是你这次会话的模型，「⑤ 采样」页会用它来生成数字。",
        "en": "### Training the model\n"
        "Training repeats five things: **get a batch → add random noise → feed the model → compare its "
        "prediction with the target (the loss) → update the weights**.\n\n"
        "- **BasicUNet (predicts x0)**: the first half of the tutorial. Each image gets a random amount, "
        "`corrupt` damages it, and the model must guess the **clean image**; the loss is the mean squared "
        "error (MSE) between prediction and clean image. Adam, learning rate 1e-3, batch 128.\n"
        "- **UNet2DModel (predicts the noise ε)**: the DDPM way. Images are mapped to [-1, 1], a random "
        'timestep t is drawn, and `DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")` '
        "adds Gaussian noise (`torch.randn`, not `rand`!); the model must guess **the noise that was added**, "
        "and the loss is the MSE between predicted and true noise. AdamW, learning rate 4e-4.\n\n"
        "Press **Start** and watch the loss fall; the three rows below refresh every N steps: the inputs, "
        "the corrupted (or noised) inputs, and the model's prediction. The trained model becomes this "
        "session's model, and the ⑤ Sampling tab generates digits with it.",
    },
    "model": {"zh": "模型", "en": "Model"},
    "model_basic": {"zh": "BasicUNet（预测干净图 x0）", "en": "BasicUNet (predicts the clean x0)"},
    "model_ddpm": {"zh": "UNet2DModel（预测噪声 ε，DDPM）", "en": "UNet2DModel (predicts the noise ε, DDPM)"},
    "data": {"zh": "训练数据", "en": "Training data"},
    "data_mnist": {"zh": "内置 MNIST（1 万张手写数字）", "en": "Bundled MNIST (10,000 digits)"},
    "data_upload": {"zh": "上传自己的图片（8–2000 张）", "en": "Upload your own images (8–2000)"},
    "upload": {
        "zh": "上传图片（8–2000 张，会缩放成 28×28 灰度图）",
        "en": "Upload images (8–2000; resized to 28×28 grayscale)",
    },
    "rgb": {"zh": "彩色 32×32（仅 UNet2DModel）", "en": "Colour 32×32 (UNet2DModel only)"},
    "steps": {"zh": "训练步数", "en": "Training steps"},
    "steps_info": {"zh": "每一步用一批图片更新一次参数", "en": "Each step updates the weights once, on one batch"},
    "batch": {"zh": "批量大小", "en": "Batch size"},
    "lr": {"zh": "学习率", "en": "Learning rate"},
    "lr_info": {
        "zh": "教程：BasicUNet 1e-3，UNet2DModel 4e-4",
        "en": "Tutorial: 1e-3 for BasicUNet, 4e-4 for UNet2DModel",
    },
    "seed": {"zh": "随机种子", "en": "Random seed"},
    "preview_every": {"zh": "每隔 N 步刷新三行图", "en": "Refresh the three rows every N steps"},
    "start": {"zh": "▶ 开始训练", "en": "▶ Start training"},
    "stop": {"zh": "■ 停止", "en": "■ Stop"},
    "log_scale": {"zh": "损失用对数坐标", "en": "Log-scale loss"},
    "row_input": {"zh": "输入数据 Input data", "en": "Input data"},
    "row_corrupted": {
        "zh": "损坏后的数据（amount 从左到右 0 → 1）",
        "en": "Corrupted data (amount 0 → 1, left to right)",
    },
    "row_noised": {
        "zh": "加噪后的数据 x_t（t 从左到右 0 → 999）",
        "en": "Noised data x_t (t from 0 to 999, left to right)",
    },
    "row_pred_x0": {"zh": "网络预测 Network predictions", "en": "Network predictions"},
    "row_pred_eps": {
        "zh": "网络预测（由预测噪声换算出的 x0）",
        "en": "Network predictions (x0 computed from the predicted noise)",
    },
    "plot_title": {"zh": "训练损失", "en": "Training loss"},
    "plot_x": {"zh": "训练步数", "en": "step"},
    "plot_y": {"zh": "MSE 损失", "en": "MSE loss"},
    "raw": {"zh": "每步损失", "en": "loss per step"},
    "smoothed": {"zh": "平滑后", "en": "smoothed"},
    "idle": {
        "zh": "还没开始训练。选好设置后点 **▶ 开始训练**。",
        "en": "Not training yet. Pick the settings and press **▶ Start training**.",
    },
    "status": {
        "zh": "第 **{step} / {total}** 步 · 第 {epoch} 轮 · 已看 {seen:,} 张图 · 损失 **{loss:.4f}**"
        "（平滑 {smooth:.4f}）· **{rate:.0f} 张/秒** · 已用 {elapsed} · 预计还要 **{eta}** · 设备 {device}",
        "en": "Step **{step} / {total}** · epoch {epoch} · {seen:,} images seen · loss **{loss:.4f}** "
        "(smoothed {smooth:.4f}) · **{rate:.0f} img/s** · {elapsed} elapsed · ETA **{eta}** · device {device}",
    },
    "done": {
        "zh": "\n\n✅ 训练完成。这个模型现在是你这次会话的模型，「⑤ 采样」页会用它。",
        "en": "\n\n✅ Done. This model is now your session's model; the ⑤ Sampling tab uses it.",
    },
    "stopped": {
        "zh": "\n\n⏹ 已停止。模型保留了到这一步为止学到的东西，现在是你这次会话的模型，「⑤ 采样」页会用它。",
        "en": "\n\n⏹ Stopped. The model keeps what it learnt up to this step; it is now your session's model, "
        "and the ⑤ Sampling tab uses it.",
    },
    "session_note": {
        "zh": "本次会话的模型：{models}",
        "en": "This session's models: {models}",
    },
    "no_session_models": {"zh": "（无，采样页使用内置模型）", "en": "(none; Sampling uses the bundled ones)"},
    "download": {"zh": "⬇ 下载 safetensors", "en": "⬇ Download safetensors"},
    "reset": {"zh": "↺ 恢复内置模型", "en": "↺ Back to the bundled model"},
    "files": {"zh": "下载文件", "en": "Files"},
    "no_model": {
        "zh": "这次会话还没有训练过 {model}，请先训练",
        "en": "no {model} has been trained in this session yet: train one first",
    },
    "reset_done": {
        "zh": "已恢复：{model} 回到内置模型，采样页将使用 assets/checkpoints 中的权重。",
        "en": "Reset: {model} is back to the bundled model; Sampling uses the weights in assets/checkpoints.",
    },
    "need_upload": {"zh": "请先上传 8–2000 张图片", "en": "please upload 8–2000 images first"},
    "rgb_basic": {
        "zh": "彩色 32×32 只用于 UNet2DModel；BasicUNet 请用灰度",
        "en": "colour 32×32 is for UNet2DModel only; use grayscale for BasicUNet",
    },
}

CODE_BASIC = """import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from diffusion_core.corruption import corrupt      # x * (1 - amount) + rand * amount
from diffusion_core.data import load_mnist
from diffusion_core.models import BasicUNet

torch.manual_seed({seed})
images = load_mnist()[0]  # (10000, 1, 28, 28) in [0, 1]{data_note}
loader = DataLoader(TensorDataset(images), batch_size={batch}, shuffle=True)
net = BasicUNet()
opt = torch.optim.Adam(net.parameters(), lr={lr:g})
losses, step = [], 0
while step < {steps}:
    for (x,) in loader:
        noise_amount = torch.rand(x.shape[0])    # 1. a random amount per image
        noisy_x = corrupt(x, noise_amount)       # 2. corrupt the batch
        pred = net(noisy_x)                      # 3. predict the clean image
        loss = F.mse_loss(pred, x)               # 4. compare with the clean image
        opt.zero_grad()
        loss.backward()                          # 5. update the weights
        opt.step()
        losses.append(loss.item())
        step += 1
        if step == {steps}:
            break

# The same loop, as a generator of per-step records (what this tab streams):
# from diffusion_core.training import TrainConfig, build_model, train_x0
# for record in train_x0(build_model("basic", seed={seed}), images, TrainConfig(model="basic", steps={steps},
#                        epochs=None, batch_size={batch}, lr={lr:g}, seed={seed})):
#     print(record.step, record.loss)
"""

CODE_DDPM = """import torch
import torch.nn.functional as F
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel
from torch.utils.data import DataLoader, TensorDataset
from diffusion_core.data import load_mnist

torch.manual_seed({seed})
images = load_mnist()[0] * 2 - 1  # (10000, 1, 28, 28), mapped to [-1, 1]{data_note}
loader = DataLoader(TensorDataset(images), batch_size={batch}, shuffle=True)
model = UNet2DModel(sample_size={size}, in_channels={channels}, out_channels={channels}, layers_per_block=2,
                    block_out_channels=(32, 64, 64),
                    down_block_types=("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
                    up_block_types=("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"))
noise_scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
optimizer = torch.optim.AdamW(model.parameters(), lr={lr:g})
losses, step = [], 0
while step < {steps}:
    for (clean_images,) in loader:
        noise = torch.randn(clean_images.shape)                        # 1. Gaussian noise (randn, not rand)
        timesteps = torch.randint(0, 1000, (clean_images.shape[0],))   # 2. a random t per image
        noisy_images = noise_scheduler.add_noise(clean_images, noise, timesteps)  # 3. x_t (DDPM eq. 4)
        noise_pred = model(noisy_images, timesteps, return_dict=False)[0]         # 4. predict the noise
        loss = F.mse_loss(noise_pred, noise)                           # 5. compare with the true noise
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        step += 1
        if step == {steps}:
            break

DDPMPipeline(unet=model, scheduler=noise_scheduler).save_pretrained("my_pipeline")
"""

UPLOAD_NOTE = """
# your own images instead (8..2000 files):
# from diffusion_core.user_data import images_to_tensor
# images = images_to_tensor(["a.png", "b.png", ...], "{fmt}"){shift}"""


# ----------------------------------------------------------------------------------------------
# Pictures
# ----------------------------------------------------------------------------------------------


def loss_figure(steps: list[int], losses: list[float], log_scale: bool, lang: str) -> go.Figure:
    """The loss curve: raw per-step loss (thin) and its debiased exponential smoothing."""
    smoothed = smooth(losses)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=steps,
            y=losses,
            mode="lines",
            name=pick(TEXT, "raw", lang),
            opacity=0.35,
            line={"color": PALETTE[0], "width": 1},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=steps,
            y=smoothed,
            mode="lines",
            name=pick(TEXT, "smoothed", lang),
            line={"color": PALETTE[1], "width": 2.5},
        )
    )
    style_figure(fig, pick(TEXT, "plot_title", lang), pick(TEXT, "plot_x", lang), pick(TEXT, "plot_y", lang))
    fig.update_yaxes(type="log" if log_scale else "linear", rangemode="tozero" if not log_scale else None)
    return fig


def smooth(values: list[float], weight: float = SMOOTHING) -> list[float]:
    """Debiased exponential moving average (TensorBoard's smoothing)."""
    out, average = [], 0.0
    for index, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        out.append(average / (1 - weight ** (index + 1)))
    return out


@torch.no_grad()
def preview_rows(kind: str, model: torch.nn.Module, x: torch.Tensor, seed: int) -> tuple:
    """The seed's three rows for 8 fixed images: (input, corrupted or noised, prediction) as PIL images.

    Args:
        x (`torch.Tensor`, (8, C, H, W), in [0, 1]): the preview images.
    """
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    if kind == "basic":
        # the seed's figure: amount = linspace(0, 1, 8) across the row
        amount = torch.linspace(0, 1, x.shape[0])
        noisy = corrupt(x, amount, generator=generator)
        pred = model(noisy.to(device)).float().cpu()
        rows = (x, noisy.clamp(0, 1), pred.clamp(0, 1))
    else:
        # noised x_t at t = linspace(0, 999, 8); the prediction shown is x0 recovered from the noise:
        # pred_x0 = (x_t - sqrt(1 - alpha_bar_t) * noise_pred) / sqrt(alpha_bar_t)
        scheduler = make_training_scheduler()
        x0 = to_model_range(x)
        t = torch.linspace(0, scheduler.config.num_train_timesteps - 1, x.shape[0]).long()
        noise = torch.randn(x0.shape, generator=generator)
        x_t = scheduler.add_noise(x0, noise, t)
        noise_pred = model(x_t.to(device), t.to(device)).sample.float().cpu()
        alpha_bar = scheduler.alphas_cumprod[t].view(-1, 1, 1, 1)
        pred_x0 = (x_t - (1 - alpha_bar).sqrt() * noise_pred) / alpha_bar.sqrt()
        rows = (x, to_unit_range(x_t).clamp(0, 1), to_unit_range(pred_x0).clamp(0, 1))
    scale = 4 if x.shape[-1] <= 32 else 2
    return tuple(to_image(row, nrow=8, scale=scale) for row in rows)


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _session_summary(models: dict, lang: str) -> str:
    names = [name for name in ("basic", "ddpm") if name in (models or {})]
    labels = {"basic": "BasicUNet", "ddpm": "UNet2DModel"}
    listed = ", ".join(labels[n] for n in names) if names else pick(TEXT, "no_session_models", lang)
    return pick(TEXT, "session_note", lang).format(models=listed)


def training_code(kind: str, steps: int, batch: int, lr: float, seed: int, data: str, rgb: bool) -> str:
    """The torch/diffusers loop that reproduces the current settings."""
    fmt = "rgb32" if rgb else "gray28"
    shift = " * 2 - 1" if kind == "ddpm" else ""
    data_note = UPLOAD_NOTE.format(fmt=fmt, shift=shift) if data == "upload" else ""
    template = CODE_BASIC if kind == "basic" else CODE_DDPM
    channels, size = (3, 32) if rgb else (1, 28)
    return template.format(
        seed=seed, steps=steps, batch=batch, lr=lr, data_note=data_note, channels=channels, size=size
    )


# ----------------------------------------------------------------------------------------------
# Handlers
# ----------------------------------------------------------------------------------------------


def _load_data(data: str, uploads: Any, kind: str, rgb: bool, lang: str) -> torch.Tensor:
    if data == "mnist":
        return load_mnist()[0]
    if rgb and kind != "ddpm":
        raise ValueError(pick(TEXT, "rgb_basic", lang))
    files = uploads if isinstance(uploads, list) else ([uploads] if uploads else [])
    if not files:
        raise ValueError(pick(TEXT, "need_upload", lang))
    paths = [getattr(item, "name", None) or getattr(item, "path", None) or item for item in files]
    paths = [item.get("path") if isinstance(item, dict) else item for item in paths]
    if any(not isinstance(path, str) for path in paths):
        raise ValueError("uploads must be files")
    return images_to_tensor(paths, "rgb32" if rgb else "gray28")


def train_gpu_seconds(kind: Any = None, data: Any = None, uploads: Any = None, rgb: Any = None, steps: Any = 0,
                      *_: Any, **__: Any) -> int:  # fmt: skip
    """ZeroGPU quota of one ``train`` call: ~30 ms a step (batch up to 512, with previews), at most 5 minutes."""
    return gpu_seconds(steps, 0.03, base=20, cap=300)


@gpu_task(train_gpu_seconds)
def train_view(
    kind: Any,
    data: Any,
    uploads: Any,
    rgb: Any,
    steps: Any,
    batch: Any,
    lr: Any,
    seed: Any,
    preview_every: Any,
    log_scale: Any,
    lang: Any,
    session_models: Any,
    request: gr.Request | None = None,
):
    """Handler of the ``train`` API: stream the training of one model.

    Stop (the button) ends the run after its current step with a final "stopped" update; an API
    client can also cancel the job (``job.cancel()``). Either way the session keeps the model.

    Yields:
        (loss figure, input row, corrupted/noised row, prediction row, status markdown, code,
        session models, run state).
    """
    session_hash = getattr(request, "session_hash", None)
    _stop_requests.pop(session_hash, None)  # a Stop pressed before this run does not stop it
    # 1. validate every widget value (the API can send anything)
    lang = normalize_language(lang)
    kind = as_choice(kind, "model", ("basic", "ddpm"))
    data = as_choice(data, "data", ("mnist", "upload"))
    rgb = as_bool(rgb, "rgb") and data == "upload"
    log_scale = as_bool(log_scale, "log_scale")
    steps = as_int(steps, "steps", 1, MAX_STEPS)
    batch = as_int(batch, "batch size", 1, MAX_BATCH)
    lr = as_float(lr, "learning rate", 1e-7, 1.0)
    seed = as_seed(seed)
    preview_every = as_int(preview_every, "preview every", 1, MAX_PREVIEW_EVERY)
    images = _load_data(data, uploads, kind, rgb, lang)
    config = TrainConfig(
        model=kind,
        steps=steps,
        epochs=None,
        batch_size=batch,
        lr=lr,
        seed=seed,
        device=DEVICE.type,
        fast=DEVICE.type == "cuda",  # on the CPU the plain loop reports every step at no extra cost
    ).validate(len(images))

    # 2. the model: this session's from now on (trained in place, so Stop keeps what it learnt)
    model = build_model(kind, channels=images.shape[1], image_size=images.shape[-1], seed=seed)
    entry = model if kind == "basic" else DDPMPipeline(unet=model, scheduler=make_training_scheduler())
    models = {**(session_models if isinstance(session_models, dict) else {}), kind: entry}
    loop = train_x0(model, images, config) if kind == "basic" else train_eps(model, images, config)
    if data == "mnist":
        preview = mnist_batch(PREVIEW_COUNT, seed)[0]
    else:
        index = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:PREVIEW_COUNT]
        preview = images[index]
    code = training_code(kind, steps, batch, lr, seed, data, rgb)
    device_name = DEVICE.type

    # 3. stream: a curve update at most every MIN_SECONDS_BETWEEN_UPDATES, the three rows every N steps
    xs: list[int] = []
    losses: list[float] = []
    rows = preview_rows(kind, model, preview, seed)
    last_update = 0.0
    for record in loop:
        first = record.step - len(record.step_losses) + 1
        xs.extend(range(first, record.step + 1))
        losses.extend(record.step_losses)
        stopped = session_hash is not None and _stop_requests.pop(session_hash, None) is not None
        finished = record.step >= steps or stopped
        new_rows = record.step % preview_every == 0 or finished
        if not (new_rows or finished or time.perf_counter() - last_update >= MIN_SECONDS_BETWEEN_UPDATES):
            continue
        if new_rows:
            rows = preview_rows(kind, model, preview, seed)
            model.train()
        rate = record.images_seen / max(record.seconds, 1e-9)
        status = pick(TEXT, "status", lang).format(
            step=record.step,
            total=steps,
            epoch=record.epoch,
            seen=record.images_seen,
            loss=record.loss,
            smooth=smooth(losses)[-1],
            rate=rate,
            elapsed=_duration(record.seconds),
            eta="—" if stopped else _duration((steps - record.step) * record.seconds / record.step),
            device=device_name,
        )
        if finished:
            status += pick(TEXT, "stopped" if stopped else "done", lang) + "\n\n" + _session_summary(models, lang)
        state = {"steps": xs, "losses": losses, "kind": kind}
        # on ZeroGPU this runs in a forked worker: hand back a CPU copy of the model (elsewhere the model itself)
        session = {**models, kind: to_host(entry)}
        yield (loss_figure(xs, losses, bool(log_scale), lang), *rows, status, code, session, state)
        last_update = time.perf_counter()
        if stopped:
            return


def redraw_loss(state: Any, log_scale: Any, lang: Any) -> Any:
    """Redraw the loss curve of the last run (log-scale toggle, language switch)."""
    lang = normalize_language(lang)
    if not isinstance(state, dict) or not state.get("losses"):
        return loss_figure([], [], bool(log_scale), lang)
    return loss_figure(state["steps"], state["losses"], bool(log_scale), lang)


def download_model(kind: Any, session_models: Any, lang: Any) -> list[str]:
    """Write this session's model of ``kind`` as safetensors (+ its config.json) for download."""
    lang = normalize_language(lang)
    kind = as_choice(kind, "model", ("basic", "ddpm"))
    entry = (session_models or {}).get(kind) if isinstance(session_models, dict) else None
    label = "BasicUNet" if kind == "basic" else "UNet2DModel"
    folder = download_folder(f"trained-{kind}-")
    if isinstance(entry, BasicUNet):
        save_basic_unet(entry, folder)
        return [str(folder / "model.safetensors"), str(folder / "config.json")]
    unet = entry.unet if isinstance(entry, DDPMPipeline) else entry
    if not isinstance(unet, UNet2DModel):
        raise ValueError(pick(TEXT, "no_model", lang).format(model=label))
    unet.to(memory_format=torch.contiguous_format).save_pretrained(str(folder), safe_serialization=True)
    return [str(folder / "diffusion_pytorch_model.safetensors"), str(folder / "config.json")]


def reset_model(kind: Any, session_models: Any, lang: Any) -> tuple[dict, str]:
    """Forget this session's model of ``kind``: Sampling goes back to the bundled checkpoint."""
    lang = normalize_language(lang)
    kind = as_choice(kind, "model", ("basic", "ddpm"))
    models = {k: v for k, v in (session_models or {}).items() if k != kind} if isinstance(session_models, dict) else {}
    label = "BasicUNet" if kind == "basic" else "UNet2DModel"
    return models, pick(TEXT, "reset_done", lang).format(model=label) + "\n\n" + _session_summary(models, lang)


# ----------------------------------------------------------------------------------------------
# The tab
# ----------------------------------------------------------------------------------------------


def build(ctx: AppContext) -> None:
    """Build the Training tab."""
    loc = ctx.loc
    blank = preview_rows("basic", build_model("basic", seed=0), mnist_batch(PREVIEW_COUNT, 0)[0], 0)
    with gr.Tab(pick(TEXT, "tab", "zh"), id="training") as tab:
        loc.label(tab, TEXT, "tab")
        loc.value(markdown(pick(TEXT, "lesson", "zh"), elem_classes="lesson"), TEXT, "lesson")
        with gr.Row():
            with gr.Column(scale=2):
                kind = gr.Radio(
                    [(pick(TEXT, "model_basic", "zh"), "basic"), (pick(TEXT, "model_ddpm", "zh"), "ddpm")],
                    value="basic",
                    label=pick(TEXT, "model", "zh"),
                    elem_id="train-model",
                )
                loc.choices(kind, TEXT, {"basic": "model_basic", "ddpm": "model_ddpm"}, label_key="model")
                data = gr.Radio(
                    [(pick(TEXT, "data_mnist", "zh"), "mnist"), (pick(TEXT, "data_upload", "zh"), "upload")],
                    value="mnist",
                    label=pick(TEXT, "data", "zh"),
                    elem_id="train-data",
                )
                loc.choices(data, TEXT, {"mnist": "data_mnist", "upload": "data_upload"}, label_key="data")
                uploads = gr.File(
                    file_count="multiple", label=pick(TEXT, "upload", "zh"), visible=False, height=120,
                    elem_id="train-uploads",
                )  # fmt: skip
                loc.label(uploads, TEXT, "upload")
                rgb = gr.Checkbox(False, label=pick(TEXT, "rgb", "zh"), visible=False, elem_id="train-rgb")
                loc.label(rgb, TEXT, "rgb")
                with gr.Row():
                    steps = slider(1, MAX_STEPS, value=200, step=1, label=pick(TEXT, "steps", "zh"),
                                   info=pick(TEXT, "steps_info", "zh"), name="steps", elem_id="train-steps")  # fmt: skip
                    loc.label(steps, TEXT, "steps", "steps_info")
                    batch = slider(1, MAX_BATCH, value=64, step=1, label=pick(TEXT, "batch", "zh"),
                                   name="batch size", elem_id="train-batch")  # fmt: skip
                    loc.label(batch, TEXT, "batch")
                with gr.Row():
                    lr = number(value=DEFAULT_LR["basic"], label=pick(TEXT, "lr", "zh"), info=pick(TEXT, "lr_info", "zh"),
                                minimum=1e-7, maximum=1.0, name="learning rate", elem_id="train-lr")  # fmt: skip
                    loc.label(lr, TEXT, "lr", "lr_info")
                    seed = seed_number(pick(TEXT, "seed", "zh"), elem_id="train-seed")  # fmt: skip
                    loc.label(seed, TEXT, "seed")
                preview_every = slider(1, MAX_PREVIEW_EVERY, value=10, step=1, label=pick(TEXT, "preview_every", "zh"),
                                       name="preview every", elem_id="train-preview-every")  # fmt: skip
                loc.label(preview_every, TEXT, "preview_every")
                with gr.Row():
                    start = gr.Button(pick(TEXT, "start", "zh"), variant="primary", elem_id="train-start")
                    loc.value(start, TEXT, "start")
                    stop = gr.Button(pick(TEXT, "stop", "zh"), variant="stop", elem_id="train-stop")
                    loc.value(stop, TEXT, "stop")
            with gr.Column(scale=3):
                status = markdown(pick(TEXT, "idle", "zh"), elem_id="train-status")
                plot = gr.Plot(loss_figure([], [], False, "zh"), show_label=False, elem_id="train-loss")
                log_scale = gr.Checkbox(False, label=pick(TEXT, "log_scale", "zh"), elem_id="train-log")
                loc.label(log_scale, TEXT, "log_scale")
        row_input = gr.Image(blank[0], label=pick(TEXT, "row_input", "zh"), elem_classes="pixelated", height=140,
                             format="png", elem_id="train-row-input")  # fmt: skip
        loc.label(row_input, TEXT, "row_input")
        row_noisy = gr.Image(blank[1], label=pick(TEXT, "row_corrupted", "zh"), elem_classes="pixelated", height=140,
                             format="png", elem_id="train-row-noisy")  # fmt: skip
        row_pred = gr.Image(blank[2], label=pick(TEXT, "row_pred_x0", "zh"), elem_classes="pixelated", height=140,
                            format="png", elem_id="train-row-pred")  # fmt: skip
        with gr.Row():
            download = gr.Button(pick(TEXT, "download", "zh"), size="sm", elem_id="train-download")
            loc.value(download, TEXT, "download")
            reset = gr.Button(pick(TEXT, "reset", "zh"), size="sm", elem_id="train-reset")
            loc.value(reset, TEXT, "reset")
        files = gr.File(label=pick(TEXT, "files", "zh"), file_count="multiple", height=90, elem_id="train-files")
        loc.label(files, TEXT, "files")
        with gr.Accordion(pick(COMMON, "code", "zh"), open=False) as accordion:
            code = gr.Code(training_code("basic", 200, 64, DEFAULT_LR["basic"], 0, "mnist", False), language="python")
        loc.label(accordion, COMMON, "code")
        run_state = gr.State({}, time_to_live=60 * 60)

    # the row labels follow the model: "corrupted" for BasicUNet, "noised x_t" for DDPM (and the language:
    # not through `loc`, whose fixed BasicUNet labels would race this and win)
    def row_labels(kind_value: Any, lang_value: Any) -> tuple:
        lang_value = normalize_language(lang_value)
        ddpm = kind_value == "ddpm"
        return (
            gr.update(label=pick(TEXT, "row_noised" if ddpm else "row_corrupted", lang_value)),
            gr.update(label=pick(TEXT, "row_pred_eps" if ddpm else "row_pred_x0", lang_value)),
            gr.update(value=DEFAULT_LR["ddpm" if ddpm else "basic"]),
        )

    kind.change(row_labels, [kind, ctx.lang], [row_noisy, row_pred, lr], api_visibility="private", queue=False)
    ctx.lang.change(
        lambda k, lang_value: row_labels(k, lang_value)[:2], [kind, ctx.lang], [row_noisy, row_pred],
        api_visibility="private", queue=False,
    )  # fmt: skip

    def idle_status(current: Any, lang_value: Any) -> Any:
        # the "not training yet" hint follows the language; a run's status is left as it is
        return pick(TEXT, "idle", normalize_language(lang_value)) if current in TEXT["idle"].values() else gr.skip()

    ctx.lang.change(idle_status, [status, ctx.lang], status, api_visibility="private", queue=False)
    data.change(
        lambda d, k: (gr.update(visible=d == "upload"), gr.update(visible=d == "upload" and k == "ddpm")),
        [data, kind], [uploads, rgb], api_visibility="private", queue=False,
    )  # fmt: skip
    kind.change(lambda d, k: gr.update(visible=d == "upload" and k == "ddpm"), [data, kind], rgb,
                api_visibility="private", queue=False)  # fmt: skip

    train_event = start.click(
        friendly(train_view),
        [kind, data, uploads, rgb, steps, batch, lr, seed, preview_every, log_scale, ctx.lang, ctx.session_models],
        [plot, row_input, row_noisy, row_pred, status, code, ctx.session_models, run_state],
        api_name="train",
        show_progress="minimal",
        **TRAIN_CONCURRENCY,
    )
    # on ZeroGPU the loop runs in a forked worker that cannot see the stop request: cancel the event there
    stop.click(request_stop, None, None, cancels=[train_event] if on_zero_gpu() else None, api_visibility="private",
               queue=False)  # fmt: skip
    gr.on(
        [log_scale.change, ctx.lang.change],
        redraw_loss,
        [run_state, log_scale, ctx.lang],
        plot,
        api_visibility="private",
        queue=False,
    )
    download.click(friendly(download_model), [kind, ctx.session_models, ctx.lang], files, api_name="train_download")
    reset.click(
        friendly(reset_model),
        [kind, ctx.session_models, ctx.lang],
        [ctx.session_models, status],
        api_name="train_reset",
    )


__all__ = ["MAX_IMAGES", "MIN_IMAGES", "build", "train_view"]
