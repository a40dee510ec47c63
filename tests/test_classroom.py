"""Classroom mode without a browser: every reveal's truth against the core, computed independently here, and
the classroom adds no public API endpoint.

(The page side, keyboard and deep link, is in ``test_classroom_browser.py``.)
"""

from __future__ import annotations

import math

import torch

from diffusion_core.corruption import corrupt
from diffusion_core.data import mnist_batch
from diffusion_core.figures import to_image
from ui.classroom_tab import comparison, corruption, noising, sampling, training, unet


def zh_and_en(markdown: str) -> tuple[str, str]:
    """The two languages of a ``worded`` Markdown."""
    zh, en = markdown.split('<div class="dx-en">')
    return zh, en


def test_every_reveal_asks_for_an_answer_first():
    for reveal in (corruption.reveal, unet.reveal, training.reveal, sampling.reveal, comparison.reveal):
        result = reveal(None)
        text = result if isinstance(result, str) else result[0]
        assert "先选一个答案" in text and "Commit to an answer first" in text
    assert "Commit to an answer first" in noising.reveal("A", {})[0]


def test_question_1_measures_the_contrast_left_by_corrupt():
    x = mnist_batch(8, 0)[0]
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(0))
    stroke, background = x > 0.5, x < 0.05
    for amount in (0.0, 0.5, 0.8):
        mixed = corrupt(x, amount, noise=noise)
        expected = float(mixed[stroke].mean() - mixed[background].mean()) / float(
            x[stroke].mean() - x[background].mean()
        )
        assert math.isclose(corruption.contrast_left(amount)["ratio"], 100 * expected, rel_tol=1e-6)
    right, wrong = corruption.reveal("50")[0], corruption.reveal("100")[0]
    assert right.count("✓") == 2 and "✗" in wrong and "大约 50%" in wrong and "about 50%" in wrong


def test_question_2_marks_the_image_at_t_600_whatever_the_shuffle():
    from diffusers import DDPMScheduler

    x0 = mnist_batch(8, 0)[0] * 2 - 1
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    scheduler = DDPMScheduler(num_train_timesteps=1000)
    for seed in range(6):
        order = noising.shuffled(seed)
        timesteps = [noising.CANDIDATES[k] for k in order]
        images = noising.question_images(order)
        for image, t in zip(images, timesteps, strict=True):  # each frame is the core's x_t of the first digit
            x_t = scheduler.add_noise(x0[:1], noise[:1], torch.tensor([t]))
            expected = to_image(x_t[0], value_range=(-1, 1), scale=6)
            assert image.tobytes() == expected.tobytes()
        result, *marks = noising.reveal("A", {"order": order})
        framed = [letter for letter, mark in zip(noising.LETTERS, marks, strict=True)
                  if noising.MARKED in mark["elem_classes"]]  # fmt: skip
        assert framed == [noising.LETTERS[timesteps.index(600)]]
        assert result.count("✓" if framed == ["A"] else "✗") == 2
    assert len({tuple(noising.shuffled(seed)) for seed in range(20)}) > 5  # the order really is shuffled


def test_question_3_reveals_the_traced_shape():
    from diffusion_core.models import BasicUNet
    from diffusion_core.tracing import format_shape, trace_basic_unet

    trace = trace_basic_unet(BasicUNet(1, 1).eval(), torch.rand(8, 1, 28, 28), features=0)
    step = next(s for s in trace.steps if s.path == "down" and s.stage == 2 and s.kind == "act")
    truth = format_shape(step.out_shape)
    assert truth in unet.CHOICES
    assert unet.reveal(truth).count("✓") == 2
    wrong = next(choice for choice in unet.CHOICES if choice != truth)
    assert truth in unet.reveal(wrong)
    assert f"{trace.total_parameters:,}" in unet.shape_table(28)


def test_question_4_compares_the_errors_at_both_ends():
    from diffusion_core.sampling import bundled_basic_unet

    x = mnist_batch(8, 0)[0]
    corrupted = corrupt(x, torch.linspace(0, 1, 8), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        errors = ((bundled_basic_unet("cpu")(corrupted) - x) ** 2).mean(dim=(1, 2, 3))
    assert torch.allclose(torch.tensor(training.column_errors()[0]), errors, atol=1e-6)
    left, right = errors[:3].mean(), errors[-3:].mean()
    truth = "left" if left * 2 < right else "right" if right * 2 < left else "same"
    result, picture = training.reveal(truth)
    assert result.count("✓") == 2 and f"{float(errors[-1]):.3f}" in result and picture.height > picture.width / 8


def test_question_5_scores_one_and_five_steps_with_the_classifier():
    from diffusion_core import metrics
    from diffusion_core.sampling import bundled_basic_unet, mix_sample

    net = bundled_basic_unet("cpu")
    scores = {}
    for steps in (1, 5):
        final = list(mix_sample(net, steps, 8, generator=torch.Generator().manual_seed(0)))[-1].x_prev
        scores[steps] = float(metrics.classify(final.clamp(0, 1)).probs.max(dim=1).values.mean())
    result, _ = sampling.reveal("5")
    assert f"{scores[1]:.2f}" in result and f"{scores[5]:.2f}" in result
    truth = "same" if abs(scores[1] - scores[5]) < 0.05 else "5" if scores[5] > scores[1] else "1"
    assert sampling.reveal(truth)[0].count("✓") == 2


def test_question_6_counts_both_models():
    from diffusion_core.models import BasicUNet, build_unet2d

    basic = sum(p.numel() for p in BasicUNet(1, 1).parameters())
    ddpm = sum(p.numel() for p in build_unet2d().parameters())
    truth = min(comparison.CHOICES, key=lambda times: abs(math.log(float(times) * basic / ddpm)))
    result = comparison.reveal(truth)
    assert result.count("✓") == 2 and f"{basic:,}" in result and f"{ddpm:,}" in result


def test_computed_texts_hold_both_languages():
    zh, en = zh_and_en(corruption.corruption_view(0.25)[1])
    assert "原图保留 **75%**" in zh and "**75%** of the input is kept" in en
    zh, en = zh_and_en(noising.noising_view(600)[1])
    assert "线性调度" in zh and "linear schedule" in en


def test_the_classroom_adds_no_public_endpoint(client):
    names = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert names, "the app's public API is listed"
    assert not [name for name in names if "class" in name or "lesson" in name or "reveal" in name]
