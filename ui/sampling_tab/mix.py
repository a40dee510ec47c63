"""Section A · the tutorial's mix sampler with BasicUNet (API ``/mix_sample``), with scrub and play.

Start from ``torch.rand``; at step i move ``1/(n_steps - i)`` of the way towards the model's
prediction. The tutorial's two-column figure ("x (model input)" / "model prediction"), one row per
step, is streamed as it grows; afterwards any step can be scrubbed to or played.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gradio as gr
import torch

from diffusion_core import estimates, sampling
from diffusion_core.device import gpu_seconds, gpu_task
from diffusion_core.sample_figures import mix_figure
from ui import runs
from ui.client_scrub import frames_payload, frames_store, png_data_url
from ui.common import TEXT as COMMON
from ui.common import markdown
from ui.components import seed_number, slider
from ui.context import SESSION_TTL_SECONDS
from ui.errors import as_int, as_seed
from ui.i18n import DEFAULT_LANGUAGE, LANGUAGES, Localizer, normalize_language, pick
from ui.sampling_tab.shared import (
    MAX_BATCH,
    PANEL_WIDTH,
    SECTIONS,
    SEED_DEFAULT,
    STREAM_EVERY_S,
    grid_image,
    resolve_basic,
    square_columns,
)
from ui.sampling_tab.text import TEXT, formatted

MAX_MIX_STEPS = 50
DEFAULT_MIX_STEPS = 5  # the tutorial's
DEFAULT_MIX_BATCH = 8
FIGURE_IMAGES = 8  # images per row of the two-column figure (the first of the batch)
PLAY_FRAME_S = 0.35

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


def mix_gpu_seconds(n_steps: Any = 0, batch: Any = 0, *_: Any, **__: Any) -> int:
    """ZeroGPU quota of one ``mix_sample`` call: BasicUNet steps are about 2 ms each on a GPU."""
    return gpu_seconds(n_steps, 0.01, base=10, cap=60)


def _step_pair(state: dict, index: int) -> tuple[Any, Any]:
    """Step ``index`` of a run as two grids: (x, the model input; the prediction), both in [0, 1]."""
    x, pred = state["x"][index].float(), state["pred"][index].float()
    columns = square_columns(x.shape[0])
    return grid_image(x, PANEL_WIDTH, columns), grid_image(pred, PANEL_WIDTH, columns)


@gpu_task(mix_gpu_seconds)
def mix_sample(n_steps: Any, batch: Any, seed: Any, lang: Any, session_models: Any = None,
               request: gr.Request | None = None):  # fmt: skip
    """Handler of the ``mix_sample`` API: stream the tutorial's two-column figure as it grows.

    Args:
        n_steps: 1 .. ``MAX_MIX_STEPS``; batch: 1 .. ``MAX_BATCH`` images of (1, 28, 28); seed: 0 .. 2**31 - 1.

    Like every sampling run it is estimated first, holds the session's one sampling slot and ends
    early at Stop or at the server's cap (``ui.runs``), keeping the steps so far.

    Yields:
        (figure, x of the step, prediction of the step, scrub slider, state, status, code). The
        state, written once at the end, holds ``"x"`` and ``"pred"``: one (batch, 1, 28, 28) half
        tensor in [0, 1] per step.
    """
    lang = normalize_language(lang)
    n_steps = as_int(n_steps, "n_steps", 1, MAX_MIX_STEPS)
    batch = as_int(batch, "batch", 1, MAX_BATCH)
    seed = as_seed(seed)
    net, sources = resolve_basic(session_models, lang)
    code = MIX_CODE.format(n_steps=n_steps, seed=seed, batch=batch, model=sources[lang].replace("*", ""))
    with runs.heavy_run(request, "sample", lang, SECTIONS["a"]) as run:
        estimate = run.admit(estimates.sampling_estimate(net, n_steps, batch))
        records = sampling.mix_sample(net, n_steps, batch, generator=torch.Generator().manual_seed(seed))
        state: dict = {"x": [], "pred": []}
        figure_scale = 3 if n_steps <= 10 else 2
        last_yield = 0.0
        for record in records:
            state["x"].append(record.x_t.detach().cpu().half())
            state["pred"].append(record.pred_x0.detach().cpu().half())
            reason = run.stop_reason() if record.step < n_steps - 1 else None
            done = record.step == n_steps - 1 or reason is not None
            if done or time.perf_counter() - last_yield > STREAM_EVERY_S:
                figure = mix_figure([x[:FIGURE_IMAGES].float() for x in state["x"]],
                                    [p[:FIGURE_IMAGES].float() for p in state["pred"]], figure_scale)  # fmt: skip
                x_image, pred_image = _step_pair(state, record.step)
                statuses = {  # both languages: a language switch re-words a finished run's status (state)
                    language: pick(TEXT, "a_status", language).format(step=record.step + 1, n=n_steps,
                                                                      source=sources[language])
                    + " · " + (run.ended_line(reason, record.step + 1, n_steps, language) if reason
                               else runs.estimate_line(estimate, language))
                    for language in LANGUAGES
                }  # fmt: skip
                status = statuses[run.lang]  # the page's language now (runs.follow_language)
                if done:
                    state["status"] = statuses
                scrub = gr.update(
                    maximum=max(len(state["x"]) if reason else n_steps, 2), value=record.step + 1, interactive=done
                )
                yield figure, x_image, pred_image, scrub, state if done else gr.skip(), status, code
                last_yield = time.perf_counter()
            if reason is not None:
                return


def mix_frames(state: Any) -> str:
    """The last mix run's steps for the page's scrubber and player (``ui.client_scrub.frames_payload``):
    per step, x and the prediction as PNG grids at one pixel per pixel (the page enlarges them crisply).
    Sent once when the run has finished; an empty payload before any run."""
    if not isinstance(state, dict) or not state.get("x"):
        return frames_payload([])
    columns = square_columns(state["x"][0].shape[0])
    frames = [
        {
            "images": [
                png_data_url(grid_image(images[index].float(), 1, columns)) for images in (state["x"], state["pred"])
            ]
        }
        for index in range(len(state["x"]))
    ]
    return frames_payload(frames)


@dataclass
class MixSection:
    """The widgets of section A that events read or write."""

    steps: gr.Slider
    batch: gr.Slider
    seed: gr.Number
    run: gr.Button
    stop: gr.Button
    status: gr.Markdown
    figure: gr.Image
    scrub: gr.Slider
    play: gr.Button
    x: gr.Image
    pred: gr.Image
    code: gr.Code
    state: gr.State
    frames: gr.HTML  # the last run's steps, in the page (ui.client_scrub.frames_store)


def build_section(loc: Localizer) -> MixSection:
    """Lay out section A inside the current block."""
    with loc.widget(gr.Accordion, TEXT, "a_title", open=True, elem_id="sample-a"):
        loc.text(markdown, formatted("a_lesson", shown=FIGURE_IMAGES), "a_lesson")
        with gr.Row():
            steps = loc.widget(slider, TEXT, "a_steps", minimum=1, maximum=MAX_MIX_STEPS, value=DEFAULT_MIX_STEPS,
                               step=1, elem_id="mix-steps", name="n_steps")  # fmt: skip
            batch = loc.widget(slider, TEXT, "batch", minimum=1, maximum=MAX_BATCH, value=DEFAULT_MIX_BATCH, step=1,
                               elem_id="mix-batch", name="batch")  # fmt: skip
            seed = loc.widget(seed_number, TEXT, "seed")
            run = loc.text(gr.Button, TEXT, "a_run", variant="primary", elem_id="mix-run", scale=0, min_width=140)
            stop = loc.text(gr.Button, runs.TEXT, "stop", variant="stop", elem_id="mix-stop", scale=0, min_width=100)
        status = gr.Markdown(pick(TEXT, "status_idle", DEFAULT_LANGUAGE), elem_id="mix-status")
        with gr.Row():
            with gr.Column(scale=3):
                figure = loc.widget(gr.Image, TEXT, "a_figure", elem_id="mix-figure", elem_classes="pixelated",
                                    format="png")  # fmt: skip
            with gr.Column(scale=2):
                with gr.Row():
                    scrub = loc.widget(slider, TEXT, "a_scrub", minimum=1, maximum=DEFAULT_MIX_STEPS, value=1, step=1,
                                       elem_id="mix-scrub", interactive=False, name="step")  # fmt: skip
                    play = loc.text(gr.Button, TEXT, "play", elem_id="mix-play", scale=0, min_width=100)
                x = loc.widget(gr.Image, TEXT, "x_input", elem_id="mix-x", elem_classes="pixelated", format="png")
                pred = loc.widget(gr.Image, TEXT, "model_pred", elem_id="mix-pred", elem_classes="pixelated",
                                  format="png")  # fmt: skip
        with loc.widget(gr.Accordion, COMMON, "code", open=False):
            first_code = MIX_CODE.format(n_steps=DEFAULT_MIX_STEPS, seed=SEED_DEFAULT, batch=DEFAULT_MIX_BATCH,
                                         model="bundled")  # fmt: skip
            code = gr.Code(first_code, language="python")
        frames = frames_store("mix-frames")
    state = gr.State(None, time_to_live=SESSION_TTL_SECONDS)
    return MixSection(steps, batch, seed, run, stop, status, figure, scrub, play, x, pred, code, state, frames)
