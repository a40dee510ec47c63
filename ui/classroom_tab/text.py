"""Every text of the classroom mode, in Chinese and English (``key -> {"zh": ..., "en": ...}``).

Static texts (the stops' prompts, labels, choices, buttons) are translated in the browser (``ui.i18n``).
Computed texts (a widget's numbers, a reveal) are written in both languages at once with ``worded``: the
page shows the current language and a switch needs no server call.
"""

from __future__ import annotations

from collections.abc import Callable

from ui.i18n import LANGUAGES, Text, bilingual, pick

STOP_COUNT = 6

TEXT: Text = {
    "tab": {"zh": "课堂模式 · Classroom", "en": "Classroom · 课堂模式"},
    "intro": {
        "zh": "**课堂模式**：跟着教程走 6 站。每一站先看、再动手，然后全班**先猜，再揭晓**。"
        "键盘 **←** / **→** 换站（光标在输入框或滑块里时除外）；链接 `?lesson=3` 直接打开第 3 站。",
        "en": "**Classroom mode**: six stops through the tutorial. At each stop, look, try, then the class "
        "**predicts before the app reveals**. Keys **←** / **→** change stops (except while a text box or slider "
        "has the focus); the link `?lesson=3` opens stop 3.",
    },
    "prev": {"zh": "← 上一站", "en": "← Previous"},
    "next": {"zh": "下一站 →", "en": "Next →"},
    "stop1": {"zh": "1 · 损坏", "en": "1 · Corruption"},
    "stop2": {"zh": "2 · DDPM 加噪", "en": "2 · DDPM noise"},
    "stop3": {"zh": "3 · UNet 内部", "en": "3 · Inside the UNet"},
    "stop4": {"zh": "4 · 训练", "en": "4 · Training"},
    "stop5": {"zh": "5 · 采样", "en": "5 · Sampling"},
    "stop6": {"zh": "6 · 对比 DDPM", "en": "6 · Versus DDPM"},
    # --- predict, then reveal (shared) ---
    "your_answer": {"zh": "全班的预测", "en": "The class predicts"},
    "reveal": {"zh": "揭晓答案", "en": "Reveal"},
    "pick_first": {
        "zh": "先选一个答案，再揭晓。",
        "en": "Commit to an answer first, then reveal.",
    },
    "right": {"zh": "✓ **答对了！**", "en": "✓ **Right!**"},
    "wrong": {"zh": "✗ **不对**，正确答案是 **{answer}**。", "en": "✗ **Not quite**: the answer is **{answer}**."},
    # --- stop 1: corruption ---
    "prompt1": {
        "zh": "## 第 1 站 · 最简单的加噪\n"
        "把图片和噪声按比例混合：$x_{noisy} = (1-amount)\\cdot x + amount\\cdot noise$，"
        "噪声来自 `torch.rand`（[0, 1) 上的均匀分布）。拖动 **amount**，看数字怎样慢慢消失。",
        "en": "## Stop 1 · The simplest corruption\n"
        "Mix the image with noise: $x_{noisy} = (1-amount)\\cdot x + amount\\cdot noise$, the noise from "
        "`torch.rand` (uniform on [0, 1)). Drag **amount** and watch the digit fade.",
    },
    "amount": {"zh": "amount（噪声比例）", "en": "amount (noise fraction)"},
    "corrupted": {"zh": "加噪后的 8 个数字", "en": "The 8 digits, corrupted"},
    "corrupt_numbers": {
        "zh": "amount = **{a:.2f}**：原图保留 **{keep:.0f}%**，噪声占 **{a_pct:.0f}%**；像素仍在 [0, 1] 内"
        "（最小 {low:.2f}，最大 {high:.2f}）。",
        "en": "amount = **{a:.2f}**: **{keep:.0f}%** of the input is kept, the noise is **{a_pct:.0f}%**; pixels "
        "stay in [0, 1] (min {low:.2f}, max {high:.2f}).",
    },
    "q1": {
        "zh": "### 先猜，再揭晓\namount = **0.5** 时，数字的笔画和背景之间的**对比度**还剩多少？",
        "en": "### Predict, then reveal\nAt amount = **0.5**, how much of the **contrast** between the digit's "
        "strokes and its background is left?",
    },
    "q1_100": {"zh": "100%（没变）", "en": "100% (unchanged)"},
    "q1_50": {"zh": "大约 50%", "en": "about 50%"},
    "q1_25": {"zh": "大约 25%", "en": "about 25%"},
    "q1_0": {"zh": "0%（完全看不出）", "en": "0% (gone)"},
    "a1": {
        "zh": "现场测量这 8 个数字（amount = 0.5，同一份噪声）：笔画平均 **{stroke:.3f}**，背景平均 **{background:.3f}**，"
        "对比度从 {before:.3f} 降到 **{after:.3f}**，还剩 **{ratio:.1f}%**。噪声和图片无关，所以平均来看，"
        "对比度正好乘上 $1-amount$：数字还认得出来，只是变灰、变花了。",
        "en": "Measured live on these 8 digits (amount = 0.5, the same noise): strokes average **{stroke:.3f}**, the "
        "background **{background:.3f}**; the contrast falls from {before:.3f} to **{after:.3f}**, **{ratio:.1f}%** "
        "is left. The noise does not depend on the image, so on average the contrast is multiplied by "
        "$1-amount$: the digit is still readable, only greyer and grainier.",
    },
    "a1_image": {"zh": "amount = 0.5 时的 8 个数字", "en": "The 8 digits at amount = 0.5"},
    # --- stop 2: DDPM noising ---
    "prompt2": {
        "zh": "## 第 2 站 · DDPM 加噪\n"
        "DDPM 一步跳到任意时间步 t：$x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1-\\bar\\alpha_t}\\,\\epsilon$，"
        "$\\epsilon$ 来自 `torch.randn`（高斯噪声）。t 越大，$\\sqrt{\\bar\\alpha_t}$ 越小，噪声越多。拖动 **t** 看看。",
        "en": "## Stop 2 · DDPM noising\n"
        "DDPM jumps to any timestep t at once: $x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1-\\bar\\alpha_t}\\,"
        "\\epsilon$, with $\\epsilon$ from `torch.randn` (Gaussian noise). The larger t, the smaller "
        "$\\sqrt{\\bar\\alpha_t}$ and the more noise. Drag **t**.",
    },
    "t": {"zh": "时间步 t", "en": "Timestep t"},
    "x_t": {"zh": "时间步 t 时的 x_t", "en": "x_t at timestep t"},
    "noise_numbers": {
        "zh": "t = **{t}**：$x_t = {s:.3f}\\,x_0 + {n:.3f}\\,\\epsilon$（$\\bar\\alpha_t$ = {ab:.4f}，线性调度，T = 1000）",
        "en": "t = **{t}**: $x_t = {s:.3f}\\,x_0 + {n:.3f}\\,\\epsilon$ ($\\bar\\alpha_t$ = {ab:.4f}, linear schedule, "
        "T = 1000)",
    },
    "q2": {
        "zh": "### 先猜，再揭晓\n下面四张图是**同一个数字、同一份噪声**在 t = {ts} 时的样子，顺序打乱了。"
        "哪一张是 **t = {target}**？",
        "en": "### Predict, then reveal\nThe four images below are **the same digit with the same noise** at "
        "t = {ts}, shuffled. Which one is **t = {target}**?",
    },
    "shuffle": {"zh": "↻ 换一题", "en": "↻ Shuffle again"},
    "a2": {
        "zh": "**{letter}** 是 t = {target}。四张图现场算出：{listing}。t 越大，$\\sqrt{{\\bar\\alpha_t}}$ 越小，"
        "数字越淡。",
        "en": "**{letter}** is t = {target}. The four, computed live: {listing}. The larger t, the smaller "
        "$\\sqrt{{\\bar\\alpha_t}}$ and the fainter the digit.",
    },
    "a2_item": {"zh": "{letter}：t = {t}（√ᾱ = {s:.2f}）", "en": "{letter}: t = {t} (√ᾱ = {s:.2f})"},
    # --- stop 3: inside the UNet ---
    "prompt3": {
        "zh": "## 第 3 站 · UNet 内部\n"
        "BasicUNet 先走**压缩路径**（卷积 + 最大池化：图变小、通道变多），再走**扩展路径**（上采样 + 跳跃连接），"
        "输出和输入的**形状相同**。改变输入的边长，看每一步的形状（现场追踪）。",
        "en": "## Stop 3 · Inside the UNet\n"
        "BasicUNet first takes the **contracting path** (convolutions and max pooling: smaller maps, more "
        "channels), then the **expanding path** (upsampling and skip connections); the output has the **same "
        "shape** as the input. Change the input's side and watch each step's shape (traced live).",
    },
    "side": {"zh": "输入边长 H = W", "en": "Input side H = W"},
    "shape_head": {"zh": "| 步骤 | 输出形状 |\n|---|---|", "en": "| Step | Output shape |\n|---|---|"},
    "shape_total": {
        "zh": "输入 {shape} → 输出 {out}，共 {n} 步，{params:,} 个参数。",
        "en": "Input {shape} → output {out}, {n} steps, {params:,} parameters.",
    },
    "q3": {
        "zh": "### 先猜，再揭晓\n输入 `torch.rand(8, 1, 28, 28)`：**第 2 个下采样层**（卷积 + SiLU 之后、"
        "池化之前）输出什么形状？",
        "en": "### Predict, then reveal\nFor the input `torch.rand(8, 1, 28, 28)`: what shape comes out of the "
        "**second down block** (after its convolution and SiLU, before the pooling)?",
    },
    "a3": {
        "zh": "现场追踪 BasicUNet：**{label}** 输出 **{shape}**。通道 {c_in} → {c_out}（第 2 个卷积），边长 28 → "
        "{side}（第 1 次池化）。这张图会存起来，留给扩展路径做跳跃连接。",
        "en": "Traced live through BasicUNet: **{label}** gives **{shape}**. Channels {c_in} → {c_out} (the second "
        "convolution), side 28 → {side} (the first pooling). This map is stored for a skip connection on the "
        "way up.",
    },
    # --- stop 4: training ---
    "prompt4": {
        "zh": "## 第 4 站 · 训练\n"
        "每一步：取一批数字 → 随机 amount 加噪 → BasicUNet 预测干净的图 → 和原图算 MSE 损失 → 更新参数。"
        "按 **训练**，现场从头训练几步，看损失下降。",
        "en": "## Stop 4 · Training\n"
        "Each step: take a batch of digits → corrupt them by random amounts → BasicUNet predicts the clean "
        "images → the MSE loss against the originals → update the weights. Press **Train** to train a fresh "
        "network for a few steps, live, and watch the loss fall.",
    },
    "train_steps": {"zh": "训练步数（批量 32）", "en": "Training steps (batch 32)"},
    "train": {"zh": "▶ 训练", "en": "▶ Train"},
    "train_rows": {
        "zh": "上：输入；中：加噪（amount 0 → 1）；下：刚训练的网络的预测",
        "en": "Top: input; middle: corrupted (amount 0 → 1); bottom: the fresh network's prediction",
    },
    "train_status": {
        "zh": "第 {step}/{n} 步，损失 {loss:.4f}（第 1 步 {first:.4f}），用时 {seconds:.1f} 秒",
        "en": "Step {step} of {n}, loss {loss:.4f} (step 1: {first:.4f}), {seconds:.1f} s",
    },
    "q4": {
        "zh": "### 先猜，再揭晓\n一个**训练好**的 BasicUNet（项目自带，训练了 3 轮）预测哪种输入最准？",
        "en": "### Predict, then reveal\nA **trained** BasicUNet (bundled, trained for 3 epochs): which inputs does "
        "it predict best?",
    },
    "q4_left": {"zh": "噪声少的（左边）", "en": "little noise (left)"},
    "q4_right": {"zh": "噪声多的（右边）", "en": "much noise (right)"},
    "q4_same": {"zh": "差不多", "en": "about the same"},
    "a4": {
        "zh": "现场用自带模型预测 8 个数字（amount 从左到右 0 → 1），每列的误差 MSE：{errors}。"
        "噪声少时几乎完美，噪声越多越模糊：网络猜不出被噪声盖住的东西——所以采样要分几步走。",
        "en": "Predicted live by the bundled model on 8 digits (amount 0 → 1, left to right); the error (MSE) of "
        "each column: {errors}. Nearly perfect with little noise, blurrier the more noise: the network cannot "
        "guess what the noise hides, which is why sampling goes in several steps.",
    },
    "a4_image": {
        "zh": "上：输入；中：加噪；下：训练好的网络的预测",
        "en": "Top: input; middle: corrupted; bottom: the trained network's prediction",
    },
    # --- stop 5: sampling ---
    "prompt5": {
        "zh": "## 第 5 站 · 采样\n"
        "从纯噪声 `torch.rand` 出发：每一步让模型预测干净的图，再朝预测走 $1/(n\\_steps - i)$ 的路。"
        "选步数，按 **采样**（项目自带的 BasicUNet）。",
        "en": "## Stop 5 · Sampling\n"
        "Start from pure noise, `torch.rand`: at each step the model predicts the clean image, and we move "
        "$1/(n\\_steps - i)$ of the way towards it. Choose the steps and press **Sample** (the bundled BasicUNet).",
    },
    "sample_steps": {"zh": "采样步数 n_steps", "en": "Sampling steps n_steps"},
    "sample": {"zh": "▶ 采样", "en": "▶ Sample"},
    "sample_figure": {
        "zh": "每一行是一步：左边是模型的输入 x，右边是模型的预测",
        "en": "One row per step: the model's input x on the left, its prediction on the right",
    },
    "sample_status": {
        "zh": "{n} 步，8 张，用时 {seconds:.2f} 秒（项目自带的 BasicUNet）",
        "en": "{n} steps, 8 images, {seconds:.2f} s (the bundled BasicUNet)",
    },
    "q5": {
        "zh": "### 先猜，再揭晓\n同一份起始噪声，采样 **1 步**和 **5 步**，哪一种生成的数字更容易认出来？",
        "en": "### Predict, then reveal\nFrom the same starting noise, **1 step** or **5 steps**: which gives "
        "digits that are easier to read?",
    },
    "q5_1": {"zh": "1 步", "en": "1 step"},
    "q5_5": {"zh": "5 步", "en": "5 steps"},
    "q5_same": {"zh": "差不多", "en": "about the same"},
    "a5": {
        "zh": "现场采样并用自带的数字分类器打分（平均置信度，真实数字约 0.98）：1 步 **{one:.2f}**，5 步 "
        "**{five:.2f}**。一步到位时模型只能给出模糊的平均猜测；分几步走，每一步都在更清楚的图上再猜一次。",
        "en": "Sampled live and scored by the bundled digit classifier (mean confidence; real digits score about "
        "0.98): 1 step **{one:.2f}**, 5 steps **{five:.2f}**. In one jump the model can only give a blurry average "
        "guess; in several steps each guess starts from a clearer image.",
    },
    "a5_image": {
        "zh": "上：1 步；下：5 步（同一份起始噪声）",
        "en": "Top: 1 step; bottom: 5 steps (same starting noise)",
    },
    # --- stop 6: the comparison ---
    "prompt6": {
        "zh": "## 第 6 站 · 与 DDPM 对比\n"
        "DDPM 的 `UNet2DModel` 比 BasicUNet 多了：时间步 t 作为输入、组归一化、ResNet 层、注意力；训练目标是"
        "预测**噪声**，而不是干净的图。按 **对比采样**：两种模型各生成 8 张。",
        "en": "## Stop 6 · Versus DDPM\n"
        "DDPM's `UNet2DModel` adds to BasicUNet: the timestep t as an input, group normalisation, ResNet layers "
        "and attention; it is trained to predict the **noise**, not the clean image. Press **Compare** for 8 "
        "samples from each.",
    },
    "compare": {"zh": "▶ 对比采样", "en": "▶ Compare"},
    "compare_basic": {"zh": "BasicUNet · 混合采样 5 步", "en": "BasicUNet · mix sampler, 5 steps"},
    "compare_ddpm": {"zh": "UNet2DModel · DDIM 10 步", "en": "UNet2DModel · DDIM, 10 steps"},
    "compare_status": {
        "zh": "BasicUNet 5 步：{basic:.1f} 秒，平均置信度 {basic_conf:.2f}；UNet2DModel（DDIM 10 步）：{ddpm:.1f} 秒，"
        "平均置信度 {ddpm_conf:.2f}（项目自带的两个模型，同一个种子）",
        "en": "BasicUNet, 5 steps: {basic:.1f} s, mean confidence {basic_conf:.2f}; UNet2DModel (DDIM, 10 steps): "
        "{ddpm:.1f} s, mean confidence {ddpm_conf:.2f} (the two bundled models, one seed)",
    },
    "q6": {
        "zh": "### 先猜，再揭晓\n教程里的 `UNet2DModel`（block_out_channels = (32, 64, 64)）的参数是 BasicUNet 的多少倍？",
        "en": "### Predict, then reveal\nThe tutorial's `UNet2DModel` (block_out_channels = (32, 64, 64)): how many "
        "times BasicUNet's parameters does it have?",
    },
    "q6_1": {"zh": "差不多（约 1 倍）", "en": "about the same (×1)"},
    "q6_2": {"zh": "约 2 倍", "en": "about ×2"},
    "q6_5": {"zh": "约 5 倍", "en": "about ×5"},
    "q6_20": {"zh": "约 20 倍", "en": "about ×20"},
    "a6": {
        "zh": "现场按教程的配置建好两个模型并数参数：BasicUNet **{basic:,}**，UNet2DModel **{ddpm:,}**，"
        "是 **{ratio:.1f} 倍**。多出来的在 ResNet 层、注意力和时间步嵌入里。",
        "en": "Both models built live from the tutorial's configs, parameters counted: BasicUNet **{basic:,}**, "
        "UNet2DModel **{ddpm:,}**: **×{ratio:.1f}**. The extra weights sit in the ResNet layers, the attention "
        "and the timestep embedding.",
    },
}


def worded(make: Callable[[str], str]) -> str:
    """Markdown holding ``make(lang)`` for both languages; the page shows its own (``ui.i18n.bilingual``)."""
    zh, en = (make(lang) for lang in LANGUAGES)
    return bilingual(zh, en)


def both(key: str, **values: object) -> str:
    """``TEXT[key]`` formatted with ``values``, in both languages (see ``worded``)."""
    return worded(lambda lang: pick(TEXT, key, lang).format(**values))
