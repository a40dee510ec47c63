"""The live shape walk through BasicUNet (API ``/trace_shapes``): handler, table, and the section's widgets.

The seed (基础UNet) follows ``torch.rand(8, 1, 28, 28)`` through BasicUNet by hand; here any input
(random, real MNIST digits or an upload; B in 1..64, C in {1, 3}, H and W in 1..512) walks through
it live, giving the step table, the U diagram, the summary, feature maps and the code.
"""

from __future__ import annotations

import functools
from typing import Any

import gradio as gr
import pandas as pd
import torch

from diffusion_core.checkpoints import load_basic_unet
from diffusion_core.data import mnist_batch
from diffusion_core.models import BUILD_LOCK, BasicUNet
from diffusion_core.tracing import (
    MAX_BATCH,
    MAX_PIXELS,
    MAX_SIDE,
    Trace,
    fit_images,
    format_shape,
    random_input,
    trace_basic_unet,
)
from diffusion_core.unet_figures import feature_rows, feature_strip, u_diagram
from diffusion_core.user_images import as_digit
from ui.common import TEXT as COMMON
from ui.common import markdown
from ui.components import Image, seed_number, slider
from ui.errors import as_choice, as_int, as_seed
from ui.i18n import Localizer, normalize_language, pick
from ui.inside_tab.basic_unet_code import walk_code
from ui.inside_tab.text import TEXT
from ui.inside_tab.wording import failure_text, invalid, stage_names, step_label, step_note

SOURCES = ("random", "mnist", "upload")
MAX_STEPS = 24  # BasicUNet's walk has 24 rows (a failed walk has fewer, plus the failed row)
STEP_KINDS = ("input", "conv", "act", "down", "up", "skip")
TABLE_COLUMNS = ("col_mark", "col_index", "col_step", "col_path", "col_layer", "col_in", "col_out", "col_params",
                 "col_note")  # fmt: skip
DIAGRAM_TEXTS = ("title", "down", "up", "bottleneck", "skip", "stack", "failed", "y")
RADIO_1_OR_3 = functools.partial(gr.Radio, [1, 3])  # C: grey or RGB (choices not translated)
SELECTED_STYLE = "background-color: #fde68a; font-weight: 600"
FAILED_STYLE = "background-color: #fecaca"


@functools.lru_cache(maxsize=1)
def _trained_weights() -> dict[str, torch.Tensor] | None:
    """The bundled trained BasicUNet's weights (read-only), or None when it is not there."""
    try:
        return load_basic_unet().state_dict()
    except ValueError:
        return None


def walk_model(channels: int) -> BasicUNet:
    """A fresh BasicUNet for C channels (never shared: the trace puts hooks on it).

    One channel: the bundled trained weights when present, so the feature maps of a real digit
    mean something. Otherwise a fixed initialisation (seed 0), so the maps do not flicker.
    """
    weights = _trained_weights() if channels == 1 else None
    with BUILD_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = BasicUNet(channels, channels)
    if weights is not None:
        model.load_state_dict(weights)
    return model.eval()


def as_input_shape(batch: Any, channels: Any, height: Any, width: Any) -> tuple[int, int, int, int]:
    """Check the input shape both sections share: B in 1..64, C in {1, 3}, H and W in 1..512.

    Raises:
        ValueError: naming the first value out of range.
    """
    batch = as_int(batch, "batch", 1, MAX_BATCH)
    channels = as_int(channels, "channels", 1, 3)
    height = as_int(height, "height", 1, MAX_SIDE)
    width = as_int(width, "width", 1, MAX_SIDE)
    if channels not in (1, 3):
        raise ValueError(invalid("channels", value=channels))
    return batch, channels, height, width


def walk_input(
    source: str, seed: int, batch: int, channels: int, height: int, width: int, upload: Any, lang: str
) -> torch.Tensor:
    """The input of the walk, (batch, channels, height, width) in [0, 1]: random, MNIST digits or the upload."""
    if source == "random":
        return random_input(batch, channels, height, width, torch.Generator().manual_seed(seed))
    if source == "mnist":
        images = mnist_batch(min(batch, 64), seed)[0]
        return fit_images(images, batch, channels, height, width)
    if not upload:
        raise ValueError(pick(TEXT, "need_upload", lang))
    return fit_images(as_digit(upload), batch, channels, height, width)


def step_table(trace: Trace, selected: int, lang: str) -> Any:
    """The step table: one row per step (the failed one marked ✗), then the total; ``selected`` is highlighted."""
    rows = []
    for step in trace.steps:
        rows.append(
            [
                "▶" if step.index == selected else "",
                step.index + 1,
                step_label(step, lang),
                pick(TEXT, f"path_{step.path}", lang) if step.path else "",
                f"{step.layer}: {step.module}" if step.layer and step.module != "add" else step.layer,
                format_shape(step.in_shape),
                format_shape(step.out_shape),
                f"{step.parameters:,}" if step.parameters else "",
                step_note(step, trace.steps, lang),
            ]
        )
    failure = trace.failure
    if failure:
        rows.append(
            [
                "▶" if failure.index == selected else "",
                failure.index + 1,
                step_label(failure, lang),
                pick(TEXT, f"path_{failure.path}", lang) if failure.path else "",
                failure.layer,
                " + ".join(format_shape(s) for s in failure.shapes),
                "✗",
                "",
                pick(TEXT, "note_failed", lang),
            ]
        )
    rows.append(["", "", pick(TEXT, "total", lang), "", "", "", "", f"{trace.total_parameters:,}", ""])
    frame = pd.DataFrame(rows, columns=[pick(TEXT, key, lang) for key in TABLE_COLUMNS])
    failure_row = failure.index if failure else -1

    def colour(row: pd.Series) -> list[str]:
        if row.name == selected:
            return [SELECTED_STYLE] * len(row)
        if row.name == failure_row:
            return [FAILED_STYLE] * len(row)
        return [""] * len(row)

    return frame.style.apply(colour, axis=1)


def diagram_texts(lang: str) -> tuple[dict[str, str], dict[str, str]]:
    """The U diagram's words: (short name per step kind, titles and templates), see ``u_diagram``."""
    kinds = {kind: pick(TEXT, f"kind_{kind}", lang) for kind in STEP_KINDS}
    texts = {name: pick(TEXT, "diagram" if name == "title" else f"diagram_{name}", lang) for name in DIAGRAM_TEXTS}
    return kinds, texts


def trace_shapes(
    source: Any, seed: Any, batch: Any, channels: Any, height: Any, width: Any, upload: Any, step: Any, lang: Any
) -> tuple:
    """Handler of the ``trace_shapes`` API: walk the chosen input (B, C, H, W) through BasicUNet.

    ``step`` (1..25) is the row to highlight; a failed walk highlights at most its failed row.

    Returns:
        (step table, U diagram, summary markdown, selected step's feature maps, stage feature maps
        (one row per stage), their caption, code).
    """
    lang = normalize_language(lang)
    # 1. validate every value before anything is allocated
    source = as_choice(source, "source", SOURCES)
    seed = as_seed(seed)
    batch, channels, height, width = as_input_shape(batch, channels, height, width)
    step = as_int(step, "step", 1, MAX_STEPS + 1) - 1
    if batch * height * width > MAX_PIXELS:
        raise ValueError(invalid("pixels", value=batch * height * width, limit=MAX_PIXELS))

    # 2. the input, the model, the walk
    x = walk_input(source, seed, batch, channels, height, width, upload, lang)
    trace = trace_basic_unet(walk_model(channels), x)
    last = trace.failure.index if trace.failure else len(trace.steps) - 1
    selected = min(step, last)

    # 3. diagram and summary
    labels = [step_label(s, lang) for s in trace.steps]
    kinds, texts = diagram_texts(lang)
    failure_label = step_label(trace.failure, lang) if trace.failure else ""
    diagram = u_diagram(trace, labels, kinds, texts, selected=selected, failure_label=failure_label)
    if trace.ok:
        summary = pick(TEXT, "ok", lang).format(
            shape=format_shape(tuple(x.shape)),
            n=len(trace.steps),
            out=format_shape(trace.output_shape),
            c=channels,
            params=trace.total_parameters,
        )
    else:
        summary = "❌ " + failure_text(trace.failure, lang) + pick(TEXT, "kept", lang).format(n=len(trace.steps))

    # 4. feature maps: the selected step, and each stage after its activation
    chosen = trace.steps[min(selected, len(trace.steps) - 1)]
    selected_maps = feature_strip(chosen.features, cell=64) if chosen.features is not None else None
    stages = [s for s in trace.steps if s.features is not None and (s.kind == "act" or s.index == 0)]
    stage_maps = feature_rows([s.features for s in stages], cell=40) if stages else None
    stage_caption = pick(TEXT, "stage_rows", lang).format(names=stage_names(stages, lang))
    code = walk_code(source, seed, batch, channels, height, width, trace)
    return step_table(trace, selected, lang), diagram, summary, selected_maps, stage_maps, stage_caption, code


def build_controls(loc: Localizer) -> tuple:
    """The walk's inputs: (source, seed, channels, upload, batch, height, width, step)."""
    with gr.Row():
        with gr.Column(scale=2):
            source = loc.widget(
                gr.Radio, TEXT, "source", choices={s: f"source_{s}" for s in SOURCES}, value="random",
                elem_id="inside-source",
            )  # fmt: skip
            with gr.Row():
                seed = loc.widget(seed_number, COMMON, "seed", min_width=100)
                channels = loc.widget(RADIO_1_OR_3, TEXT, "channels", value=1, elem_id="inside-channels")
            upload = loc.widget(
                Image, TEXT, "upload", type="filepath", image_mode=None, visible=False, height=180,
                sources=["upload", "clipboard"],
            )  # fmt: skip
        with gr.Column(scale=3):
            batch = loc.widget(
                slider, TEXT, "batch", minimum=1, maximum=MAX_BATCH, value=8, step=1, name="batch",
                elem_id="inside-batch",
            )  # fmt: skip
            with gr.Row():
                height = loc.widget(
                    slider, TEXT, "height", info="size_info", minimum=4, maximum=256, value=28, step=1,
                    name="height", elem_id="inside-height",
                )  # fmt: skip
                width = loc.widget(
                    slider, TEXT, "width", minimum=4, maximum=256, value=28, step=1, name="width",
                    elem_id="inside-width",
                )  # fmt: skip
            step = loc.widget(
                slider, TEXT, "step", info="step_info", minimum=1, maximum=MAX_STEPS, value=1, step=1, name="step",
                elem_id="inside-step",
            )  # fmt: skip
    return source, seed, channels, upload, batch, height, width, step


def build_outputs(loc: Localizer) -> tuple:
    """The walk's outputs, in the handler's output order; empty until ``trace_shapes`` draws them.

    Returns:
        (table, diagram, summary, selected_maps, stage_maps, stage_caption); the code panel is the tab's.
    """
    summary = markdown("", elem_id="inside-summary")
    diagram = gr.Plot(elem_id="inside-diagram", show_label=False)
    with gr.Row():
        with gr.Column(scale=3):
            selected_maps = loc.widget(
                gr.Image, TEXT, "selected_maps", elem_id="inside-maps",
                elem_classes="pixelated", height=120, format="png",
            )  # fmt: skip
            stage_caption = gr.Markdown("", elem_id="inside-stage-caption")
        with gr.Column(scale=2):
            stage_maps = loc.widget(
                gr.Image, TEXT, "stage_maps", elem_id="inside-stage-maps",
                elem_classes="pixelated", height=330, format="png",
            )  # fmt: skip
    table = loc.widget(
        gr.Dataframe, TEXT, "table", elem_id="inside-table", interactive=False, wrap=True,
        max_height=1000, column_widths=["3%", "4%", "15%", "5%", "24%", "12%", "12%", "7%", "18%"],
    )  # fmt: skip
    return table, diagram, summary, selected_maps, stage_maps, stage_caption


def show_upload(source: str) -> Any:
    """Show the upload box only when the source is "upload"."""
    return gr.update(visible=source == "upload")


def step_of_row(event: gr.SelectData) -> Any:
    """The step slider's value (1..24) for a clicked table row."""
    row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
    return gr.update(value=min(MAX_STEPS, int(row) + 1))
