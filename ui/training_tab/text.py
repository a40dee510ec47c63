"""The Training tab's words: the bilingual ``TEXT``, the code templates and the texts built from them.

``training_code`` fills a template with the current settings (the torch/diffusers loop that
reproduces the run); ``session_summary`` names the models this session has trained.
"""

from __future__ import annotations

from ui.i18n import Text, pick
from ui.training_tab.settings import DEFAULT_BATCH, MODEL_NAMES

TEXT: Text = {
    "tab": {"zh": "④ 训练", "en": "④ Training"},
    "lesson": {
        "zh": "### 训练模型\n"
        "训练就是反复做五件事：**取一批数据 → 加随机噪声 → 送进模型 → 把预测和目标比较算出 loss → 更新参数**。\n\n"
        "- **BasicUNet（预测 x0）**：教程前半部分的做法。每张图随机取一个 amount，用 `corrupt` 损坏它，"
        f"模型要猜出**干净的原图**，损失是预测和原图之间的均方误差（MSE）。优化器 Adam，学习率 1e-3，批量 {DEFAULT_BATCH}。\n"
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
        f"error (MSE) between prediction and clean image. Adam, learning rate 1e-3, batch {DEFAULT_BATCH}.\n"
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
        "zh": "\n\n✓ 训练完成。这个模型现在是你这次会话的模型，「⑤ 采样」页会用它。",
        "en": "\n\n✓ Done. This model is now your session's model; the ⑤ Sampling tab uses it.",
    },
    "stopped": {
        "zh": "\n\n■ 已停止。模型保留了到这一步为止学到的东西，现在是你这次会话的模型，「⑤ 采样」页会用它。",
        "en": "\n\n■ Stopped. The model keeps what it learnt up to this step; it is now your session's model, "
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

BASIC_TRAIN_CODE = """import torch
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

DDPM_TRAIN_CODE = """import torch
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


def training_code(kind: str, steps: int, batch: int, lr: float, seed: int, data: str, rgb: bool) -> str:
    """The torch/diffusers loop that reproduces the current settings (``kind`` "basic" or "ddpm", ``data`` "mnist" or "upload")."""
    fmt = "rgb32" if rgb else "gray28"
    shift = " * 2 - 1" if kind == "ddpm" else ""
    data_note = UPLOAD_NOTE.format(fmt=fmt, shift=shift) if data == "upload" else ""
    template = BASIC_TRAIN_CODE if kind == "basic" else DDPM_TRAIN_CODE
    channels, size = (3, 32) if rgb else (1, 28)
    return template.format(
        seed=seed, steps=steps, batch=batch, lr=lr, data_note=data_note, channels=channels, size=size
    )


def session_summary(models: dict, lang: str) -> str:
    """One line naming the models of ``models`` (this session's ``{"basic": ..., "ddpm": ...}``), or saying there are none."""
    names = [MODEL_NAMES[kind] for kind in MODEL_NAMES if kind in (models or {})]
    listed = ", ".join(names) if names else pick(TEXT, "no_session_models", lang)
    return pick(TEXT, "session_note", lang).format(models=listed)
