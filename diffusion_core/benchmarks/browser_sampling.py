"""The Sampling tab's default run as a browser sees it, against the same run through ``gradio_client``.

``python -m diffusion_core bench --only browser_sampling`` starts ``python app.py`` in a subprocess,
opens it in the system's headless Chromium (``language.chromium``), goes to ⑤ Sampling and presses
section B's button with its defaults (DPM-Solver++, 20 steps on a CPU, 16 digits, seed 0). In the
page, every animation frame looks at the x_t panel (``#ddpm-xt img``) and the final grid
(``#ddpm-final img``): a picture counts as *drawn* in the first frame where its new ``src`` has
loaded (``img.complete`` with a width). The clock starts at the click, in the page. The first click
comes ``FIRST_CLICK_AFTER_S`` after the tab opened, on a server that has not sampled yet: its own row.

Beside it, the same call through ``gradio_client`` (``/ddpm_sample``): the first update that carries
an x_t picture, and the result. The client downloads the pictures of an update one after another
before it hands the update over, while the browser fetches them in parallel as they come.

Like the other suites, this module only drives the app; Playwright and gradio_client are imported lazily.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from diffusion_core.benchmarks import BenchTable
from diffusion_core.benchmarks.api import client_for
from diffusion_core.benchmarks.concurrency import app_process
from diffusion_core.benchmarks.language import VIEWPORT, chromium

TAB_NAME = "⑤ Sampling"
SEED_LABEL = "Random seed"
DEFAULT_RUN = ("dpm++", 20, 16, 0, "en")  # section B's defaults on a CPU: scheduler, steps, batch, seed, lang
RUN_TIMEOUT_MS = 300_000
FIRST_FRAME_TARGET_S = 0.5
GRID_TARGET_S = 3.0
FIRST_CLICK_AFTER_S = 8.0  # the first click comes this long after the tab opened (its opening prepares the run)

# Installed in the page: every animation frame, note when a new picture has been drawn in each panel.
WATCH_JS = """() => {
    const panels = {xt: '#ddpm-xt img', final: '#ddpm-final img'};
    window.__drawn = {xt: [], final: []};
    window.__seen = {};
    for (const [key, selector] of Object.entries(panels)) {
        const img = document.querySelector(selector);
        window.__seen[key] = img ? img.src : null;  // what was on show before the click
    }
    const poll = () => {
        for (const [key, selector] of Object.entries(panels)) {
            const img = document.querySelector(selector);
            if (img && img.src && img.src !== window.__seen[key] && img.complete && img.naturalWidth > 0) {
                window.__seen[key] = img.src;
                window.__drawn[key].push(performance.now() - window.__clicked);
            }
        }
        requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
}"""

CLICK_JS = """() => { window.__clicked = performance.now(); document.querySelector('#ddpm-run').click(); }"""


def browser_run(page: Any, seed: int) -> dict:
    """Set section B's seed, press its button once; ``{"first_ms", "last_ms", "frames"}`` measured from the click.

    Each run takes its own seed: the same seed makes the same pictures, which Gradio serves under the
    same (content-hashed) address, so a repeat would draw nothing new.

    ``first_ms``: the first x_t picture drawn; ``last_ms``: the final grid drawn (the run's last update);
    ``frames``: how many x_t pictures were drawn.
    """
    seed_box = page.locator("#sample-b").get_by_label(SEED_LABEL)
    seed_box.fill(str(seed))
    seed_box.press("Enter")
    page.wait_for_timeout(300)  # the new seed reaches the page's state before the click
    page.evaluate(WATCH_JS)
    page.evaluate(CLICK_JS)
    page.wait_for_function("() => window.__drawn.final.length > 0", timeout=RUN_TIMEOUT_MS, polling=100)
    page.wait_for_timeout(300)  # the last x_t picture comes in the same update as the final grid
    drawn = page.evaluate("window.__drawn")
    return {"first_ms": drawn["xt"][0] if drawn["xt"] else None, "last_ms": drawn["final"][0],
            "frames": len(drawn["xt"])}  # fmt: skip


def client_run(client: Any, seed: int) -> dict:
    """The same run through ``gradio_client``; ``{"first_ms", "last_ms", "updates"}`` from the submit."""
    scheduler, steps, batch, _, lang = DEFAULT_RUN
    start = time.perf_counter()
    job = client.submit(scheduler, steps, batch, seed, lang, api_name="/ddpm_sample")
    first = None
    updates = 0
    for output in job:
        updates += 1
        if first is None and output[0]:  # the x_t picture (a downloaded file path)
            first = (time.perf_counter() - start) * 1000
    job.result()
    return {"first_ms": first, "last_ms": (time.perf_counter() - start) * 1000, "updates": updates}


def _median_ms(values: list[float | None]) -> float | None:
    measured = [value for value in values if value is not None]
    return statistics.median(measured) if measured else None


def _cell(value_ms: float | None) -> str:
    return "not reached" if value_ms is None else f"{value_ms / 1000:.2f} s"


def _met(value_ms: float | None, target_s: float) -> str:
    return "-" if value_ms is None else ("yes" if value_ms / 1000 < target_s else "no")


def run(quick: bool = False) -> list[BenchTable]:
    """Time the default sampling run in Chromium and through gradio_client, ``repeats`` times each."""
    repeats = 2 if quick else 4
    with app_process() as app, chromium() as browser:
        context = browser.new_context(viewport=VIEWPORT, locale="en-US")
        try:
            page = context.new_page()
            page.goto(f"{app.url.rstrip('/')}/?lang=en")
            page.get_by_role("tab", name=TAB_NAME).click(timeout=120_000)
            page.locator("#ddpm-run").wait_for(timeout=60_000)
            page.wait_for_timeout(FIRST_CLICK_AFTER_S * 1000)  # a teacher opens the tab, then explains it
            browser_runs = []
            for seed in range(repeats + 1):  # the first run is a learner's first click on a fresh server
                browser_runs.append(browser_run(page, seed))
                page.wait_for_timeout(500)
        finally:
            context.close()
        client = client_for(app.url)
        client_runs = [client_run(client, seed) for seed in range(1, repeats + 1)]
    first_click, browser_runs = browser_runs[0], browser_runs[1:]
    rows = [[f"Chromium, the server's first run ({FIRST_CLICK_AFTER_S:g} s after the tab opened)",
             "first x_t frame drawn", _cell(first_click["first_ms"]), f"< {FIRST_FRAME_TARGET_S:g} s",
             _met(first_click["first_ms"], FIRST_FRAME_TARGET_S)]]  # fmt: skip
    for name, runs in (("Chromium (page, from the click)", browser_runs), ("gradio_client (from submit)", client_runs)):
        first = _median_ms([r["first_ms"] for r in runs])
        last = _median_ms([r["last_ms"] for r in runs])
        rows.append([name, "first x_t frame drawn", _cell(first), f"< {FIRST_FRAME_TARGET_S:g} s",
                     _met(first, FIRST_FRAME_TARGET_S)])  # fmt: skip
        rows.append([name, "last frame (final grid) drawn", _cell(last), f"< {GRID_TARGET_S:g} s",
                     _met(last, GRID_TARGET_S)])  # fmt: skip
    frames = statistics.median(r["frames"] for r in browser_runs)
    table = BenchTable(
        title="Sampling in the browser: section B's default run (DPM-Solver++ 20 steps, 16 digits, python app.py)",
        columns=["client", "measure", "median", "target", "met"],
        rows=rows,
        notes=[
            f"{repeats} runs each (seeds 1..{repeats}) after the server's first run in the page (seed 0, its own "
            f"row: opening the tab exports the model to ONNX Runtime and times its step); x_t frames drawn per run: "
            f"{frames:g}.",
            "The first frame includes the one-step estimate the run takes before its loop (ui.runs: estimate, admit).",
            "gradio_client fetches an update's pictures one after another before handing it over; the browser "
            "loads them in parallel, as they come.",
            f"Load average when the run ended: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        ],
    )
    return [table]
