"""Private handlers that keep the controls consistent: what follows the model, the data choice and the language."""

from __future__ import annotations

from typing import Any

import gradio as gr

from diffusion_core.training import DEFAULT_LR
from ui.i18n import normalize_language, pick
from ui.lazy_views import uses_no_deferred_module
from ui.training_tab.text import TEXT


@uses_no_deferred_module  # a language switch re-words it at once, during the first import
def row_labels(kind: Any, lang: Any) -> tuple:
    """Labels of rows 2 and 3: "corrupted" / "prediction" for BasicUNet, "noised x_t" / "x0 from the noise" for DDPM.

    Not registered on ``loc``: its fixed BasicUNet labels would race this handler on a language switch and win.
    """
    lang = normalize_language(lang)
    ddpm = kind == "ddpm"
    return (
        gr.update(label=pick(TEXT, "row_noised" if ddpm else "row_corrupted", lang)),
        gr.update(label=pick(TEXT, "row_pred_eps" if ddpm else "row_pred_x0", lang)),
    )


def model_changed(kind: Any, lang: Any) -> tuple:
    """A new model: its row labels and the tutorial's learning rate for it (1e-3 or 4e-4)."""
    return (*row_labels(kind, lang), gr.update(value=DEFAULT_LR["ddpm" if kind == "ddpm" else "basic"]))


@uses_no_deferred_module  # a language switch re-words it at once, during the first import
def idle_status(status: Any, lang: Any, run_state: Any = None) -> Any:
    """The status follows the language: the "not training yet" hint, or the last run's (``run_state["status"]``)."""
    lang = normalize_language(lang)
    if status in TEXT["idle"].values():
        return pick(TEXT, "idle", lang)
    worded = run_state.get("status") if isinstance(run_state, dict) else None
    if isinstance(worded, dict) and status in worded.values():
        return worded.get(lang, gr.skip())
    return gr.skip()


def rgb_visibility(data: Any, kind: Any) -> Any:
    """The colour checkbox is shown for uploads to UNet2DModel only."""
    return gr.update(visible=data == "upload" and kind == "ddpm")


def upload_visibility(data: Any, kind: Any) -> tuple:
    """The upload box and the colour checkbox are shown when the learner trains on their own images."""
    return gr.update(visible=data == "upload"), rgb_visibility(data, kind)
