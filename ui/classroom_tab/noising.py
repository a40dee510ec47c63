"""Stop 2 · DDPM noising: the t slider, and "which of these four images is t = 600?".

The widget calls the core's ``add_noise`` (``DDPMScheduler.add_noise``) on the server; ``widget`` is its one
builder. The four images of the question are computed when the stop first opens, in an order drawn from a
seed kept in the session's state; the reveal recomputes every image's timestep and marks the right one.
``diffusion_core.noising`` (diffusers) is imported on first use, not when the app is built.
"""

from __future__ import annotations

import math
import random
from typing import Any

import gradio as gr
import torch

from diffusion_core.data import to_model_range
from diffusion_core.figures import to_image
from ui.classroom_tab.questions import PIXELATED, build_question, committed, pick_first, verdict
from ui.classroom_tab.shared import DIGITS_SEED, LIGHT, QUIET, Opening, lesson_digits
from ui.classroom_tab.text import TEXT, both
from ui.common import markdown
from ui.components import slider
from ui.context import AppContext
from ui.errors import as_int, friendly
from ui.i18n import pick

T = 1000  # the tutorial's DDPMScheduler(num_train_timesteps=1000), linear betas
CANDIDATES = (100, 300, 600, 900)  # the four timesteps of the question
TARGET = 600
LETTERS = ("A", "B", "C", "D")
MARKED = "dx-correct"  # the class that frames the right image once revealed
QUESTION_TEXT = {"q": {lang: TEXT["q2"][lang].format(ts=", ".join(map(str, CANDIDATES)), target=TARGET)
                       for lang in TEXT["q2"]}}  # fmt: skip


def noisy_digits(t: int | list[int]) -> tuple[torch.Tensor, float | list[float]]:
    """The lesson's digits in [-1, 1] noised to timestep ``t`` (one, or one per image) with one seeded noise.

    Returns:
        (x_t (8, 1, 28, 28), sqrt(alpha_bar_t) for each timestep asked).
    """
    from diffusion_core.noising import add_noise, make_scheduler  # diffusers: on first use

    x0 = to_model_range(lesson_digits()[0])
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(DIGITS_SEED))
    scheduler = make_scheduler()  # linear, T = 1000: DDPMScheduler's default
    x_t, _ = add_noise(x0, torch.as_tensor(t), scheduler, noise=noise)  # one t for all, or one per image
    alpha_bar = scheduler.alphas_cumprod
    roots = [math.sqrt(float(alpha_bar[s])) for s in t] if isinstance(t, list) else math.sqrt(float(alpha_bar[t]))
    return x_t, roots


def noising_view(t: Any) -> tuple:
    """The widget's view at timestep ``t``: (the 8 noisy digits, clipped to [-1, 1]; the formula with its numbers)."""
    t = as_int(t, "timestep t", 0, T - 1)
    x_t, root = noisy_digits(t)
    formula = both("noise_numbers", t=t, s=root, n=math.sqrt(1 - root**2), ab=root**2)
    return to_image(x_t, value_range=(-1, 1), scale=4), formula


def question_images(order: list[int]) -> list:
    """The question's four images: the first digit, with its one noise, at ``CANDIDATES[order[i]]``, i = 0..3 (A..D)."""
    return [to_image(noisy_digits(CANDIDATES[k])[0][0], value_range=(-1, 1), scale=6) for k in order]


def shuffled(seed: int) -> list[int]:
    """An order of the four candidates (indices into ``CANDIDATES``) drawn from ``seed``."""
    order = list(range(len(CANDIDATES)))
    random.Random(seed).shuffle(order)
    return order


def deal(seed: int) -> tuple:
    """A new round: (state ``{"order"}``, the four images unmarked, no verdict, no answer)."""
    order = shuffled(seed)
    images = [gr.update(value=image, elem_classes=["pixelated"]) for image in question_images(order)]
    return {"order": order}, *images, "", gr.update(value=None)


def reveal(chosen: Any, state: Any) -> tuple:
    """Reveal of question 2: (verdict, the four frames with the right one marked)."""
    order = state.get("order") if isinstance(state, dict) else None
    if not committed(chosen, list(LETTERS)) or not order:
        return pick_first(), *(gr.skip(),) * 4
    timesteps = [CANDIDATES[k] for k in order]
    roots = [noisy_digits(t)[1] for t in timesteps]  # recomputed: the marks come from the schedule, not the state
    truth = LETTERS[timesteps.index(TARGET)]

    def explain(lang: str) -> str:
        items = [pick(TEXT, "a2_item", lang).format(letter=letter, t=t, s=s)
                 for letter, t, s in zip(LETTERS, timesteps, roots, strict=True)]  # fmt: skip
        return pick(TEXT, "a2", lang).format(letter=truth, target=TARGET, listing="; ".join(items))

    marks = [gr.update(elem_classes=["pixelated", MARKED] if letter == truth else ["pixelated"]) for letter in LETTERS]
    return verdict(chosen, truth, list(LETTERS), explain), *marks


def widget(ctx: AppContext) -> Opening:
    """The live widget: the t slider, the noisy digits and the formula (server-side ``add_noise``)."""
    loc = ctx.loc
    t = loc.widget(slider, TEXT, "t", minimum=0, maximum=T - 1, value=250, step=1, name="timestep t",
                   elem_id="class-t")  # fmt: skip
    picture = loc.widget(gr.Image, TEXT, "x_t", elem_id="class-noisy", height=180, **PIXELATED)
    formula = markdown("", elem_id="class-noise-numbers")
    t.change(friendly(noising_view), t, [picture, formula], **LIGHT)

    def open_stop(filled: Any, value: Any) -> tuple:
        return (gr.skip(),) * 3 if filled else (True, *noising_view(value))

    return Opening(friendly(open_stop), [t], [picture, formula])


def question(ctx: AppContext) -> Opening:
    """Question 2 with its four shuffled images, dealt when the stop first opens."""
    frames: list[gr.Image] = []

    def four_images() -> None:
        with gr.Row():
            for letter in LETTERS:
                frames.append(gr.Image(label=letter, elem_id=f"q2-image-{letter}", height=170, **PIXELATED))
        frames.append(ctx.loc.text(gr.Button, TEXT, "shuffle", size="sm", elem_id="q2-shuffle"))

    block = build_question(ctx.loc, "q2", list(LETTERS), prompt=QUESTION_TEXT, between=four_images)
    *images, shuffle = frames
    state = gr.State({})
    round_outputs = [state, *images, block.result, block.answer]
    block.reveal.click(friendly(reveal), [block.answer, state], [block.result, *images], **LIGHT)
    shuffle.click(friendly(lambda: deal(random.SystemRandom().randrange(2**31))), None, round_outputs, **QUIET)

    def open_question(filled: Any) -> tuple:
        return (gr.skip(),) * (len(round_outputs) + 1) if filled else (True, *deal(DIGITS_SEED))

    return Opening(friendly(open_question), [], round_outputs)
