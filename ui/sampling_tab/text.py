"""The Sampling tab's bilingual strings: ``key -> {"zh": ..., "en": ...}`` (see ``ui.i18n``).

Entries with ``{name}`` fields are templates: the handlers fill them with ``.format``, and
``formatted`` fills the ones shown before any run with numbers the code computes.
"""

from __future__ import annotations

from typing import Any

from ui.i18n import Text

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
        "然后朝预测走 $\\frac{{1}}{{n-i}}$ 的路：`x = x*(1-mix_factor) + pred*mix_factor`。"
        "5 步时依次走 1/5、1/4、1/3、1/2、1——最后一步正好落在模型的预测上。"
        "下图就是教程的两列图：左列是每步的模型输入 x，右列是模型的预测（每行显示前 {shown} 张）。",
        "en": "Start from a random image `x = torch.rand(...)` and take n steps: at step i the model predicts the "
        "clean image `pred = net(x)`, and x moves $\\frac{{1}}{{n-i}}$ of the way there: "
        "`x = x*(1-mix_factor) + pred*mix_factor`. With 5 steps that is 1/5, 1/4, 1/3, 1/2, then 1: the last "
        "step lands exactly on the prediction. The figure is the tutorial's two columns: the model input x at "
        "each step on the left, the model's prediction on the right (the first {shown} images of each row).",
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
    "play": {"zh": "▶ 播放", "en": "▶ Play"},
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
        "zh": "ℹ 这台服务器没有 GPU：默认用 DPM-Solver++ {steps} 步；DDPM {full_steps} 步要慢得多。每次运行开始时，"
        "会按在本机实测的一步用时给出预计时间；太久可以按“停止”。",
        "en": "ℹ This server has no GPU: the default is DPM-Solver++ with {steps} steps; DDPM with {full_steps} steps "
        "is far slower. Every run starts with an estimate from one step timed on this machine, and Stop ends it early.",
    },
    "gpu_note": {
        "zh": "ℹ 在 GPU 上默认完整的 DDPM {full_steps} 步（DDPM/DDIM 用 CUDA Graph 快速路径）。",
        "en": "ℹ On a GPU the default is the full {full_steps}-step DDPM (DDPM/DDIM run the CUDA-graph fast path).",
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
    "curve_y": {"zh": "ᾱ_t（信号占方差的份额）", "en": "ᾱ_t (signal's variance share)"},
    "curve": {"zh": "ᾱ_t", "en": "ᾱ_t"},
    "current": {"zh": "当前 t", "en": "current t"},
    "c_title": {"zh": "C · 一行代码的 DDPMPipeline", "en": "C · The one-line DDPMPipeline"},
    "c_lesson": {
        "zh": "管道把上面的循环包装成一次调用：`images = pipeline(batch_size=8).images`。默认得到的是 PIL 图片的列表；"
        "教程里的 `make_grid` 是它自己写的小函数，把这些 PIL 图片横着贴成一行，不是 `torchvision.utils.make_grid`"
        '（后者要张量：加上 `output_type="pt"`，下面的代码就是这样写的）。保存用 `pipeline.save_pretrained(...)`，'
        "加载用 `DDPMPipeline.from_pretrained(...)`（只加载 safetensors）。DDPMPipeline 运行的是它持有的调度器："
        "自带检查点里存的是 DDPMScheduler，所以步数少时效果差；可以换成别的调度器"
        "（如 `DDPMPipeline(unet, DDIMScheduler.from_config(scheduler.config))`），或者用 B 部分的 DPM-Solver++ 等。",
        "en": "The pipeline wraps the loop above into one call: `images = pipeline(batch_size=8).images`. By default "
        "these are a list of PIL images; the tutorial's `make_grid` is its own small helper that pastes them side "
        'by side, not `torchvision.utils.make_grid` (which needs a tensor: pass `output_type="pt"`, as the code '
        "below does). Save with `pipeline.save_pretrained(...)`, load with `DDPMPipeline.from_pretrained(...)` "
        "(safetensors only). DDPMPipeline runs whatever scheduler it holds: the bundled checkpoint stores a "
        "DDPMScheduler, so few steps give poor images; swap in another scheduler (e.g. "
        "`DDPMPipeline(unet, DDIMScheduler.from_config(scheduler.config))`) or use DPM-Solver++ and friends in "
        "section B.",
    },
    "source": {"zh": "模型来源", "en": "Model source"},
    "bundled": {"zh": "自带的检查点（assets/checkpoints/ddpm_mnist）", "en": "Bundled checkpoint (ddpm_mnist)"},
    "session": {"zh": "本次训练的模型（训练页）", "en": "This session's model (Training tab)"},
    "hub": {"zh": "Hugging Face Hub 模型 id", "en": "A Hugging Face Hub model id"},
    "hub_id": {"zh": "Hub 模型 id（如 google/ddpm-cifar10-32）", "en": "Hub model id (e.g. google/ddpm-cifar10-32)"},
    "c_steps": {"zh": "num_inference_steps", "en": "num_inference_steps"},
    "c_run": {"zh": "▶ 运行管道", "en": "▶ Run the pipeline"},
    "c_grid": {"zh": "make_grid 拼出的结果", "en": "The batch through make_grid"},
    "save": {"zh": "⬇ save_pretrained 本次训练的模型（zip）", "en": "⬇ save_pretrained this session's model (zip)"},
    "save_file": {"zh": "下载管道文件夹（zip）", "en": "Download the pipeline folder (zip)"},
    "status_idle": {"zh": "点击“开始采样”。", "en": "Press “Sample”."},
    "uses_session": {
        "zh": "使用**本次训练的模型**（来自训练页）。",
        "en": "Using **this session's trained model** (Training tab).",
    },
    "uses_bundled": {"zh": "使用**自带的检查点** `{path}`。", "en": "Using the **bundled checkpoint** `{path}`."},
    "uses_hub": {"zh": "使用 Hub 模型 `{id}`。", "en": "Using the Hub model `{id}`."},
    "missing_basic": {
        "zh": "自带的 BasicUNet 检查点还不在（{path}）：请先在训练页训练一个，"
        "或运行 `python -m diffusion_core train --model basic --save`。",
        "en": "The bundled BasicUNet checkpoint is not there yet ({path}): train one in the "
        "Training tab, or run `python -m diffusion_core train --model basic --save`.",
    },
    "missing_ddpm": {
        "zh": "自带的 DDPM 检查点还不在（{path}）：请先在训练页训练一个，"
        "或运行 `python -m diffusion_core train --model ddpm --save`。",
        "en": "The bundled DDPM checkpoint is not there yet ({path}): train one in the "
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
    "hub_loading": {
        "zh": "正在检查并从 Hugging Face Hub 下载 “{id}”（最多 {limit:.0f} MB）……",
        "en": "Checking and downloading “{id}” from the Hugging Face Hub (up to {limit:.0f} MB)…",
    },
    "hub_unreachable": {
        "zh": "无法连接 Hugging Face Hub 来加载 “{id}”：Hub 没有应答，或这台服务器处于离线状态。请改用自带的检查点。",
        "en": "Could not reach the Hugging Face Hub to load “{id}”: the Hub did not answer, or this server is "
        "offline. Use the bundled checkpoint instead.",
    },
    "hub_offline": {
        "zh": "这台服务器以离线模式运行（HF_HUB_OFFLINE=1），无法从 Hugging Face Hub 加载 “{id}”。请改用自带的检查点。",
        "en": "This server runs offline (HF_HUB_OFFLINE=1), so “{id}” cannot be loaded from the Hugging Face Hub. "
        "Use the bundled checkpoint instead.",
    },
    "hub_not_found": {
        "zh": "Hugging Face Hub 上没有 “{id}”，或者它是私有 / 需申请访问的模型。",
        "en": "“{id}” is not on the Hugging Face Hub, or it is private or gated.",
    },
    "hub_not_pipeline": {
        "zh": "“{id}” 不是这里能运行的 DDPMPipeline（需要 UNet2DModel 加上与 DDPM 兼容的调度器）：{found}。",
        "en": "“{id}” is not a DDPMPipeline this app can run (a UNet2DModel with a DDPM-compatible scheduler): "
        "{found}.",
    },
    "hub_bad_config": {
        "zh": "“{id}” 不是 DDPMPipeline：{file} 缺失或无法读取。",
        "en": "“{id}” is not a DDPMPipeline: {file} is missing or unreadable.",
    },
    "hub_no_safetensors": {
        "zh": "“{id}” 没有 safetensors 权重（unet/diffusion_pytorch_model.safetensors）；本应用不加载 pickle（.bin）文件。",
        "en": "“{id}” has no safetensors weights (unet/diffusion_pytorch_model.safetensors); this app never loads "
        "pickle (.bin) files.",
    },
    "hub_too_large": {
        "zh": "“{id}” 需要下载 {megabytes:.1f} MB；本应用只加载不超过 {limit:.0f} MB 的 Hub 模型。",
        "en": "“{id}” needs {megabytes:.1f} MB of downloads; this app loads Hub models up to {limit:.0f} MB.",
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


def formatted(key: str, **values: Any) -> Text:
    """A one-entry ``Text`` holding ``TEXT[key]`` with ``values`` filled in, for ``loc.text``/``loc.widget``."""
    return {key: {lang: template.format(**values) for lang, template in TEXT[key].items()}}
