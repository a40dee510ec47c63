"""What every tab builder receives: the language switch, the localizer and cross-tab state."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from ui.i18n import Localizer

SESSION_TTL_SECONDS = 2 * 60 * 60  # a learner's own trained model is freed two hours after last use


@dataclass
class AppContext:
    """Handles shared by the tab builders.

    Attributes:
        lang: the language radio (``"zh"`` or ``"en"``); pass it as an input to handlers that write text.
        loc: register translatable components here.
        session_models: a per-session ``gr.State`` holding this learner's trained models
            (a dict ``{"basic": ..., "ddpm": ...}``), written by the Training tab and read by
            Sampling; never shared between sessions.
    """

    lang: gr.Radio
    loc: Localizer
    session_models: gr.State
