"""Small pieces shared by the tab builders: the image-source picker and common texts."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import torch

from diffusion_core.data import mnist_batch
from diffusion_core.user_images import as_picture
from ui.components import Image, seed_number
from ui.errors import as_choice, as_seed
from ui.i18n import LANGUAGES, Text, normalize_language, pick
from ui.lazy_views import uses_no_deferred_module

SOURCES = ("mnist", "upload")

TEXT: Text = {
    "source": {"zh": "图像来源", "en": "Image source"},
    "source_mnist": {"zh": "MNIST 手写数字（8 张）", "en": "MNIST digits (8)"},
    "source_upload": {"zh": "上传自己的图片", "en": "Upload your own image"},
    "seed": {"zh": "随机种子", "en": "Random seed"},
    "seed_info": {
        "zh": "同一个种子总是得到同样的数字和噪声，方便复现",
        "en": "The same seed always gives the same digits and noise",
    },
    "new_batch": {"zh": "↻ 换一批", "en": "↻ New batch"},
    "upload": {"zh": "上传图片（PNG / JPEG，≤ 20 MB）", "en": "Upload an image (PNG / JPEG, ≤ 20 MB)"},
    "code": {"zh": "代码 / Code", "en": "Code / 代码"},
    "need_upload": {"zh": "请先上传一张图片", "en": "Please upload an image first"},
}


DOWNLOADS_ROOT = Path(tempfile.gettempdir()) / "diffusion-explorer-downloads"
DOWNLOAD_MAX_AGE_S = 15 * 60  # Gradio copies returned files into its own cache, so ours are only needed briefly


def download_folder(prefix: str) -> Path:
    """A fresh folder for one response's files (weights, GIFs, zips); folders older than 15 minutes go.

    Every download used to leave a ``/tmp/<prefix>*`` folder behind for good; on a long-running
    Space they piled up.
    """
    DOWNLOADS_ROOT.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - DOWNLOAD_MAX_AGE_S
    for old in DOWNLOADS_ROOT.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # another request removed it first
            continue
    return Path(tempfile.mkdtemp(prefix=prefix, dir=DOWNLOADS_ROOT))


LATEX = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]


def markdown(value: str, **kwargs: Any) -> gr.Markdown:
    """A Markdown block that renders inline ``$...$`` and display ``$$...$$`` LaTeX."""
    return gr.Markdown(value, latex_delimiters=LATEX, **kwargs)


def source_controls(ctx: Any) -> tuple[gr.Radio, gr.Number, gr.Button, gr.Image]:
    """The shared 'MNIST or upload' picker: (source radio, seed box, new-batch button, upload)."""
    source = gr.Radio(
        [(pick(TEXT, "source_mnist", "zh"), "mnist"), (pick(TEXT, "source_upload", "zh"), "upload")],
        value="mnist",
        label=pick(TEXT, "source", "zh"),
    )
    ctx.loc.choices(source, TEXT, {"mnist": "source_mnist", "upload": "source_upload"}, label_key="source")
    with gr.Row():
        seed = seed_number(pick(TEXT, "seed", "zh"), info=pick(TEXT, "seed_info", "zh"))
        ctx.loc.label(seed, TEXT, "seed", "seed_info")
        new_batch = gr.Button(pick(TEXT, "new_batch", "zh"), size="sm", scale=0, min_width=120)
        ctx.loc.value(new_batch, TEXT, "new_batch")
    upload = Image(
        type="filepath",
        image_mode=None,
        label=pick(TEXT, "upload", "zh"),
        visible=False,
        height=200,
        sources=["upload", "clipboard"],
    )
    ctx.loc.label(upload, TEXT, "upload")
    source.change(lambda s: gr.update(visible=s == "upload"), source, upload, api_visibility="private", queue=False)
    new_batch.click(
        lambda value: int(torch.randint(0, 2**31 - 1, (1,)).item()) if value is not None else 0,
        seed,
        seed,
        api_visibility="private",
        queue=False,
    )
    return source, seed, new_batch, upload


@uses_no_deferred_module
def wait_for_upload(source: Any, upload: Any) -> None:
    """Page-side guard before a forward view: while "upload" is chosen and no image is there yet, stop quietly.

    Choosing "upload" (or clearing the picture) is a step towards uploading, not an error: the upload box
    that appears is the hint. A hidden ``gr.Error`` ends the event chain without a toast, so the view keeps
    its last pictures; the API endpoint after it still answers a call without an image with a clear error.
    """
    if source == "upload" and not upload:
        raise gr.Error(pick(TEXT, "need_upload", "en"), visible=False, print_exception=False)


def after_upload(triggers: list, source: gr.Radio, upload: gr.Image) -> Any:
    """``gr.on`` over ``triggers`` that runs ``wait_for_upload``; chain the real handler with ``.success``."""
    return gr.on(
        triggers=triggers,
        fn=wait_for_upload,
        inputs=[source, upload],
        outputs=None,
        api_visibility="private",
        concurrency_limit=None,  # queued (a refused unqueued call is an HTTP 500 in the browser), never waits
        trigger_mode="always_last",
        show_progress="hidden",
    )


def load_images(source: Any, seed: Any, upload: Any, lang: str, color: bool = True) -> tuple[torch.Tensor, bool]:
    """Images for a forward-process view, in [0, 1].

    Returns:
        ``(x, is_mnist)``: 8 MNIST digits (8, 1, 28, 28), or the uploaded picture (1, C, H, W).
    """
    source = as_choice(source, "source", SOURCES)
    seed = as_seed(seed)
    if source == "mnist":
        return mnist_batch(8, seed)[0], True
    if not upload:
        raise ValueError(pick(TEXT, "need_upload", lang))
    return as_picture(upload, color=color), False


def views_in_languages(render: Callable[[str], Sequence[Any]], worded_in: str) -> dict[str, Any]:
    """``render(lang)`` in every language of the page: a run's language-dependent outputs (texts, tables,
    figures), kept in a ``gr.State`` so that a language switch re-words them without running again
    (``in_language``). ``worded_in``: the language the run shows them in, kept under that key (``after_run``)."""
    return {**{language: list(render(language)) for language in LANGUAGES}, "worded_in": worded_in}


def in_language(count: int, after_run: bool = False) -> Callable[[Any, Any], tuple]:
    """The handler that shows a result kept by ``views_in_languages`` in the page's language: its ``count`` outputs
    in ``lang``; before the first run (no views yet) it leaves them as they are.

    For a language switch; with ``after_run``, for the end of the run (``.then``): a switch during the run found
    the previous result, and the run words its own in the language it started in. Then only a result worded in
    another language than the page's is sent again (a figure sent again is drawn again)."""

    @uses_no_deferred_module  # a language switch re-words it at once, during the first import
    def last_result_in_language(views: Any, lang: Any) -> tuple:
        lang = normalize_language(lang)
        kept = views.get(lang) if isinstance(views, dict) else None
        if not isinstance(kept, list) or len(kept) != count or (after_run and views.get("worded_in") == lang):
            return tuple(gr.skip() for _ in range(count))
        return tuple(kept)

    return last_result_in_language
