"""diffusers and torchvision are imported when first used, not when the app starts.

Importing them costs several seconds of a cold start on 2 cores (BENCHMARKS.md, "startup"): diffusers
imports ``torch._dynamo`` (with sympy) and, for ``UNet2DModel``, scipy; torchvision imports
``torch._dynamo`` too. So no module that ``app.py`` imports imports them at module level: a
function imports what it uses (``from diffusers import DDPMScheduler`` in its body), and type hints
import under ``typing.TYPE_CHECKING``. The command-line tools (``*_cli.py``, ``benchmarks/``) may
import them at the top: every one of their commands uses them. ``tests/test_lazy_imports.py``
checks that building the app imports none of ``DEFERRED``.

Once the page is served, ``app.py`` calls ``warm_up_in_background``: a thread imports them, so the
first visitor's first action finds them imported instead of paying for the import.

Two threads must not import them for the first time at once: their import graphs share modules (torch._dynamo)
and import each other in different orders, and Python's import deadlock avoidance then hands one thread a
partly initialised module ("cannot import name 'DDPMScheduler' from 'diffusers'", seen when a page's first
events arrived together). ``ensure_imported`` imports them once, in one thread at a time; the app runs it
before every event until it has finished (``ui.lazy_views.import_before_events``).
"""

from __future__ import annotations

import importlib
import logging
import threading
import time

logger = logging.getLogger(__name__)

DEFERRED = ("diffusers", "torchvision", "torch._dynamo")  # modules that building the app must not import
# what the app uses from diffusers: getting each name imports its submodules (diffusers' own lazy module)
DIFFUSERS_NAMES = (
    "DDPMScheduler",
    "DDIMScheduler",
    "DPMSolverMultistepScheduler",
    "EulerDiscreteScheduler",
    "UNet2DModel",
    "DDPMPipeline",
)


def import_deferred() -> float:
    """Import torchvision's ``make_grid`` and the diffusers classes the app uses; return the seconds it took.

    Safe to call again (then it takes microseconds) and from any thread.
    """
    start = time.perf_counter()
    importlib.import_module("torchvision.utils")  # make_grid: every picture of the app
    diffusers = importlib.import_module("diffusers")
    for name in DIFFUSERS_NAMES:
        getattr(diffusers, name)
    importlib.import_module("diffusers.training_utils")  # EMAModel, for training
    return time.perf_counter() - start


_IMPORT_LOCK = threading.Lock()
_imported = False


def imported() -> bool:
    """Whether ``ensure_imported`` has finished (then every later call returns at once)."""
    return _imported


def ensure_imported() -> float:
    """``import_deferred`` once, one thread at a time: a caller waits while another thread imports.

    Returns the seconds this call spent importing (0.0 once done)."""
    global _imported
    if _imported:
        return 0.0
    with _IMPORT_LOCK:
        if _imported:
            return 0.0
        seconds = import_deferred()
        _imported = True
        return seconds


def _warm_up() -> None:
    try:
        logger.info("imported diffusers and torchvision in the background in %.1f s", ensure_imported())
    except Exception:  # a failed warm-up costs only speed: the first use imports (and reports) it again
        logger.exception("could not import diffusers and torchvision in the background")


def warm_up_in_background() -> threading.Thread:
    """Start ``ensure_imported`` in a daemon thread; return the thread."""
    thread = threading.Thread(target=_warm_up, name="import-deferred", daemon=True)
    thread.start()
    return thread
