"""Diffusion Explorer (扩散模型可视化探索): the Gradio app.

Run ``python app.py`` and open http://127.0.0.1:7860. Tabs follow the tutorial in order; each
lives in its own module under ``ui/``. This file only composes them, wires the language switch
and launches the server. Environment variables: ``GRADIO_SERVER_NAME``, ``GRADIO_SERVER_PORT``,
``DIFFUSION_EXPLORER_SHOW_ERROR=1`` (show Python errors in the page; off by default),
``DIFFUSION_EXPLORER_SESSION_TTL`` (seconds a learner's trained model is kept after training; 7200),
``DIFFUSION_EXPLORER_MAX_RUN_SECONDS`` (the wall-clock cap of one training or sampling run; 600),
``DIFFUSION_EXPLORER_MAX_SESSIONS`` (sessions kept in memory, least recently used dropped first; 64),
``DIFFUSION_EXPLORER_WARM_UP=0`` (do not import diffusers and torchvision in the background once the page is
served: the first action that needs them imports them; see ``diffusion_core.lazy_imports``),
``DIFFUSION_EXPLORER_CPU_RUNTIME=torch`` (sample the bundled model with PyTorch
on the CPU instead of ONNX Runtime; see ``diffusion_core.onnx_unet``).
"""

from __future__ import annotations

import contextlib
import logging
import os

# Before torch loads: OpenMP's default spin-waiting makes small forwards several times slower on a
# busy 2-core machine (measured in BENCHMARKS.md); passive waiting costs nothing when the CPU is free.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Gradio rebuilds a pandas summary of up to 10,000 past events after every event, for a monitoring page
# this app does not enable; on a busy classroom server that cost grows with use (profiled in BENCHMARKS.md).
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000000")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")

# On a ZeroGPU Space `spaces` must be imported before anything initialises CUDA: it patches torch.
if os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true"):
    with contextlib.suppress(ImportError):
        import spaces  # noqa: F401

from ui.gradio_import import skip_component_stub_writing

skip_component_stub_writing()  # before gradio's first import: see ui/gradio_import.py

import gradio as gr
from starlette.middleware import Middleware

from ui.gradio_cache import write_cache_files_atomically

write_cache_files_atomically()  # a picture being downloaded is never rewritten under it: see ui/gradio_cache.py

from diffusion_core.lazy_imports import warm_up_in_background
from ui import (
    classroom_tab,
    compare_tab,
    corruption_tab,
    inside_tab,
    lazy_views,
    noising_tab,
    runs,
    sampling_tab,
    training_tab,
)
from ui.context import SESSION_TTL_SECONDS, AppContext, release_session_models
from ui.errors import name_refused_files
from ui.i18n import (
    DEFAULT_LANGUAGE,
    I18N,
    LANGUAGE_CHOICES,
    LANGUAGE_CSS,
    LANGUAGE_JS,
    LOAD_JS,
    SWITCH_JS,
    EarlyLanguageScript,
    Localizer,
    translated,
)
from ui.lazy_views import TabOpenings
from ui.session_memory import keep_trained_sessions, max_sessions

# in the tutorial's order; then the classroom mode, the same lesson guided for a projector (``?lesson=N``)
TABS = [corruption_tab, noising_tab, inside_tab, training_tab, sampling_tab, compare_tab, classroom_tab]

MAX_FILE_SIZE = "20mb"
QUEUE_MAX_SIZE = 64

TEXT = {
    "title": {
        "zh": "# 扩散模型可视化探索 · Diffusion Explorer\n"
        "跟着教程一步步动手：给图片加噪、看清 UNet 的每一层、训练模型，再从纯噪声里生成数字。",
        "en": "# Diffusion Explorer · 扩散模型可视化探索\n"
        "Follow the tutorial hands-on: corrupt images, look inside the UNet, train the models, "
        "and generate digits from pure noise.",
    },
    "language": {"zh": "语言 / Language", "en": "Language / 语言"},
}

CSS = """
/* small images are sent at 1-4x and enlarged here with crisp pixels: cheap to encode and to send */
.pixelated img { image-rendering: pixelated; width: 100%; height: 100%; object-fit: contain; }
.lesson { font-size: 1.02rem; line-height: 1.6; }
.formula { font-size: 1.1rem; }
/* a picture's label sits in a band above it instead of covering its first images: the band is padding
   added to the block's height (content-box), and the floating label lies in it */
.pixelated:has(> label[data-testid="block-label"]) { box-sizing: content-box !important; padding-top: 2.3rem !important; }
.pixelated > label[data-testid="block-label"] { top: 0; left: 0; }
/* an output with nothing in it yet is its label on one line, not a large grey placeholder */
.block:has(> .empty.unpadded_box) { height: auto !important; min-height: 0 !important; }
.block > .empty.unpadded_box { display: none !important; }
.block:has(> .empty.unpadded_box):has(> label.sr-only) { display: none !important; }
/* hints under the labels: dark enough to read from the back of a room */
.info-text { color: var(--body-text-color) !important; opacity: 0.9; font-size: 0.92rem !important; }
"""


def build_app() -> gr.Blocks:
    """Build the Blocks app (not launched)."""
    loc = Localizer()
    # Gradio's cache (uploads, streamed frames, downloads): every 30 minutes drop files older than a session's
    # TTL, and never younger than an hour; the components' default values stay (Gradio keeps them)
    cache_age = max(3600, int(SESSION_TTL_SECONDS))
    with gr.Blocks(title="扩散模型可视化探索 · Diffusion Explorer", delete_cache=(1800, cache_age)) as demo:
        with gr.Row(equal_height=True):
            loc.text(gr.Markdown, TEXT, "title", elem_id="header")
            lang = gr.Radio(
                LANGUAGE_CHOICES,
                value=DEFAULT_LANGUAGE,
                label=translated(TEXT, "language"),
                elem_id="language",
                scale=0,
                min_width=200,
            )
        # the page's language lives in the browser (ui.i18n): labels and lesson texts switch there at once. This
        # listener comes first: the page runs a change's listeners in order, and the others call the server
        lang.change(None, lang, None, js=SWITCH_JS, api_visibility="private", queue=False)
        # a run streaming now words its next lines in the new language (its earlier ones: each tab's listeners)
        lang.change(runs.follow_language, lang, None, api_visibility="private", queue=False)
        session_models = gr.State({}, time_to_live=SESSION_TTL_SECONDS, delete_callback=release_session_models)
        keep_trained_sessions(session_models._id)  # beyond the session bound, learners' models are kept
        openings = TabOpenings()
        context = AppContext(lang=lang, loc=loc, session_models=session_models, page_load=demo.load, openings=openings)
        with gr.Tabs() as tabs:
            for tab in TABS:
                tab.build(context)
        for wire in context.late_wiring:  # slow redraws on a language switch: after every quick one
            wire()
        openings.wire(tabs, lang)  # after every other language listener: its own are queued
        if loc.components:  # computed content registered with loc.add: re-worded on the server
            lang.change(loc.apply, lang, loc.components, api_visibility="private", queue=False)
        demo.load(None, None, lang, js=LOAD_JS, api_visibility="private", queue=False)
    return demo


def configure(demo: gr.Blocks) -> gr.Blocks:
    """Apply the queue limits (heavy events also share per-kind concurrency ids, see ``ui``), name
    refused file payloads (``ui.errors.name_refused_files``) and let one thread import diffusers while the
    first events wait (``ui.lazy_views.import_before_events``)."""
    demo = lazy_views.import_before_events(name_refused_files(demo))
    return demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=4)


def launch_kwargs() -> dict:
    """Keyword arguments for ``demo.launch``: safe defaults for a public Space."""
    return {
        "max_file_size": MAX_FILE_SIZE,
        "show_error": os.environ.get("DIFFUSION_EXPLORER_SHOW_ERROR", "") == "1",
        "css": CSS + LANGUAGE_CSS + classroom_tab.CSS,
        "js": LANGUAGE_JS,
        "head": classroom_tab.HEAD,  # keyboard navigation and the ?lesson=N deep link of the classroom mode
        "i18n": I18N,
        "app_kwargs": {"middleware": [Middleware(EarlyLanguageScript)]},
        "theme": gr.themes.Soft(),
        "footer_links": ["api", "gradio"],
        "state_session_capacity": max_sessions(),  # bounded memory: see ui/session_memory.py
    }


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    demo = configure(build_app())
    demo.launch(**launch_kwargs(), prevent_thread_lock=True)
    # the page is served: now import what the first actions need, so they do not wait for it
    if os.environ.get("DIFFUSION_EXPLORER_WARM_UP", "1") != "0":
        warm_up_in_background()
    demo.block_thread()


if __name__ == "__main__":
    main()
