"""The walk in words: the tutorial's name of each step, the table's notes, and why a walk failed (zh/en).

The core (``diffusion_core.tracing``) returns data: ``TraceStep`` and ``TraceFailure`` with kinds,
paths, stages and shapes. This module turns them into the lesson's Chinese or English text.
"""

from __future__ import annotations

import re
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
        message=torch_message(failure.message, lang),
    )


# PyTorch's error messages a walk can end with, worded in both languages (the original is kept for others).
TORCH_MESSAGES: list[tuple[re.Pattern[str], dict[str, str]]] = [
    (
        re.compile(
            r"Sizes of tensors must match except in dimension \d+\. Expected (?P<a>\d+) in dimension (?P<d>\d+) "
            r"but got (?P<b>\d+)"
        ),
        {
            "zh": "拼接的两个张量在第 {d} 维大小不同：一个是 {a}，另一个是 {b}",
            "en": "the two tensors joined differ in dimension {d}: {a} and {b}",
        },
    ),
    (
        re.compile(
            r"The size of tensor a \((?P<a>\d+)\) must match the size of tensor b \((?P<b>\d+)\) at "
            r"non-singleton dimension (?P<d>\d+)"
        ),
        {
            "zh": "相加的两个张量在第 {d} 维大小不同：{a} 与 {b}",
            "en": "the two tensors added differ in dimension {d}: {a} and {b}",
        },
    ),
    (
        re.compile(r"expected input\[[^\]]*\] to have (?P<want>\d+) channels, but got (?P<got>\d+) channels"),
        {
            "zh": "这一层要求输入有 {want} 个通道，实际是 {got} 个",
            "en": "this layer expects {want} input channels but got {got}",
        },
    ),
    (
        re.compile(r"Output size is too small|Given input size: .* Calculated output size: .* too small"),
        {"zh": "特征图已经小到无法再缩小", "en": "the feature map is too small to shrink further"},
    ),
]


def torch_message(message: str, lang: str) -> str:
    """PyTorch's error ``message`` in the lesson's words in ``lang``; an unknown one is quoted as PyTorch's own."""
    for pattern, words in TORCH_MESSAGES:
        found = pattern.search(message)
        if found:
            return words["zh" if lang == "zh" else "en"].format(**found.groupdict())
    return f"PyTorch 原文：{message}" if lang == "zh" else message


# Checks of the tab's inputs the general validators (ui.errors) do not make; both languages, as the API has no page.
INVALID: dict[str, dict[str, str]] = {
    "channels": {"zh": "channels 只能是 1 或 3，收到 {value}", "en": "channels must be 1 or 3, got {value}"},
    "pixels": {
        "zh": "batch × height × width = {value:,} 太大（最多 {limit:,}）",
        "en": "batch × height × width = {value:,} is too large (at most {limit:,})",
    },
    "attention": {
        "zh": "attention 只能是 true 或 false，收到 {value!r}",
        "en": "attention must be true or false, got {value!r}",
    },
}


def invalid(key: str, **values: object) -> str:
    """The message of a failed check ``key``, Chinese then English: ``channels 只能是 1 或 3… / channels must be…``."""
    return " / ".join(INVALID[key][lang].format(**values) for lang in ("zh", "en"))
