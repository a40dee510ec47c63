"""Every text of the Compare tab, in Chinese and English (``key -> {"zh": ..., "en": ...}``)."""

from __future__ import annotations

from ui.i18n import Text

SAMPLER_NAMES = {
    "ddpm": "DDPM",
    "ddim": "DDIM",
    "dpm++": "DPM-Solver++",
    "euler": "Euler",
}  # the same in both languages

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
    "accuracy": {
        "zh": "*特征分类器：在 {heldout} 张没参与训练的数字上，准确率 {accuracy}（`assets/classifier/`）。*",
        "en": "*Feature classifier: held-out accuracy {accuracy} on {heldout} digits it never trained on "
        "(`assets/classifier/`).*",
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
        "zh": "n 越小越快，但 FD 的下限越高（开始时会按本机实测的速度给出预计用时）",
        "en": "Smaller n is faster but raises the FD floor (a run starts by estimating its time from this machine's speed)",
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
    "live_partial": {
        "zh": "**部分结果：{done}/{total} 个点**：每点 n = {n} 张，种子 {seed}，已用 {seconds:.0f} 秒。",
        "en": "**Partial result: {done} of {total} points**: n = {n} per point, seed {seed}, {seconds:.0f} s so far.",
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
        "（BasicUNet：均匀噪声 `rand`；DDPM：高斯噪声 `randn`），强度按**信噪比**（信号幅度 / 噪声标准差，"
        "都在 [0, 1] 像素尺度上）对齐。DDPM 在 [-1, 1] 里加噪，$x_t=\\sqrt{\\bar\\alpha_t}\\,x_0+\\sqrt{1-\\bar\\alpha_t}\\,\\epsilon$；"
        "映射回 [0, 1] 时整体除以 2，所以信号是 $\\sqrt{\\bar\\alpha_t}\\,x_0$，**噪声标准差是 "
        "$\\sqrt{1-\\bar\\alpha_t}/2$**，比值为 $2\\sqrt{\\mathrm{SNR}}$，其中 "
        "$\\mathrm{SNR}=\\bar\\alpha_t/(1-\\bar\\alpha_t)$。corrupt 的信号是 $(1-\\text{amount})\\,x_0$，"
        "均匀噪声的标准差是 amount$/\\sqrt{12}$。两个比值相等：$(1-\\text{amount})/\\text{amount}=\\sqrt{\\mathrm{SNR}/3}$，"
        "即 amount $= 1/(1+\\sqrt{\\mathrm{SNR}/3})$。MSE 在 [0, 1] 像素尺度上计算，越小越好。",
        "en": "In the tutorial BasicUNet predicts the clean image $x_0$ directly, while DDPM's UNet2DModel predicts the "
        "noise $\\epsilon$ that was added. A noise prediction also implies a guess of $x_0$: "
        "$\\hat x_0 = (x_t - \\sqrt{1-\\bar\\alpha_t}\\,\\hat\\epsilon)/\\sqrt{\\bar\\alpha_t}$. Here **the same digits** go "
        "to both models at **matched noise levels**. Each model gets the noise it was trained with (BasicUNet: uniform "
        "`rand`; DDPM: Gaussian `randn`), matched by **signal-to-noise ratio** (signal amplitude over noise standard "
        "deviation, both in [0, 1] pixel units). DDPM noises in [-1, 1]: "
        "$x_t=\\sqrt{\\bar\\alpha_t}\\,x_0+\\sqrt{1-\\bar\\alpha_t}\\,\\epsilon$; mapping back to [0, 1] halves "
        "everything, so the signal is $\\sqrt{\\bar\\alpha_t}\\,x_0$ and **the noise std is "
        "$\\sqrt{1-\\bar\\alpha_t}/2$**, a ratio of $2\\sqrt{\\mathrm{SNR}}$ with "
        "$\\mathrm{SNR}=\\bar\\alpha_t/(1-\\bar\\alpha_t)$. corrupt keeps $(1-\\text{amount})\\,x_0$ and its "
        "uniform noise has std amount$/\\sqrt{12}$. Equal ratios: "
        "$(1-\\text{amount})/\\text{amount}=\\sqrt{\\mathrm{SNR}/3}$, so amount $= 1/(1+\\sqrt{\\mathrm{SNR}/3})$. "
        "MSE is on the [0, 1] pixel scale; lower is better.",
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
        "zh": "DDPM 时间步 t<br>（BasicUNet 用同样信噪比的 amount）",
        "en": "DDPM timestep t<br>(BasicUNet at the amount with the same SNR)",
    },
    "fig_objective_y": {"zh": "平均 MSE（[0, 1] 像素）", "en": "mean MSE ([0, 1] pixels)"},
    "loss_title": {"zh": "#### ③ 每个时间步的损失", "en": "#### ③ Loss per timestep"},
    "loss_text": {
        "zh": "训练时 t 均匀抽取，损失是 $\\mathrm{MSE}(\\hat\\epsilon, \\epsilon)$。把同一个误差换算到 $x_0$ 上，它等于 "
        "$\\mathrm{SNR}(t)\\cdot\\mathrm{MSE}(\\hat x_0, x_0)$，其中 $\\mathrm{SNR}(t)=\\bar\\alpha_t/(1-\\bar\\alpha_t)$。"
        "也就是说，“预测噪声”这个目标暗含一种加权：t 小（噪声少）时，$x_0$ 上的一点点误差会被放大成很大的损失；"
        "t 大时，$x_0$ 猜错很多也只算一点损失。教程的原话是：“生成的噪声有明显的也有不明显的，这些管理器还要控制"
        "不明显的，在后续生成时候给予更多的权重”；这种隐含的加权正是给噪声不明显（t 小）时更多权重。"
        "蓝线高的地方，就是模型觉得难的 t。右轴的 x0 MSE 在模型的 [-1, 1] 尺度上（换到 [0, 1] 像素要除以 4）。",
        "en": "Training draws t uniformly and minimises $\\mathrm{MSE}(\\hat\\epsilon, \\epsilon)$. Written on $x_0$, the "
        "same error is $\\mathrm{SNR}(t)\\cdot\\mathrm{MSE}(\\hat x_0, x_0)$ with "
        "$\\mathrm{SNR}(t)=\\bar\\alpha_t/(1-\\bar\\alpha_t)$. So predicting the noise carries an implicit weighting: "
        "at small t (little noise) a tiny $x_0$ error becomes a large loss; at large t a big $x_0$ error costs little. "
        "The tutorial says: “the noise added is partly obvious and partly not; these schedulers must also handle "
        "the unobvious part and give it more weight later in generation”. This implicit weighting is exactly that: "
        "more weight where the noise is faint (small t). Where the blue line is high, the model finds t hard. The "
        "x0 MSE on the right axis is on the model's [-1, 1] scale (divide by 4 for [0, 1] pixels).",
    },
    "loss_n": {"zh": "图片数", "en": "Images"},
    "loss_points": {"zh": "测量多少个 t", "en": "How many t to measure"},
    "loss_button": {"zh": "▶ 测量损失", "en": "▶ Measure the loss"},
    "fig_loss": {"zh": "DDPM 模型每个时间步的损失", "en": "The DDPM model's loss per timestep"},
    "fig_loss_y": {"zh": "噪声 MSE", "en": "noise MSE"},
    "fig_loss_y2": {"zh": "x0 MSE（[-1, 1] 尺度，对数刻度）", "en": "x0 MSE ([-1, 1] scale, log)"},
    "fig_loss_x": {"zh": "时间步 t", "en": "timestep t"},
    "series_noise": {"zh": "噪声 MSE（训练损失）", "en": "noise MSE (the training loss)"},
    "series_x0": {
        "zh": "x0 MSE = 噪声 MSE / SNR（[-1, 1] 尺度，右轴）",
        "en": "x0 MSE = noise MSE / SNR ([-1, 1] scale, right axis)",
    },
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
    "mode_no_scaling": {
        "zh": "显示时忘了 x*0.5+0.5（[-1, 1] → [0, 1]）",
        "en": "forgot x*0.5+0.5 at display ([-1, 1] → [0, 1])",
    },
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
