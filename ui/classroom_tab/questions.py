"""Predict, then reveal: the block every stop ends with, and the verdict a reveal writes.

The class commits to an answer (a radio with nothing chosen) before the app shows the truth; the
truth is computed live by the stop's own reveal handler, which ends with ``verdict``. The verdict is
written in both languages at once (``text.worded``), so a language switch needs no server call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ui.classroom_tab.text import TEXT, worded
from ui.common import markdown
from ui.i18n import Localizer, Text, pick

PIXELATED = {"elem_classes": "pixelated", "format": "png", "buttons": [], "interactive": False}


@dataclass
class Question:
    """The widgets of one predict-then-reveal question."""

    answer: gr.Radio
    reveal: gr.Button
    result: gr.Markdown
    picture: gr.Image | None


def build_question(
    loc: Localizer,
    name: str,
    choices: dict[str, str] | list[str],
    prompt: Text | None = None,
    picture_key: str | None = None,
    between: Callable[[], Any] | None = None,
) -> Question:
    """Lay out a question inside the current block: its prompt, the answers, Reveal, the verdict.

    Args:
        name: the question's id, used in the elements' ids (``{name}-answer``, ``{name}-reveal``, ...).
        choices: ``{value: text key}`` translated, or a list of language-neutral values.
        prompt: the texts holding ``"q"`` (default: ``TEXT[f"q{n}"]`` for the question named ``q{n}``).
        picture_key: if given, a picture the reveal fills, labelled with ``TEXT[picture_key]``.
        between: builds extra widgets between the prompt and the answers (the four images of stop 2).
    """
    with gr.Column(elem_classes="dx-question", elem_id=f"{name}-block"):
        loc.text(markdown, prompt or TEXT, "q" if prompt else name)
        if between is not None:
            between()
        with gr.Row(equal_height=True):
            answer = loc.widget(gr.Radio, TEXT, "your_answer", choices=choices, value=None, elem_id=f"{name}-answer",
                                scale=4)  # fmt: skip
            reveal = loc.text(gr.Button, TEXT, "reveal", variant="primary", elem_id=f"{name}-reveal", scale=1,
                              min_width=160)  # fmt: skip
        result = markdown("", elem_id=f"{name}-result", elem_classes="dx-reveal")
        picture = (
            loc.widget(gr.Image, TEXT, picture_key, elem_id=f"{name}-picture", **PIXELATED) if picture_key else None
        )
    return Question(answer, reveal, result, picture)


def choice_label(choices: dict[str, str] | list[str], value: str, lang: str) -> str:
    """The text of choice ``value`` in ``lang``."""
    return pick(TEXT, choices[value], lang) if isinstance(choices, dict) else str(value)


def verdict(chosen: Any, truth: str, choices: dict[str, str] | list[str], explain: Callable[[str], str]) -> str:
    """The reveal in both languages: right or wrong (naming the answer), then ``explain(lang)``, the live numbers."""

    def make(lang: str) -> str:
        if chosen == truth:
            head = pick(TEXT, "right", lang)
        else:
            head = pick(TEXT, "wrong", lang).format(answer=choice_label(choices, truth, lang))
        return f"{head}\n\n{explain(lang)}"

    return worded(make)


def pick_first() -> str:
    """The reveal's answer when nothing was chosen: commit first (no truth is shown)."""
    return worded(lambda lang: pick(TEXT, "pick_first", lang))


def committed(chosen: Any, choices: dict[str, str] | list[str]) -> bool:
    """Whether ``chosen`` is one of the question's answers (an API caller can send anything)."""
    return chosen in (choices if isinstance(choices, list) else list(choices))
