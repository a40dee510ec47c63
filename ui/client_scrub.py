"""Scrubbing in the browser: a slider redraws its view in the page, with no server event per move.

The server sends one *frames payload* (a compact JSON string) when the view's data change (images, seed,
noise kind, schedule); from then on every move of the slider is computed and drawn by the page
(``client_scrub.js``, the ``js_on_load`` of a ``gr.HTML``), the frame computed in float as the core does:

* ``mix_payload``: the Corruption tab's ``(1 - a) * x + a * noise``, for any amount ``a`` in [0, 1];
* ``ddpm_payload``: DDPM's ``sqrt(alpha_bar_t) * x0 + sqrt(1 - alpha_bar_t) * noise``, for any t in 0..T-1,
  with the ``alpha_bar`` table of the scheduler itself and a chart of the noise levels with a cursor at t;
* ``frames_payload``: a finished run's kept frames (PNG data URLs) and a text per frame, for a step scrubber.

Use: ``view = scrub_view("my-view", label)`` somewhere in the layout, an event that returns the payload
into ``view``, and ``follow(slider, view)`` (page-side events only: no request reaches the server).
The payload's texts hold both languages; the page shows the one in ``<html data-dx-lang>`` and follows a
switch. Arrays travel as base64 of little-endian float32 (``"f32"``) or of bytes (``"u8"``, for images
that are exactly k/255): 8 MNIST digits and their noise are about 70 kB of JSON.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
import numpy as np
import torch
from PIL import Image

from ui.i18n import LANGUAGES, Text

JS = (Path(__file__).with_name("client_scrub.js")).read_text(encoding="utf-8")
CSS = (Path(__file__).with_name("client_scrub.css")).read_text(encoding="utf-8")
HTML_TEMPLATE = '<div class="dx-scrub-host"></div>'
CHART_POINTS = 200  # points per faint context curve of the noise-level chart


def encode(values: torch.Tensor | np.ndarray) -> tuple[str, str]:
    """An array as (base64 text, dtype): bytes ``"u8"`` when every value is exactly k/255 in [0, 1], else
    little-endian float32 ``"f32"``. The page decodes either into a flat array in C order."""
    array = np.ascontiguousarray(values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else values)
    array = array.astype(np.float32, copy=False)
    scaled = array * 255.0
    if array.size and array.min() >= 0 and array.max() <= 1 and np.array_equal(scaled, np.round(scaled)):
        return base64.b64encode(np.round(scaled).astype(np.uint8).tobytes()).decode("ascii"), "u8"
    return base64.b64encode(array.astype("<f4").tobytes()).decode("ascii"), "f32"


def decode(text: str, dtype: str) -> np.ndarray:
    """The inverse of ``encode`` for tests and API scripts: a flat float32 array (bytes become k/255)."""
    raw = base64.b64decode(text)
    if dtype == "u8":
        return np.frombuffer(raw, dtype=np.uint8).astype(np.float32) / 255.0
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def both(text: Text, key: str) -> dict[str, str]:
    """One entry of a tab's TEXT in every language, for the page to pick from."""
    return {lang: text[key][lang] for lang in LANGUAGES}


def _payload(kind: str, arrays: dict[str, Any], **fields: Any) -> str:
    encoded = {name: encode(values) for name, values in arrays.items()}
    body = {
        "kind": kind,
        "arrays": {name: text for name, (text, _) in encoded.items()},
        "dtypes": {name: dtype for name, (_, dtype) in encoded.items()},
        **fields,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def mix_payload(
    x: torch.Tensor, noise: torch.Tensor, amount: float, formula: dict[str, str], labels: dict[str, dict[str, str]]
) -> str:
    """The Corruption view: ``frame(a) = (1 - a) * x + a * noise`` in [0, 1].

    Args:
        x (`torch.Tensor`, (B, C, H, W) or (1, C, H, W), in [0, 1]): the clean images (one is repeated).
        noise (`torch.Tensor`, (B, C, H, W), in [0, 1)): the noise; image 0 is the single view, all B the row.
        amount: the slider's value now, in [0, 1].
        formula: per language, an HTML template with ``{a:.2f}``-style fields a, keep, keep_pct, a_pct, low, high.
        labels: per language, the captions ``single`` and ``row``.
    """
    return _payload(
        "mix", {"x": x, "noise": noise}, shape=list(noise.shape), range=[0.0, 1.0], value=float(amount),
        noise_images=int(noise.shape[0]), formula=formula, single_label=labels["single"], row_label=labels["row"],
    )  # fmt: skip


def ddpm_payload(
    x: torch.Tensor,
    noise: torch.Tensor,
    alpha_bar: torch.Tensor,
    t: int,
    formula: dict[str, str],
    labels: dict[str, dict[str, str]],
    chart: dict[str, Any],
) -> str:
    """The DDPM noising view: ``frame(t) = sqrt(alpha_bar[t]) * (2x - 1) + sqrt(1 - alpha_bar[t]) * noise``,
    shown from -1 (black) to 1 (white), clipped.

    Args:
        x (`torch.Tensor`, (B or 1, C, H, W), in [0, 1]): the clean images, mapped to [-1, 1] in the page.
        noise (`torch.Tensor`, (B, C, H, W)): ``randn`` or ``rand`` noise.
        alpha_bar (`torch.Tensor`, (T,)): the scheduler's ``alphas_cumprod`` (float32, as ``add_noise`` uses it).
        t: the slider's value now, in 0..T-1.
        formula: per language, an HTML template with fields t, ab, s, n, var, snr, mean, std.
        labels: per language, the captions ``single`` and ``row``.
        chart: ``{"schedule": name, "labels": {lang: {title, x, signal, noise}}, "others": [{"signal": [...],
            "noise": [...]}]}``: the chosen schedule is drawn from ``alpha_bar``, the others faint.
    """
    return _payload(
        "ddpm", {"x": x, "noise": noise, "alpha_bar": alpha_bar.to(torch.float32)}, shape=list(noise.shape),
        range=[-1.0, 1.0], x_scale=2.0, x_shift=-1.0, value=int(t), noise_images=int(noise.shape[0]),
        formula=formula, single_label=labels["single"], row_label=labels["row"], chart=chart,
    )  # fmt: skip


def png_data_url(image: Image.Image) -> str:
    """A PIL image as a ``data:image/png`` URL (small frames of a run travel inside the payload)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def frames_payload(frames: list[dict[str, Any]]) -> str:
    """A finished run's kept steps for a step scrubber: ``frames[k] = {"images": [data URL, ...], "text":
    {lang: markdown}}`` (``text`` optional); the slider's value v (1-based) shows ``frames[v - 1]``."""
    return json.dumps({"kind": "frames", "frames": frames}, separators=(",", ":"), ensure_ascii=False)


def frames_store(elem_id: str) -> gr.HTML:
    """An invisible view that holds a run's frames in the page (``frames_payload``), for ``follow_frames``."""
    return scrub_view(elem_id, None, visible="hidden")


def follow_frames(slider: gr.Slider, elem_id: str, outputs: list[gr.Component]) -> None:
    """Show step v of the frames in ``elem_id`` when the learner moves ``slider``: a js-only ``.input`` whose
    result, the step's images (data URLs) and caption, goes straight into ``outputs`` (gr.Image ..., then a
    gr.Markdown when the frames have texts). No request reaches the server."""
    js = f"(value) => window.dxScrub.frame({json.dumps(elem_id)}, value, {len(outputs)})"
    slider.input(None, inputs=slider, outputs=outputs, js=js, queue=False, api_visibility="private")


def play_js(elem_id: str, slider_id: str, frame_ms: int) -> str:
    """The js of a Play button: steps slider ``slider_id`` through the frames of ``elem_id`` in the page."""
    return f"() => {{ window.dxScrub.play({json.dumps(elem_id)}, {json.dumps(slider_id)}, {int(frame_ms)}); }}"


def scrub_view(elem_id: str, value: str | None = None, **kwargs: Any) -> gr.HTML:
    """The page's drawing of a scrub view: a ``gr.HTML`` whose value is a frames payload.

    ``elem_id`` names the view for ``follow`` (one page may hold several views). The view draws the single
    image (enlarged, crisp), the batch row, the formula with its numbers and, for DDPM, the noise-level
    chart with its cursor; after each drawing its ``.dx-scrub`` box carries ``data-value`` and ``data-drawn``
    (a counter), and ``window.dxScrub.drawnAt[elem_id]`` the time (``performance.now()``) it was drawn.
    When the learner lets go of the slider (pointer up, or the focus leaves it after arrow keys) the view
    fires its ``settle`` event (``settled(view)``), for what only the server draws (a histogram, the code).
    """
    return gr.HTML(
        value, html_template=HTML_TEMPLATE, css_template=CSS, js_on_load=JS, elem_id=elem_id, view_id=elem_id,
        start=None, **kwargs,
    )  # fmt: skip


def settled(view: gr.HTML) -> Any:
    """The view's ``settle`` event as a trigger for ``gr.on`` (a ``gr.HTML`` custom event is a plain method
    there, which ``gr.on`` does not take): fired when the learner lets go of the slider."""
    return SimpleNamespace(
        __self__=view, has_trigger=True, event_name="settle", callback=None, connection="sse", event_specific_args=[]
    )


def follow_js(elem_id: str) -> str:
    """The js of a slider's js-only event that redraws view ``elem_id`` at the slider's value."""
    return f"(value) => {{ window.dxScrub && window.dxScrub.set({json.dumps(elem_id)}, value); return []; }}"


def follow(slider: gr.Slider, view: gr.HTML) -> None:
    """Redraw ``view`` whenever ``slider`` changes, in the page only: the slider's own DOM ``input`` event
    (the shortest path, for a learner's moves) and a js-only ``.change`` (``fn=None``: no request; for
    values set by other events, e.g. T clamping t)."""
    if slider.elem_id:
        view.props["slider_id"] = slider.elem_id
    js = follow_js(view.elem_id)
    slider.change(None, inputs=slider, outputs=None, js=js, queue=False, api_visibility="private")
