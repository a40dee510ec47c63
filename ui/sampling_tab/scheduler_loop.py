"""Section B · the DDPM loop step by step (API ``/ddpm_sample``): DDPM, DDIM, DPM-Solver++ or Euler.

``scheduler_sample`` with UNet2DModel: x_t, predicted x0 and predicted noise of every step are
streamed; afterwards the kept frames can be scrubbed, with the alpha_bar curve's cursor at t.
The trajectory comes as a GIF and the final batch as a PNG grid.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np
import torch

from diffusion_core import cpu_speed, estimates, sampling
from diffusion_core.checkpoints import DDPM_DIR
from diffusion_core.data import to_unit_range
from diffusion_core.device import gpu_seconds, gpu_task
from diffusion_core.models import UNET2D_SEED_CONFIG
from diffusion_core.noising import SEED_TRAINING_SCHEDULE, make_scheduler
from diffusion_core.sample_figures import alpha_bar_figure, step_images, write_gif
from ui import runs
from ui.client_scrub import frames_payload, frames_store, png_data_url
from ui.common import TEXT as COMMON
from ui.common import download_folder, markdown
from ui.components import seed_number, slider
from ui.context import DEVICE, ON_GPU, SESSION_TTL_SECONDS
from ui.errors import as_choice, as_int, as_seed
from ui.i18n import DEFAULT_LANGUAGE, LANGUAGES, Localizer, normalize_language, pick
from ui.sampling_tab.shared import (
    GRID_WIDTH,
    MAX_BATCH,
    PANEL_WIDTH,
    SECTIONS,
    SEED_DEFAULT,
    SESSION_FOLDER,
    STREAM_EVERY_S,
    checkpoint_path,
    grid_image,
    grid_scale,
    resolve_ddpm,
    square_columns,
)
from ui.sampling_tab.text import TEXT, formatted

logger = logging.getLogger(__name__)
# the alpha_bar chart's cursor moves at most once a second while a run streams (a plotly figure costs ~50 ms to
# build on 2 cores, more to send and for the page to draw again; the images still stream every STREAM_EVERY_S)
CURVE_EVERY_S = 1.0
MAX_STEPS = SEED_TRAINING_SCHEDULE.num_train_timesteps  # the full DDPM loop: one step per training timestep
DEFAULT_SAMPLER = "ddpm" if ON_GPU else "dpm++"
FEW_STEPS = 20  # DPM-Solver++'s default on a CPU: readable digits in seconds
DEFAULT_STEPS = MAX_STEPS if ON_GPU else FEW_STEPS
DEFAULT_BATCH = 16
MAX_KEPT_FRAMES = 60  # frames kept for the scrubber and the GIF (evenly spaced over the steps)
SHOWN_IMAGES = 16  # images per frame kept for the scrubber
FRAMES_SECONDS = 1.0  # the estimate's allowance for drawing the streamed frames, the GIF and the PNG
SAMPLER_KEYS = {name: name for name in sampling.SAMPLERS}  # each sampler's name is its text key
CURVE_KEYS = {"title": "curve_title", "x": "curve_x", "y": "curve_y", "curve": "curve", "current": "current"}

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
model, train_scheduler = pipeline.unet.eval(), pipeline.scheduler  # {schedule}
scheduler = {scheduler_line}
scheduler.set_timesteps({steps})

generator = torch.Generator().manual_seed({seed})
x = torch.randn({shape}, generator=generator) * scheduler.init_noise_sigma  # pure noise

for i, t in enumerate(scheduler.timesteps):
    x_t = scheduler.scale_model_input(x, t)  # 1. what the network sees (Euler rescales, the others don't)
    with torch.no_grad():
        noise_pred = model(x_t, t).sample  # 2. predict the noise
    x = scheduler.step(noise_pred, t, x, generator=generator).prev_sample  # 3. one step towards x0

images = (x / 2 + 0.5).clamp(0, 1)  # map (-1, 1) back to (0, 1)
grid = torchvision.utils.make_grid(images, nrow=8)
"""


def ddpm_code(
    folder: str, model: str, sampler: str, steps: int, seed: int, batch: int, unet_config: Any, scheduler_config: Any
) -> str:
    """The loop a run performs, as code a learner can run (shapes and schedule read from the configs)."""
    size = unet_config["sample_size"]
    height, width = (size, size) if isinstance(size, int) else size
    return DDPM_CODE.format(
        folder=folder, model=model.replace("*", ""), scheduler_line=SCHEDULER_LINES[sampler], steps=steps, seed=seed,
        shape=f"{batch}, {unet_config['in_channels']}, {height}, {width}",
        schedule=f"{scheduler_config['beta_schedule']}, T = {scheduler_config['num_train_timesteps']}",
    )  # fmt: skip


def ddpm_gpu_seconds(scheduler: Any = None, steps: Any = 0, *_: Any, **__: Any) -> int:
    """ZeroGPU quota of one ``ddpm_sample`` call: ~10 ms a UNet2DModel step for up to 64 images (H100, eager),
    plus the frames it encodes; 1000 DDPM steps get 40 s."""
    return gpu_seconds(steps, 0.03, base=10, cap=120)


# ----------------------------------------------------------------------------------------------
# The alpha_bar curve and one kept frame
# ----------------------------------------------------------------------------------------------


def alpha_bar_curve(alpha_bar: list[float], t: float, lang: str):
    """The alpha_bar_t chart (alpha_bar in (0, 1], one per training timestep) with its cursor at ``t``."""
    return alpha_bar_figure(alpha_bar, t, {name: pick(TEXT, key, lang) for name, key in CURVE_KEYS.items()})


def initial_curve(lang: str):
    """The tutorial's training schedule's alpha_bar curve, cursor at t = T - 1 (where sampling starts)."""
    alpha_bar = make_scheduler(SEED_TRAINING_SCHEDULE).alphas_cumprod.tolist()  # cached, read-only
    return alpha_bar_curve(alpha_bar, len(alpha_bar) - 1, lang)


def _format_t(t: float | int) -> str:
    return f"{t:.1f}" if isinstance(t, float) and not float(t).is_integer() else str(int(t))


def _frame_outputs(state: dict, index: int, lang: str, curve: bool = True) -> tuple:
    """Kept frame ``index`` of a run: (x_t, pred_x0, noise images, alpha_bar curve, caption); the curve is
    ``gr.skip()`` (left as drawn) when ``curve`` is False."""
    frame = state["frames"][index]
    x_t = frame["x_t"].float()
    columns = square_columns(x_t.shape[0])
    images = step_images(x_t, frame["pred_x0"].float(), frame["noise_pred"].float(),
                         grid_scale(x_t, columns, PANEL_WIDTH), columns)  # fmt: skip
    chart = alpha_bar_curve(state["alpha_bar"], float(frame["t"]), lang) if curve else gr.skip()
    caption = pick(TEXT, "frame", lang).format(step=frame["step"] + 1, n=state["steps"], t=_format_t(frame["t"]))
    return (*images, chart, caption)


def _kept_steps(steps: int) -> set[int]:
    """The 0-based steps kept for scrubbing: at most ``MAX_KEPT_FRAMES``, evenly spaced, first and last included."""
    return {int(v) for v in np.rint(np.linspace(0, steps - 1, min(steps, MAX_KEPT_FRAMES)))}


# ----------------------------------------------------------------------------------------------
# Handlers
# ----------------------------------------------------------------------------------------------


@gpu_task(ddpm_gpu_seconds)
def ddpm_sample(
    scheduler: Any, steps: Any, batch: Any, seed: Any, lang: Any, session_models: Any = None,
    request: gr.Request | None = None,
):  # fmt: skip
    """Handler of the ``ddpm_sample`` API: stream x_t, predicted x0 and noise while sampling.

    Args:
        scheduler: one of ``sampling.SAMPLERS``; steps: 1 .. ``MAX_STEPS``; batch: 1 .. ``MAX_BATCH``.

    The run is estimated first (``ui.runs``: refused above the server's cap, one per session) and
    ends early, keeping its frames so far, when the session presses Stop or the run reaches the cap.

    Yields:
        (x_t, pred_x0, noise_pred, alpha_bar curve, status, state, scrubber, final grid, GIF, PNG, code).
        The state holds up to ``MAX_KEPT_FRAMES`` frames of the first ``SHOWN_IMAGES`` images
        ((shown, C, H, W) half tensors, x_t and pred_x0 in [-1, 1], noise ~ N(0, 1)).
    """
    lang = normalize_language(lang)
    sampler = as_choice(scheduler, "scheduler", sampling.SAMPLERS)
    steps = as_int(steps, "steps", 1, MAX_STEPS)
    batch = as_int(batch, "batch", 1, MAX_BATCH)
    seed = as_seed(seed)
    unet, train_scheduler, sources, folder = resolve_ddpm(session_models, lang)
    code = ddpm_code(folder, sources[lang], sampler, steps, seed, batch, unet.config, train_scheduler.config)
    forward = _forward_choice(unet, sampler, bundled=folder != SESSION_FOLDER)
    skip = gr.skip()
    with runs.heavy_run(request, "sample", lang, SECTIONS["b"]) as run:
        yield (skip, skip, skip, skip, run.started_line(run.lang), skip, skip, skip, skip, skip, code)
        run.admit(estimates.sampling_estimate(unet, steps, batch, extra_seconds=FRAMES_SECONDS,
                                              runtime=forward["runtime"]))  # fmt: skip
        yield (skip, skip, skip, skip, run.started_line(run.lang), skip, skip, skip, skip, skip, code)
        yield from _stream_run(run, unet, train_scheduler, sampler, steps, batch, seed, sources, code, forward)


def prepare_forward() -> None:
    """Prepare section B's default run when a learner first opens the tab: the bundled model's forward
    (``sampling.prepare_bundled_forward``: the ONNX Runtime export, ~3 s on 2 cores, once per server), then, off
    CUDA, the run's estimate of one step at the default batch (``estimates.forward_seconds``, ~0.9 s on 2 cores,
    kept for ``estimates.CACHE_TTL_S``), so the first click streams at once. (On a GPU a run times its step in
    milliseconds, and on ZeroGPU only a GPU task may run the model.) A failure costs only speed (the first run
    prepares again and reports what is wrong), so it is logged, never shown."""
    try:
        sampling.prepare_bundled_forward(str(DEVICE))
        if not ON_GPU:
            unet = sampling.bundled_ddpm(str(DEVICE)).unet
            runtime = _forward_choice(unet, DEFAULT_SAMPLER, bundled=True)["runtime"]
            estimates.forward_seconds(unet, DEFAULT_BATCH, runtime=runtime)
    except Exception:
        logger.exception("could not prepare the bundled model's forward")


def _forward_choice(unet: Any, sampler: str, bundled: bool) -> dict[str, Any]:
    """How section B runs the UNet (``scheduler_sample``'s ``fast``, ``precision`` and ``runtime``): the CUDA
    graph where it covers the sampler; bfloat16 only when asked (``cpu_speed.forward_precision``); ONNX Runtime
    for the bundled model's float32 CPU forward (exported once per server and shared by every learner; a
    learner's own model, new after each training, stays on PyTorch rather than pay an export per model)."""
    fast = sampler in sampling.FAST_SAMPLERS and sampling.fast_path_available(unet.device)
    if fast:
        return {"fast": True, "precision": "fp32", "runtime": "torch"}
    forward = cpu_speed.sampling_forward(unet.device)
    return {"fast": False, **forward, "runtime": forward["runtime"] if bundled else "torch"}


def _stream_run(run: runs.Run, unet: Any, train_scheduler: Any, sampler: str, steps: int, batch: int, seed: int,
                sources: dict[str, str], code: str, forward: dict[str, Any]):  # fmt: skip
    """The sampling loop of ``ddpm_sample`` (its outputs), ending early when ``run`` says so.

    ``sources``: the which-model sentence per language; the final status is kept in both (``state["status"]``).
    ``forward``: ``_forward_choice``'s keywords for ``scheduler_sample``. Each line is worded in ``run.lang`` when it
    is made: a language switch during the run reaches it (``runs.follow_language``)."""
    records = sampling.scheduler_sample(unet, train_scheduler, sampler, steps, batch,
                                        generator=torch.Generator().manual_seed(seed), **forward)  # fmt: skip
    shown = min(batch, SHOWN_IMAGES)
    from diffusers import DDPMScheduler  # imported when first used (ARCHITECTURE.md, "Start-up")

    alpha_bar = DDPMScheduler.from_config(train_scheduler.config).alphas_cumprod.tolist()
    state: dict = {"frames": [], "steps": steps, "alpha_bar": alpha_bar}
    keep = _kept_steps(steps)

    def status_line(language: str, **values: Any) -> str:
        return pick(TEXT, "b_status", language).format(n=steps, sampler=sampler, source=sources[language], **values)

    start = last_yield = time.perf_counter()
    last_curve = -CURVE_EVERY_S
    skip = gr.skip()
    record = None
    reason = None
    for record in records:
        reason = run.stop_reason() if record.step < steps - 1 else None
        done = record.step == steps - 1 or reason is not None
        due = done or record.step == 0 or time.perf_counter() - last_yield > STREAM_EVERY_S
        if record.step not in keep and not done and not due:
            continue
        frame = {"step": record.step, "t": record.t}
        frame |= {
            name: getattr(record, name)[:shown].detach().cpu().half() for name in ("x_t", "pred_x0", "noise_pred")
        }
        if record.step in keep or done:  # the scrubber and the GIF keep at most MAX_KEPT_FRAMES frames (+ a stop)
            state["frames"].append(frame)
        if due and not done:
            draw_curve = time.perf_counter() - last_curve >= CURVE_EVERY_S
            last_curve = time.perf_counter() if draw_curve else last_curve
            *images, curve, _ = _frame_outputs({**state, "frames": [frame]}, 0, run.lang, curve=draw_curve)
            status = status_line(
                run.lang, step=record.step + 1, t=_format_t(record.t), seconds=time.perf_counter() - start
            )
            # the code is already shown (the first update set it): a streamed frame leaves it, as it leaves the files
            yield (*images, curve, f"{status} · {run.progress_line()}", skip, skip, skip, skip, skip, skip)
            last_yield = time.perf_counter()
        if reason is not None:
            break
    seconds = time.perf_counter() - start
    final = to_unit_range(record.x_prev.detach().float().cpu()).clamp(0, 1)
    done_steps = record.step + 1
    run_name = download_folder("sampling-") / f"{sampler}-{steps}-steps-seed{seed}"
    if reason is not None:
        run_name = run_name.with_name(f"{run_name.name}-stopped-at-{done_steps}")
    final_image = grid_image(final, GRID_WIDTH)
    png = run_name.with_suffix(".png")
    final_image.save(png)
    columns = square_columns(shown)
    trajectory = [to_unit_range(f["x_t"].float()).clamp(0, 1) for f in state["frames"]] + [final[:shown]]
    gif = write_gif([grid_image(x, PANEL_WIDTH, columns) for x in trajectory], run_name.with_suffix(".gif"))
    *images, curve, _ = _frame_outputs(state, len(state["frames"]) - 1, run.lang)
    statuses = {
        language: status_line(language, step=done_steps, t=_format_t(record.t), seconds=seconds)
        + (" · " + run.ended_line(reason, done_steps, steps, language) if reason is not None else "")
        for language in LANGUAGES
    }
    state["status"] = statuses  # a language switch re-words it (shared.status_in_language)
    status = statuses[run.lang]
    frames = len(state["frames"])
    scrub = gr.update(minimum=1, maximum=max(frames, 2), value=frames, interactive=True)
    yield (*images, curve, status, state, scrub, final_image, str(gif), str(png), code)


def ddpm_frames(state: Any) -> str:
    """The last run's kept frames for the page's scrubber (``ui.client_scrub.frames_payload``): per frame,
    x_t, the predicted x0 and the predicted noise as PNG grids at one pixel per pixel (the page enlarges them
    crisply) and the caption in both languages. Sent once when the run has finished."""
    if not isinstance(state, dict) or not state.get("frames"):
        return frames_payload([])
    frames = []
    for frame in state["frames"]:
        x_t = frame["x_t"].float()
        images = step_images(x_t, frame["pred_x0"].float(), frame["noise_pred"].float(), 1, square_columns(len(x_t)))
        text = {
            language: pick(TEXT, "frame", language).format(step=frame["step"] + 1, n=state["steps"], t=_format_t(frame["t"]))
            for language in LANGUAGES
        }  # fmt: skip
        frames.append({"images": [png_data_url(image) for image in images], "text": text})
    return frames_payload(frames)


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
    return alpha_bar_curve(state["alpha_bar"], float(shown["t"]), lang)


# ----------------------------------------------------------------------------------------------
# The section's widgets
# ----------------------------------------------------------------------------------------------


@dataclass
class StepsSection:
    """The widgets of section B that events read or write."""

    scheduler: gr.Radio
    steps: gr.Slider
    batch: gr.Slider
    seed: gr.Number
    run: gr.Button
    stop: gr.Button
    status: gr.Markdown
    scrub: gr.Slider
    x_t: gr.Image
    pred: gr.Image
    noise: gr.Image
    curve: gr.Plot
    final: gr.Image
    gif: gr.File
    png: gr.File
    code: gr.Code
    state: gr.State
    frames: gr.HTML  # the last run's kept frames, in the page (ui.client_scrub.frames_store)


def build_section(loc: Localizer) -> StepsSection:
    """Lay out section B inside the current block."""
    with loc.widget(gr.Accordion, TEXT, "b_title", open=True, elem_id="sample-b"):
        loc.text(markdown, TEXT, "b_lesson")
        note = "gpu_note" if ON_GPU else "cpu_note"
        loc.text(gr.Markdown, formatted(note, steps=FEW_STEPS, full_steps=MAX_STEPS), note)
        with gr.Row():
            scheduler = loc.widget(gr.Radio, TEXT, "scheduler", choices=SAMPLER_KEYS, value=DEFAULT_SAMPLER,
                                   elem_id="ddpm-scheduler")  # fmt: skip
        with gr.Row():
            steps = loc.widget(slider, TEXT, "b_steps", minimum=1, maximum=MAX_STEPS, value=DEFAULT_STEPS, step=1,
                               elem_id="ddpm-steps", name="steps")  # fmt: skip
            batch = loc.widget(slider, TEXT, "batch", minimum=1, maximum=MAX_BATCH, value=DEFAULT_BATCH, step=1,
                               elem_id="ddpm-batch", name="batch")  # fmt: skip
            seed = loc.widget(seed_number, TEXT, "seed")
            run = loc.text(gr.Button, TEXT, "b_run", variant="primary", elem_id="ddpm-run", scale=0, min_width=140)
            stop = loc.text(gr.Button, runs.TEXT, "stop", variant="stop", elem_id="ddpm-stop", scale=0, min_width=100)
        status = gr.Markdown(pick(TEXT, "status_idle", DEFAULT_LANGUAGE), elem_id="ddpm-status")
        scrub = loc.widget(slider, TEXT, "b_scrub", minimum=1, maximum=2, value=1, step=1, elem_id="ddpm-scrub",
                           interactive=False, name="frame")  # fmt: skip
        with gr.Row():
            x_t = loc.widget(gr.Image, TEXT, "x_t", elem_id="ddpm-xt", elem_classes="pixelated", format="png")
            pred = loc.widget(gr.Image, TEXT, "pred_x0", elem_id="ddpm-pred", elem_classes="pixelated", format="png")
            noise = loc.widget(gr.Image, TEXT, "noise_pred", elem_id="ddpm-noise", elem_classes="pixelated",
                               format="png")  # fmt: skip
        with gr.Row():
            curve = gr.Plot(elem_id="sample-curve", show_label=False)  # drawn when the tab is first opened
            final = loc.widget(gr.Image, TEXT, "final", elem_id="ddpm-final", elem_classes="pixelated", format="png")
        with gr.Row():
            gif = loc.widget(gr.File, TEXT, "gif", elem_id="ddpm-gif", height=90)
            png = loc.widget(gr.File, TEXT, "png", elem_id="ddpm-png", height=90)
        with loc.widget(gr.Accordion, COMMON, "code", open=False):
            first_code = ddpm_code(checkpoint_path(DDPM_DIR), "bundled", DEFAULT_SAMPLER, DEFAULT_STEPS, SEED_DEFAULT,
                                   DEFAULT_BATCH, UNET2D_SEED_CONFIG, vars(SEED_TRAINING_SCHEDULE))  # fmt: skip
            code = gr.Code(first_code, language="python")
        frames = frames_store("ddpm-frames")
    state = gr.State(None, time_to_live=SESSION_TTL_SECONDS)
    return StepsSection(scheduler, steps, batch, seed, run, stop, status, scrub, x_t, pred, noise, curve, final, gif,
                        png, code, state, frames)  # fmt: skip
