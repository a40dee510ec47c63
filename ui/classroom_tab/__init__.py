"""Tab · 课堂模式 / Classroom: a guided lesson through the tutorial, for a teacher and a projector.

Six stops in the tutorial's order; each holds a short prompt, the live widget for that idea and a
"predict, then reveal" question whose truth is computed live. One module per concern:

* ``text``: the words (zh/en) and ``worded``, computed text in both languages at once;
* ``questions``: the predict-then-reveal block and its verdict;
* ``corruption``, ``noising``, ``unet``, ``training``, ``sampling``, ``comparison``: one module per stop, each
  with ``widget(ctx)`` (the live widget: one builder, server-side core calls, replaceable by a client-side
  widget) and ``question(ctx)`` (the question and its ``reveal`` handler);
* ``shared``: the lesson's digits, how a stop fills itself when it opens, event settings;
* ``presenter``: the stop bar's page side, the presenter CSS, keyboard navigation and the ``?lesson=N`` link;
* this file: ``build`` (the layout and the event wiring).

Nothing is computed while the app is built: a stop's widget is filled when the stop first opens, the rest
when a button is pressed. Every event is private (``api_visibility="private"``): the public API is unchanged.
"""

from __future__ import annotations

import gradio as gr

from ui.classroom_tab import comparison, corruption, noising, presenter, sampling, training, unet
from ui.classroom_tab.presenter import CSS, HEAD
from ui.classroom_tab.shared import QUIET, Opening
from ui.classroom_tab.text import TEXT
from ui.common import markdown
from ui.context import AppContext

STOPS = (corruption, noising, unet, training, sampling, comparison)  # the tutorial's order


def build(ctx: AppContext) -> None:
    """Build the Classroom tab: the stop bar, then the six stops (one shown at a time, in the page)."""
    loc = ctx.loc
    tab = loc.widget(gr.Tab, TEXT, "tab", id=presenter.TAB_ID, elem_id="classroom-tab")
    with tab, gr.Column(elem_classes="dx-classroom", elem_id=presenter.ROOM_ID):
        with gr.Row(elem_classes="dx-bar", equal_height=True):
            previous = loc.text(gr.Button, TEXT, "prev", elem_id="classroom-prev", min_width=120)
            buttons = [loc.text(gr.Button, TEXT, f"stop{n}", elem_id=presenter.go_button_id(n), min_width=120)
                       for n in presenter.STOP_NUMBERS]  # fmt: skip
            following = loc.text(gr.Button, TEXT, "next", elem_id="classroom-next", min_width=120)
        loc.text(markdown, TEXT, "intro", elem_classes="dx-intro")
        openings: list[list[tuple[Opening, gr.State]]] = []
        for number, stop in zip(presenter.STOP_NUMBERS, STOPS, strict=True):
            with gr.Row(elem_classes=["dx-stop", f"dx-stop-{number}"], elem_id=presenter.stop_id(number)):
                with gr.Column(scale=5):
                    loc.text(markdown, TEXT, f"prompt{number}", elem_classes="dx-prompt")
                    found = [stop.widget(ctx)]
                with gr.Column(scale=4):
                    found.append(stop.question(ctx))
                openings.append([(opening, gr.State(False)) for opening in found if opening is not None])

    previous.click(None, js=presenter.PREVIOUS_JS)
    following.click(None, js=presenter.NEXT_JS)
    for number, button, stop_openings in zip(presenter.STOP_NUMBERS, buttons, openings, strict=True):
        button.click(None, js=presenter.show_js(number))  # in the page, at once
        for opening, filled in stop_openings:  # on the server, the first time: computed on first use
            triggers = [button.click, ctx.openings.first_open(tab)] if number == 1 else [button.click]
            gr.on(triggers, opening.fn, [filled, *opening.inputs], [filled, *opening.outputs], **QUIET)


__all__ = ["CSS", "HEAD", "build"]
