"""The Inside-the-UNet tab's words, zh and en: lesson Markdown, labels, table texts and the tutorial's step names.

Each entry is ``key -> {"zh": ..., "en": ...}`` (see ``ui.i18n``). Templates use ``str.format`` fields.
The tutorial's names of the walk's steps are ``step_<path>_<kind>`` (``{n}``: the stage number), and the
explanations of a failed walk are ``failure_skip`` / ``failure_layer``.
"""

from __future__ import annotations

from ui.i18n import Text

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
        "函数，之后每一层都是先上采样、加上跳跃连接，再卷积。"
        "③ 存进 `h` 的是**下行第 1、2 次激活**的结果 32×28×28 和 64×14×14（代码里 `if i < 2`），"
        "不是教程说的第 2、3 次；第 3 次激活的 64×7×7 没有存，它直接进入上行路径的第一个卷积。"
        "④ 被上采样的不是下行路径的激活，而是**上行路径**自己前一层的激活：第 1 次上采样放大的是上行第 1 层"
        "卷积 + 激活后的 64×7×7，再加上 64×14×14 的跳跃；第 2 次放大的是上行第 2 层激活后的 32×14×14，"
        "再加上 32×28×28。⑤ 教程在 UNet2DModel 部分说“每层都使图片尺寸减半”：最后一个下行块不减半"
        "：BasicUNet 的第 3 层没有池化（28 → 14 → 7，三层只减半两次），UNet2DModel 的最后一个下行块"
        "没有下采样器（三个块：28 → 14 → 7 → 7）。",
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
        "upsamples, adds the skip, and convolves. (3) The maps stored in `h` are the outputs of the **first and "
        "second** down activations, 32×28×28 and 64×14×14 (`if i < 2` in the code), not the second and third as "
        "the tutorial says; the third activation's 64×7×7 is not stored, it goes straight into the up path's "
        "first conv. (4) What gets upsampled is not a down-path activation but the **up path's** own previous "
        "activation: the first upsampling enlarges the 64×7×7 after the up path's first conv + activation, then "
        "adds the 64×14×14 skip; the second enlarges the 32×14×14 after the second up activation, then adds "
        "32×28×28. (5) In the UNet2DModel part the tutorial says every layer halves the image: the last down "
        "block does not: BasicUNet's third layer has no pooling (28 → 14 → 7, three layers but two halvings), "
        "and UNet2DModel's last down block has no downsampler (three blocks: 28 → 14 → 7 → 7).",
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
        "zh": "✓ {shape} 顺利走完 {n} 步，输出 {out}，和输入同形状。BasicUNet（{c} 通道）共有 **{params:,}** 个参数"
        "（教程：1 通道时 309057）。",
        "en": "✓ {shape} passed all {n} steps; the output {out} has the input's shape. BasicUNet ({c} channel(s)) "
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
    "kind_up": {"zh": "上采样", "en": "up ×2"},
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
        "| 正则化 | 无 | 这个配置里没有：dropout = 0（教程说“使用了 Dropout，让训练更平滑”，但默认值是 0） |\n"
        "| 每层结构 | 一个 5×5 卷积 + SiLU | 每块 {layers} 个 ResNet 层（带残差） |\n"
        "| 注意力 | 无 | {attn} |\n"
        "| 时间步条件 | 无（只输入噪声图） | 时间步 t → 嵌入，送进每个 ResNet 层 |\n"
        "| 下采样 / 上采样 | 最大池化 / 最近邻放大（无参数） | 可学习的卷积下采样 / 上采样 |\n"
        "| 跳跃连接 | 相加（`x + h.pop()`），2 个 | 按通道拼接（concat），{skips} 个 |",
        "en": "| | BasicUNet (first part of the tutorial) | UNet2DModel (the tutorial's DDPM part) |\n|---|---|---|\n"
        "| Parameters | {basic:,} | {unet:,} |\n"
        "| Normalisation | none | GroupNorm on each block's input |\n"
        "| Regularisation | none | none in this config: dropout = 0 (the tutorial says it uses dropout for smoother training, but the default is 0) |\n"
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
    # the tutorial's names of the walk's steps (基础UNet): step_<path>_<kind>, {n} = stage number
    "step_down_input": {"zh": "第{n}次输入", "en": "Down {n}: input"},
    "step_down_conv": {"zh": "第{n}次卷积", "en": "Down {n}: convolution"},
    "step_down_act": {"zh": "第{n}次激活函数", "en": "Down {n}: activation"},
    "step_down_down": {"zh": "第{n}下采样", "en": "Down {n}: downsample"},
    "step_up_input": {"zh": "第{n}输入", "en": "Up {n}: input"},
    "step_up_conv": {"zh": "第{n}卷积", "en": "Up {n}: convolution"},
    "step_up_act": {"zh": "第{n}激活函数后", "en": "Up {n}: after activation"},
    "step_up_up": {"zh": "第{n}上采样", "en": "Up {n}: upsample"},
    "step_up_skip": {"zh": "第{n}跳跃后", "en": "Up {n}: after skip"},
    "stage_separator": {"zh": "；", "en": "; "},
    # why a walk failed: a skip whose two maps differ, or any other layer
    "failure_skip": {
        "zh": "**{label}失败：** 上采样后的特征图是 {up_hw}（{up_shape}），而存下的跳跃连接是 {stored_hw}"
        "（{stored_shape}），两者形状不同，`x + h.pop()` 无法相加。每次 2×2 最大池化把尺寸减半并向下取整，"
        "上采样只能放大 2 倍，所以经过 {downsamplings} 次下采样后，高和宽都必须能被 {divisor} 整除。",
        "en": "**{label} failed:** the upsampled map is {up_hw} ({up_shape}) but the stored skip is "
        "{stored_hw} ({stored_shape}), so `x + h.pop()` cannot add them. Each 2×2 max-pool halves the "
        "size and rounds down, and upsampling only doubles it back, so after {downsamplings} "
        "downsamplings the height and width must be divisible by {divisor}.",
    },
    "failure_layer": {
        "zh": "**{label}失败**（{where}），输入形状 {shape}。PyTorch 的报错：`{message}`",
        "en": "**{label} failed** ({where}) on an input of shape {shape}. PyTorch says: `{message}`",
    },
}
