"""What every tab builder receives: the language switch, the localizer and cross-tab state."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from diffusion_core.checks import seconds_from_env
from diffusion_core.device import pick_device
from ui.i18n import Localizer
from ui.lazy_views import TabOpenings

logger = logging.getLogger(__name__)

DEVICE = pick_device()  # the one device every tab computes on: CUDA, then Apple MPS, then the CPU
ON_GPU = DEVICE.type == "cuda"  # GPU defaults (1000-step DDPM, the CUDA-graph fast path) only where CUDA is

SESSION_TTL_ENV = "DIFFUSION_EXPLORER_SESSION_TTL"
DEFAULT_SESSION_TTL_SECONDS = 2 * 60 * 60


def session_ttl_seconds(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds a session's state lives after its last update: ``$DIFFUSION_EXPLORER_SESSION_TTL`` or 2 h.

    Gradio frees a ``gr.State`` this long after it was last *written* (reading it, e.g. by
    sampling, does not extend it). A value that is not a positive finite number is ignored with
    a warning.
    """
    return seconds_from_env(environ, SESSION_TTL_ENV, DEFAULT_SESSION_TTL_SECONDS)


SESSION_TTL_SECONDS = session_ttl_seconds()  # a learner's own trained model is freed this long after training


def release_session_models(models: Any) -> None:
    """``delete_callback`` of ``session_models``: Gradio calls it when a session's models expire.

    Dropping the state is what frees the tensors (plain reference counting, nothing else holds
    them); this logs which models went and how much they weighed. It never raises: it runs in
    Gradio's expiry loop, which would stop for every session if a callback failed.
    """
    try:
        if not isinstance(models, dict) or not models:
            return
        total = 0
        for entry in models.values():
            module = getattr(entry, "unet", entry)
            parameters = getattr(module, "parameters", None)
            if callable(parameters):
                total += sum(p.numel() * p.element_size() for p in parameters())
        logger.info("session state expired: freed trained models %s (%.1f MB of weights)",
                    ", ".join(sorted(models)), total / 1e6)  # fmt: skip
    except Exception:  # pragma: no cover - a log line must never stop the expiry loop
        logger.exception("could not describe the expired session models")


@dataclass
class AppContext:
    """Handles shared by the tab builders.

    Attributes:
        lang: the language radio (``"zh"`` or ``"en"``); pass it as an input to handlers that write text.
        loc: register translatable components here.
        session_models: a per-session ``gr.State`` holding this learner's trained models
            (a dict ``{"basic": ..., "ddpm": ...}``), written by the Training tab and read by
            Sampling; never shared between sessions, freed ``SESSION_TTL_SECONDS`` after the
            last training update.
        page_load: the page's ``load`` event (``demo.load``), a trigger for ``gr.on``: the first tab
            draws its view there, not at build time (``ui.lazy_views``).
        openings: ``openings.first_open(tab)`` is the event of a tab's first opening in a session (the
            other tabs draw their views there; ``app.py`` wires it to the ``gr.Tabs``).
        late_wiring: what ``after_all_tabs`` was given, for ``app.py`` to run once every tab is built.
    """

    lang: gr.Radio
    loc: Localizer
    session_models: gr.State
    page_load: Callable[..., Any]
    openings: TabOpenings
    late_wiring: list[Callable[[], Any]] = field(default_factory=list)

    def after_all_tabs(self, wire: Callable[[], Any]) -> None:
        """Run ``wire()`` (which registers listeners) after every tab is built, not now.

        For a view that a language switch redraws with a slow handler (one that computes tensors, or waits for
        the first import of diffusers), or with a queued guard before it. The page runs one trigger's listeners
        one after another, each waiting for the last to finish (Gradio 6.31's ``dispatch`` awaits a queued
        listener's whole stream, though not its ``.success`` chain). Registered late, these come after every
        tab's quick re-wording (status lines, plot titles), which then switches at once instead of waiting for
        the first tabs' pictures: on a fresh server, until the import ends.
        """
        self.late_wiring.append(wire)
