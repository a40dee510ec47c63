"""The walk in words: the tutorial's name of each step, the table's notes, and why a walk failed (zh/en).

The core (``diffusion_core.tracing``) returns data: ``TraceStep`` and ``TraceFailure`` with kinds,
paths, stages and shapes. This module turns them into the lesson's Chinese or English text.
"""

from __future__ import annotations

from collections.abc import Sequence

from diffusion_core.tracing import TraceFailure, TraceStep, format_shape, spatial
from ui.i18n import pick
from ui.inside_tab.text import TEXT

POP_ORDER_EN = {1: "first", 2: "second"}


def step_label(step: TraceStep | TraceFailure, lang: str) -> str:
    """The tutorial's name of a walk step: ``第2跳跃后`` (zh) or ``Up 2: after skip`` (en).

    Steps outside the tutorial's stages (no ``step_<path>_<kind>`` text) are named by stage and module.
    """
    key = f"step_{step.path}_{step.kind}"
    if key not in TEXT:
        name = step.module or step.kind
        return f"{step.stage}: {name}" if step.stage else name
    return pick(TEXT, key, lang).format(n=step.stage)


def stage_names(stages: Sequence[TraceStep], lang: str) -> str:
    """The names of ``stages`` joined with the language's list separator."""
    return pick(TEXT, "stage_separator", lang).join(step_label(stage, lang) for stage in stages)


def step_note(step: TraceStep, steps: Sequence[TraceStep], lang: str) -> str:
    """The table's "note" for ``step``: channels of a conv, what a layer does, which map a skip adds."""
    if step.kind == "conv":
        text = pick(TEXT, "note_conv", lang).format(a=step.in_shape[1], b=step.out_shape[1])
    elif step.kind in ("act", "down", "up"):
        text = pick(TEXT, f"note_{step.kind}", lang)
    elif step.kind == "skip" and step.skip_source is not None:
        pop = sum(1 for s in steps[: step.index + 1] if s.kind == "skip")
        text = pick(TEXT, "note_skip", lang).format(
            src=step.skip_source + 1, pop=pop, pop_en=POP_ORDER_EN.get(pop, f"#{pop}")
        )
    else:
        text = ""
    if step.stored:
        text += ("，" if lang == "zh" else "; ") + pick(TEXT, "note_stored", lang).format(i=step.stored_order - 1)
    return text.lstrip("，; ")


def failure_text(failure: TraceFailure, lang: str) -> str:
    """Explain a failed step in Markdown: both shapes for a skip connection, else the layer and PyTorch's message."""
    label = step_label(failure, lang)
    mismatch = failure.mismatched_skip
    if mismatch is not None:
        upsampled, stored = mismatch
        return pick(TEXT, "failure_skip", lang).format(
            label=label,
            up_hw="×".join(map(str, upsampled[2:])),
            up_shape=spatial(upsampled),
            stored_hw="×".join(map(str, stored[2:])),
            stored_shape=spatial(stored),
            downsamplings=failure.downsamplings,
            divisor=failure.size_divisor,
        )
    return pick(TEXT, "failure_layer", lang).format(
        label=label,
        where=f"{failure.layer}: {failure.module}" if failure.layer else failure.module,
        shape=format_shape(failure.shapes[0]) if failure.shapes else "—",
        message=failure.message,
    )
