"""What the three sections share: limits, grid sizes, and which model a run uses.

Models: this session's trained model (``ctx.session_models``) when there is one, otherwise the
bundled checkpoint (cached, read-only). Every run says which one it used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
import torch
from PIL import Image

from diffusion_core import sampling
from diffusion_core.checkpoints import BASIC_UNET_DIR, DDPM_DIR
from diffusion_core.figures import GRID_PADDING, to_image
from diffusion_core.models import BasicUNet
from diffusion_core.noising import SEED_TRAINING_SCHEDULE, make_scheduler
from diffusion_core.sample_figures import grid_columns
from ui import runs
from ui.context import DEVICE
from ui.i18n import LANGUAGES, normalize_language, pick
from ui.lazy_views import uses_no_deferred_module
from ui.sampling_tab.text import TEXT

if TYPE_CHECKING:  # diffusers is imported when first used (ARCHITECTURE.md, "Start-up")
    from diffusers import DDPMPipeline, UNet2DModel

MAX_BATCH = 64  # images per run in every section
STREAM_EVERY_S = 0.25  # at most ~4 streamed updates per second
PANEL_WIDTH = 300  # pixels: the step-by-step pictures beside the scrubber
GRID_WIDTH = 640  # pixels: a whole batch as one grid
MAX_GRID_SCALE = 8
SEED_DEFAULT = 0  # every section opens with seed 0
SESSION_FOLDER = "my_pipeline"  # where code and the zip put this session's pipeline
SECTIONS = {"a": "sampling.mix", "b": "sampling.scheduler_loop", "c": "sampling.pipeline"}  # as runs name them


# ----------------------------------------------------------------------------------------------
# Grids
# ----------------------------------------------------------------------------------------------


def square_columns(batch: int) -> int:
    """Images per row for a compact grid: 4 up to 16 images (4 x 2 for 8, 4 x 4 for 16), else 8."""
    return max(1, min(batch, 4 if batch <= 16 else 8))


def grid_scale(images: torch.Tensor, columns: int, width: int) -> int:
    """The enlargement (1..8) that makes ``images`` (B, C, H, W), ``columns`` a row, about ``width`` pixels wide."""
    return int(max(1, min(MAX_GRID_SCALE, width // (columns * (images.shape[-1] + GRID_PADDING)))))


def grid_image(images: torch.Tensor, width: int, columns: int | None = None) -> Image.Image:
    """``images`` (B, C, H, W) in [0, 1] as one grid about ``width`` pixels wide (``columns`` a row, default
    ``grid_columns``)."""
    columns = columns or grid_columns(images.shape[0])
    return to_image(images, (0, 1), nrow=columns, scale=grid_scale(images, columns, width))


# ----------------------------------------------------------------------------------------------
# Models: this session's, else the bundled (cached, read-only)
# ----------------------------------------------------------------------------------------------


def checkpoint_path(path: Path) -> str:
    """``path`` as the learner would type it: relative to the working directory where it can be."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return f"assets/checkpoints/{path.name}"


def which_model(key: str, folder: str) -> dict[str, str]:
    """The sentence saying which model a run uses (``TEXT[key]``, naming ``folder`` or the Hub id), in every
    language: a finished run's status keeps both."""
    return {language: pick(TEXT, key, language).format(path=folder, id=folder) for language in LANGUAGES}


def resolve_basic(session_models: Any, lang: str) -> tuple[torch.nn.Module, dict[str, str]]:
    """The BasicUNet to sample with (images in [0, 1]), and the sentence saying which one, per language."""
    model = session_models.get("basic") if isinstance(session_models, dict) else None
    if isinstance(model, BasicUNet):
        return model.eval(), which_model("uses_session", "")
    folder = checkpoint_path(BASIC_UNET_DIR)
    if not (BASIC_UNET_DIR / "model.safetensors").is_file():
        raise gr.Error(pick(TEXT, "missing_basic", lang).format(path=folder))
    return sampling.bundled_basic_unet(str(DEVICE)), which_model("uses_bundled", folder)


def session_ddpm(session_models: Any) -> tuple[UNet2DModel, Any] | None:
    """This session's (unet, training scheduler) from the Training tab, or None if it trained no DDPM."""
    entry = session_models.get("ddpm") if isinstance(session_models, dict) else None
    if entry is None:
        return None
    from diffusers import DDPMPipeline, UNet2DModel

    if isinstance(entry, DDPMPipeline):
        return entry.unet, entry.scheduler
    if isinstance(entry, UNet2DModel):
        return entry, make_scheduler(SEED_TRAINING_SCHEDULE)  # read-only: only its config is used
    return None


def bundled_ddpm(lang: str) -> tuple[DDPMPipeline, str]:
    """The bundled ``DDPMPipeline`` (read-only) and its folder as shown in code; a clear error if missing."""
    folder = checkpoint_path(DDPM_DIR)
    if not (DDPM_DIR / "model_index.json").is_file():
        raise gr.Error(pick(TEXT, "missing_ddpm", lang).format(path=folder))
    return sampling.bundled_ddpm(str(DEVICE)), folder


def resolve_ddpm(session_models: Any, lang: str) -> tuple[UNet2DModel, Any, dict[str, str], str]:
    """(unet, training scheduler, which-model sentence per language, folder for the code) for section B."""
    session = session_ddpm(session_models)
    if session is not None:
        return session[0].eval(), session[1], which_model("uses_session", ""), SESSION_FOLDER
    pipeline, folder = bundled_ddpm(lang)
    return pipeline.unet, pipeline.scheduler, which_model("uses_bundled", folder), folder


# ----------------------------------------------------------------------------------------------
# Texts drawn before any run
# ----------------------------------------------------------------------------------------------


def idle_status(current: Any, lang: Any) -> Any:
    """The "press Sample" hint in ``lang`` while a status still shows it; otherwise leave the status alone."""
    if current in TEXT["status_idle"].values():
        return pick(TEXT, "status_idle", normalize_language(lang))
    return gr.skip()


def status_in_language(section: str):
    """The language listener of one section's status (``section``: the name its runs carry, ``SECTIONS``)."""

    @uses_no_deferred_module  # a language switch re-words it at once, during the first import
    def status_in_language(current: Any, state: Any, lang: Any, request: gr.Request = None) -> Any:
        """A section's status after a language switch, in ``lang``: while this session's run of the section is
        under way, the line it started with (its streamed lines follow ``run.lang``: ``runs.follow_language``);
        else its last run's status (a finished run keeps ``{"zh": ..., "en": ...}`` under ``state["status"]``);
        else the idle hint; else unchanged."""
        lang = normalize_language(lang)
        run = runs.running_in(request, "sample", section)
        if run is not None:
            return run.started_line(lang)
        worded = state.get("status") if isinstance(state, dict) else None
        if isinstance(worded, dict) and lang in worded:
            return worded[lang]
        return idle_status(current, lang)

    return status_in_language


def last_run(state: Any, key: str, lang: Any) -> dict:
    """The state a section's last run left (``state[key]`` non-empty), or a clear "run first" error."""
    if not isinstance(state, dict) or not state.get(key):
        raise gr.Error(pick(TEXT, "run_first", normalize_language(lang)))
    return state
