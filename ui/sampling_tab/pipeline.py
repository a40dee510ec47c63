"""Section C · the one-line ``DDPMPipeline`` (APIs ``/pipeline_sample`` and ``/save_pipeline``).

The pipeline comes from the bundled folder, this session's model, or a Hugging Face Hub id; its
batch is shown through ``make_grid``, and this session's model can be ``save_pretrained`` as a zip.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr
import torch

from diffusion_core import estimates, hub_models, sampling
from diffusion_core.checkpoints import DDPM_DIR, save_ddpm_pipeline
from diffusion_core.device import gpu_seconds, gpu_task
from ui import runs
from ui.common import TEXT as COMMON
from ui.common import download_folder, markdown
from ui.components import seed_number, slider
from ui.context import DEVICE, ON_GPU
from ui.errors import as_choice, as_int, as_seed, friendly
from ui.i18n import LANGUAGES, Localizer, normalize_language, pick
from ui.sampling_tab.scheduler_loop import MAX_STEPS
from ui.sampling_tab.shared import (
    GRID_WIDTH,
    MAX_BATCH,
    SECTIONS,
    SEED_DEFAULT,
    SESSION_FOLDER,
    bundled_ddpm,
    checkpoint_path,
    grid_image,
    session_ddpm,
    which_model,
)
from ui.sampling_tab.text import TEXT

if TYPE_CHECKING:  # diffusers is imported when first used (ARCHITECTURE.md, "Start-up")
    from diffusers import DDPMPipeline

SOURCES = ("bundled", "session", "hub")
DEFAULT_PIPELINE_STEPS = MAX_STEPS if ON_GPU else 50
DEFAULT_PIPELINE_BATCH = 8
DEFAULT_HUB_ID = "google/ddpm-cifar10-32"
HUB_CACHE_SIZE = 2  # read-only public models kept loaded
REFUSAL_TEXT = {  # diffusion_core.hub_models' reasons -> TEXT keys
    "bad_id": "bad_hub_id", "not_found": "hub_not_found", "not_pipeline": "hub_not_pipeline",
    "bad_config": "hub_bad_config", "no_safetensors": "hub_no_safetensors", "too_large": "hub_too_large",
    "image_too_large": "too_big",
}  # fmt: skip

PIPELINE_CODE = """import torch
import torchvision
from diffusers import DDPMPipeline

pipeline = DDPMPipeline.from_pretrained("{folder}", use_safetensors=True)  # {model}
generator = torch.Generator().manual_seed({seed})
images = pipeline(batch_size={batch}, generator=generator, num_inference_steps={steps}, output_type="pt").images
grid = torchvision.utils.make_grid(images, nrow=8)  # torchvision's grid (the tutorial wrote its own for PIL)
# pipeline.save_pretrained("my_pipeline")  # save it
"""


def pipeline_gpu_seconds(source: Any = None, hub_id: Any = None, steps: Any = 0, *_: Any, **__: Any) -> int:
    """ZeroGPU quota of one ``pipeline_sample`` call (a Hub model may be larger than the bundled one)."""
    return gpu_seconds(steps, 0.05, base=15, cap=120)


_hub_cache: dict[str, DDPMPipeline] = {}  # at most HUB_CACHE_SIZE, the least recently used dropped first
_hub_cache_lock = threading.Lock()


def _refusal_text(refusal: hub_models.HubModelRefused, lang: str) -> str:
    """Why the core refused a Hub id or model, in ``lang``."""
    return pick(TEXT, REFUSAL_TEXT[refusal.reason], lang).format(id=refusal.repo_id, **refusal.details)


def _hub_id(repo_id: Any, lang: str) -> str:
    """``repo_id`` as an "owner/name" Hub id, or ``ValueError`` in ``lang`` (paths and odd names refused)."""
    try:
        return hub_models.check_repo_id(repo_id)
    except hub_models.HubModelRefused as refusal:
        raise ValueError(_refusal_text(refusal, lang)) from None


def load_hub_pipeline(repo_id: Any, lang: str) -> DDPMPipeline:
    """A public Hub model, checked and fetched by ``diffusion_core.hub_models.load_hub_pipeline``, kept loaded.

    Raises:
        ValueError: the id or the model is refused (the reason in ``lang``);
        gr.Error: the Hub could not be reached (not the learner's input: no "Invalid input" label).
    """
    key = _hub_id(repo_id, lang)
    with _hub_cache_lock:
        if key in _hub_cache:
            _hub_cache[key] = _hub_cache.pop(key)  # now the most recently used
            return _hub_cache[key]
    try:
        pipeline = hub_models.load_hub_pipeline(key, device=DEVICE)
    except hub_models.HubModelRefused as refusal:
        raise ValueError(_refusal_text(refusal, lang)) from None
    except hub_models.HubUnreachable as error:
        raise gr.Error(pick(TEXT, "hub_offline" if error.offline else "hub_unreachable", lang).format(id=key)) from None
    with _hub_cache_lock:
        while len(_hub_cache) >= HUB_CACHE_SIZE:
            _hub_cache.pop(next(iter(_hub_cache)))
        _hub_cache[key] = pipeline
    return pipeline


def _session_pipeline(session_models: Any, lang: str) -> tuple[Any, Any]:
    """This session's (unet, training scheduler), or a clear "train one first" error."""
    session = session_ddpm(session_models)
    if session is None:
        raise ValueError(pick(TEXT, "no_session", lang))
    return session


def pipeline_prepare(source: Any, hub_id: Any, lang: Any, session_models: Any = None) -> Iterator[tuple]:
    """The page's first step of ▶ Run, before ``pipeline_sample``: make sure the model can be had.

    A Hub model is checked and downloaded here (the status says so while it loads). When the model
    cannot be had (no session model, a refused id, an unreachable Hub), the status says why and the
    grid is cleared, so an old picture does not pass for this run; then an invisible ``gr.Error`` stops
    the run. Raising at once instead would put Gradio's red "Error" badge on every output and leave the
    old status in place. API scripts call ``pipeline_sample``, which raises the same messages.

    Yields:
        (status, grid) updates.
    """
    lang = normalize_language(lang)
    try:
        if source == "hub":
            limit = hub_models.MAX_DOWNLOAD_BYTES / 1e6
            yield pick(TEXT, "hub_loading", lang).format(id=_hub_id(hub_id, lang), limit=limit), gr.skip()
            load_hub_pipeline(hub_id, lang)
        elif source == "session":
            _session_pipeline(session_models, lang)
    except (ValueError, gr.Error) as error:
        message = error.message if isinstance(error, gr.Error) else str(error)
        yield f"⚠ {message}", None
        raise gr.Error(message, visible=False, print_exception=False) from None
    yield gr.skip(), gr.skip()


@gpu_task(pipeline_gpu_seconds)
def pipeline_sample(
    source: Any, hub_id: Any, steps: Any, batch: Any, seed: Any, lang: Any, session_models: Any = None,
    progress: gr.Progress = gr.Progress(track_tqdm=True), request: gr.Request | None = None,  # noqa: B008
) -> Iterator[tuple]:  # fmt: skip
    """Handler of the ``pipeline_sample`` API: ``DDPMPipeline(...)`` and ``make_grid``.

    Args:
        source: one of ``SOURCES``; hub_id: "owner/name" (used when source is "hub");
        steps: 1 .. ``MAX_STEPS``; batch: 1 .. ``MAX_BATCH``; seed: 0 .. 2**31 - 1.

    The run is estimated first (``ui.runs``: refused above the server's cap, one per session); Stop
    or the cap ends it early, and the grid then shows the batch as far as it got (still noisy).

    Yields:
        (grid image of the batch in [0, 1], status, code, state): the estimate first, the batch at the end;
        the state (not in the API) keeps the final status in both languages for a language switch.
    """
    lang = normalize_language(lang)
    source = as_choice(source, "source", SOURCES)
    steps = as_int(steps, "steps", 1, MAX_STEPS)
    batch = as_int(batch, "batch", 1, MAX_BATCH)
    seed = as_seed(seed)
    if source == "hub":
        folder = str(hub_id).strip()
        pipeline, note_key = load_hub_pipeline(hub_id, lang), "uses_hub"
    elif source == "session":
        from diffusers import DDPMPipeline

        unet, scheduler = _session_pipeline(session_models, lang)
        pipeline = DDPMPipeline(unet=unet.eval(), scheduler=scheduler)
        folder, note_key = SESSION_FOLDER, "uses_session"
    else:
        pipeline, folder = bundled_ddpm(lang)
        note_key = "uses_bundled"
    notes = which_model(note_key, folder)
    note = notes[lang]
    code = PIPELINE_CODE.format(folder=folder, model=note.replace("*", ""), seed=seed, batch=batch, steps=steps)
    with runs.heavy_run(request, "sample", lang, SECTIONS["c"]) as run:
        yield gr.skip(), run.started_line(run.lang), code, gr.skip()
        estimate = run.admit(estimates.sampling_estimate(pipeline.unet, steps, batch))
        yield gr.skip(), run.started_line(run.lang), code, gr.skip()
        ended: list = []  # (reason, steps done) once the run ends early

        def on_step(index: int) -> bool:
            reason = run.stop_reason()
            if reason is not None:
                ended.append((reason, index))
            return reason is not None

        start = time.perf_counter()
        images = sampling.pipeline_sample(pipeline, steps, batch, torch.Generator().manual_seed(seed),
                                          progress_bar=True, on_step=on_step)  # fmt: skip
        seconds = time.perf_counter() - start
    reason, done = ended[0] if ended else (None, steps)
    statuses = {  # both languages: a language switch re-words the status from the state
        language: pick(TEXT, "c_status", language).format(batch=batch, steps=done, seconds=seconds,
                                                          source=notes[language])
        + " · " + (run.ended_line(reason, done, steps, language) if reason
                   else runs.estimate_line(estimate, language))
        for language in LANGUAGES
    }  # fmt: skip
    yield grid_image(images, GRID_WIDTH), statuses[run.lang], code, {"status": statuses}  # runs.follow_language


@friendly
def save_pipeline(session_models: Any, lang: Any) -> str:
    """Handler of the ``save_pipeline`` API: ``save_pretrained`` this session's DDPM model, zipped.

    Returns:
        The path of ``my_pipeline.zip`` (``model_index.json``, the scheduler and safetensors weights).
    """
    from diffusers import DDPMScheduler

    unet, scheduler = _session_pipeline(session_models, normalize_language(lang))
    folder = download_folder("pipeline-")
    save_ddpm_pipeline(unet, DDPMScheduler.from_config(scheduler.config), folder / SESSION_FOLDER)
    return shutil.make_archive(str(folder / SESSION_FOLDER), "zip", root_dir=folder, base_dir=SESSION_FOLDER)


@dataclass
class PipelineSection:
    """The widgets of section C that events read or write."""

    source: gr.Radio
    hub_id: gr.Textbox
    steps: gr.Slider
    batch: gr.Slider
    seed: gr.Number
    run: gr.Button
    stop: gr.Button
    status: gr.Markdown
    grid: gr.Image
    save: gr.Button
    zip: gr.File
    code: gr.Code
    state: gr.State  # {"status": {"zh": ..., "en": ...}} of the last run


def build_section(loc: Localizer) -> PipelineSection:
    """Lay out section C inside the current block."""
    with loc.widget(gr.Accordion, TEXT, "c_title", open=True, elem_id="sample-c"):
        loc.text(markdown, TEXT, "c_lesson")
        with gr.Row():
            source = loc.widget(gr.Radio, TEXT, "source", choices={name: name for name in SOURCES}, value="bundled",
                                elem_id="pipe-source")  # fmt: skip
            hub_id = loc.widget(gr.Textbox, TEXT, "hub_id", value=DEFAULT_HUB_ID, elem_id="pipe-hub", max_lines=1)
        with gr.Row():
            steps = loc.widget(slider, TEXT, "c_steps", minimum=1, maximum=MAX_STEPS, value=DEFAULT_PIPELINE_STEPS,
                               step=1, elem_id="pipe-steps", name="steps")  # fmt: skip
            batch = loc.widget(slider, TEXT, "batch", minimum=1, maximum=MAX_BATCH, value=DEFAULT_PIPELINE_BATCH,
                               step=1, elem_id="pipe-batch", name="batch")  # fmt: skip
            seed = loc.widget(seed_number, TEXT, "seed")
            run = loc.text(gr.Button, TEXT, "c_run", variant="primary", elem_id="pipe-run", scale=0, min_width=140)
            stop = loc.text(gr.Button, runs.TEXT, "stop", variant="stop", elem_id="pipe-stop", scale=0, min_width=100)
        status = gr.Markdown("", elem_id="pipe-status")
        grid = loc.widget(gr.Image, TEXT, "c_grid", elem_id="pipe-grid", elem_classes="pixelated", format="png")
        with gr.Row():
            save = loc.text(gr.Button, TEXT, "save", elem_id="pipe-save", size="sm")
            zip_file = loc.widget(gr.File, TEXT, "save_file", elem_id="pipe-zip", height=90)
        with loc.widget(gr.Accordion, COMMON, "code", open=False):
            first_code = PIPELINE_CODE.format(folder=checkpoint_path(DDPM_DIR), model="bundled", seed=SEED_DEFAULT,
                                              batch=DEFAULT_PIPELINE_BATCH, steps=DEFAULT_PIPELINE_STEPS)  # fmt: skip
            code = gr.Code(first_code, language="python")
    return PipelineSection(source, hub_id, steps, batch, seed, run, stop, status, grid, save, zip_file, code,
                           gr.State(None))  # fmt: skip
