"""Scrubbing the forward-process sliders, measured in a real Chromium: before and after issue 15.

* after: ``python app.py``; the Corruption amount and the DDPM t are computed and drawn in the page
  (``ui/client_scrub.js``). Latency: from the ``keydown`` of an arrow key on the slider to the end of the
  view's drawing (``window.dxScrub.drawnAt``: the canvases hold the new frame; the screen shows it at
  the next frame). Target: p95 <= 16 ms, one frame at 60 Hz.
* before: ``python -m ui.server_scrub_app``, the same handlers wired the old way (every ``change`` a
  server event that returns the images, charts and formula). Latency: from the ``keydown`` to the
  ``load`` of the new single image in the page.
* server events: the requests to ``/gradio_api/`` the page makes during the moves, per 50 moves.
  Target: 0 after.

Both pages run in the same Chromium, one after the other, on the same machine. Like the other
browser suites this module only drives servers over HTTP; Playwright is imported lazily.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

from diffusion_core.benchmarks import BenchTable, percentile
from diffusion_core.benchmarks.api import ROOT, app_server, free_port, stop_process, wait_until_serving
from diffusion_core.benchmarks.language import VIEWPORT, chromium

SLIDERS = {  # slider -> (tab name in the app, the view the page draws, the image the old page loads)
    "amount": ("corrupt-amount", "① Corruption", "corrupt-view", "corrupt-single"),
    "t": ("ddpm-t", "② DDPM noising", "ddpm-view", "ddpm-single"),
}

QUIET_S = 3.0  # before the moves: this long without a request to the server
QUIET_LIMIT_S = 90.0  # ... waited for at most this long

# Arrow keys' times, and the loads of the old page's images, recorded in the page.
RECORD_JS = """() => {
    window.dxBench = {keys: [], loads: {}};
    document.addEventListener('keydown', () => window.dxBench.keys.push(performance.now()), true);
    document.addEventListener('load', (event) => {
        const holder = event.target.closest && event.target.closest('[id]');
        if (event.target.tagName === 'IMG' && holder) {
            (window.dxBench.loads[holder.id] = window.dxBench.loads[holder.id] || []).push(performance.now());
        }
    }, true);
}"""
DRAWN_JS = "(id) => Number((document.querySelector(`#${id} .dx-scrub`) || {dataset: {}}).dataset.drawn || 0)"
LOADS_JS = "(id) => (window.dxBench.loads[id] || []).length"


def _moves(page, slider_id: str, moves: int, count, latency) -> tuple[list[float], int]:
    """Press → ``moves`` times on a slider, each after the last one was drawn.

    Args:
        count: ``() -> int``, how many times the target was drawn so far.
        latency: ``() -> float``, ms from the last key to the last drawing.

    Returns:
        (latencies in ms, requests to the server during the moves).
    """
    requests: list[float] = []
    listener = lambda request: requests.append(time.monotonic()) if "/gradio_api/" in request.url else None  # noqa: E731
    page.on("request", listener)
    # 1. let the page's own start-up events end (an English page re-words its first results on the server)
    start = time.monotonic()
    while time.monotonic() - start < QUIET_LIMIT_S and time.monotonic() - max(requests, default=start) < QUIET_S:
        page.wait_for_timeout(250)
    requests.clear()
    # 2. the moves, counting the requests they cause
    slider = page.locator(f"#{slider_id} input[type=range]").first
    slider.focus()
    latencies = []
    for _ in range(moves):
        before = count()
        slider.press("ArrowRight")
        page.wait_for_function(f"(n) => ({count.js})() > n", arg=before, timeout=60_000)
        latencies.append(latency())
    page.remove_listener("request", listener)
    return latencies, len(requests)


class _Probe:
    """A page-side counter (``js``, a JS function of no arguments) and the latency of its last event."""

    def __init__(self, page, js: str, latency_js: str):
        self.page, self.js, self.latency_js = page, js, latency_js

    def __call__(self) -> int:
        return self.page.evaluate(self.js)

    def last_latency(self) -> float:
        return self.page.evaluate(self.latency_js)


def _measure_after(browser, url: str, moves: int) -> dict[str, tuple[list[float], int]]:
    results = {}
    for name, (slider_id, tab, view, _) in SLIDERS.items():
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{url}?lang=en")
        page.get_by_role("tab", name=tab).click()
        page.wait_for_function(f"() => ({DRAWN_JS})('{view}') > 0", timeout=60_000)
        page.evaluate(RECORD_JS)
        probe = _Probe(
            page,
            f"() => ({DRAWN_JS})('{view}')",
            f"() => window.dxScrub.drawnAt['{view}'] - window.dxBench.keys[window.dxBench.keys.length - 1]",
        )
        results[name] = _moves(page, slider_id, moves, probe, probe.last_latency)
        page.close()
    return results


def _measure_before(browser, url: str, moves: int) -> dict[str, tuple[list[float], int]]:
    results = {}
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(url)
    page.wait_for_selector("#ddpm-single img", timeout=60_000)
    page.evaluate(RECORD_JS)
    for name, (slider_id, _, _, image) in SLIDERS.items():
        probe = _Probe(
            page,
            f"() => ({LOADS_JS})('{image}')",
            f"() => window.dxBench.loads['{image}'].at(-1) - window.dxBench.keys[window.dxBench.keys.length - 1]",
        )
        results[name] = _moves(page, slider_id, moves, probe, probe.last_latency)
    page.close()
    return results


@contextlib.contextmanager
def baseline_server(start_limit_s: float = 400.0) -> Iterator[str]:
    """``python -m ui.server_scrub_app PORT`` (the old wiring); yields its URL. It may take minutes to start on a
    busy 2-core machine, so it gets a longer start limit than ``api.serve``'s."""
    port = free_port()
    environment = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "-m", "ui.server_scrub_app", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until_serving(url, process, timeout=start_limit_s)
        yield url
    finally:
        stop_process(process)


def run(quick: bool = False) -> list[BenchTable]:
    """Slider input to the new image drawn, p50 and p95, and server events per 50 moves, before and after."""
    moves = 20 if quick else 50
    with chromium() as browser:
        with baseline_server() as url:
            before = _measure_before(browser, url, moves)
        with app_server() as (url, _):
            after = _measure_after(browser, url, moves)
    table = BenchTable(
        title="Scrubbing a forward-process slider in Chromium: arrow key to the new image drawn",
        columns=["slider", "way", "p50", "p95", "server events per 50 moves", "p95 speed-up"],
    )
    for name in SLIDERS:
        base_times, base_requests = before[name]
        new_times, new_requests = after[name]
        for way, times, requests in (("before: a server event per move", base_times, base_requests),
                                     ("after: computed in the page", new_times, new_requests)):  # fmt: skip
            speedup = percentile(base_times, 95) / max(percentile(times, 95), 1e-3)
            table.rows.append([
                name, way, f"{percentile(times, 50):.1f} ms", f"{percentile(times, 95):.1f} ms",
                f"{requests * 50 / moves:.0f}", "1×" if times is base_times else f"{speedup:.0f}×",
            ])  # fmt: skip
    load = os.getloadavg()
    table.notes += [
        f"{moves} presses of → per slider, each after the last one was drawn; Chromium headless, software "
        f"rendering; load average during the run {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min).",
        "before: `python -m ui.server_scrub_app`, the old wiring (each `change` calls `/corrupt` or `/ddpm_noise`, "
        "the same handlers); time from the keydown to the `load` of the new single image.",
        "after: `python app.py`; time from the keydown to the end of the page's drawing (canvas, formula, chart "
        "cursor); the screen shows it at the next frame. Target p95 <= 16 ms, and 0 server events while moving "
        "(letting go of the slider then asks the server once for the histogram and the code).",
    ]
    for name in SLIDERS:
        p95 = percentile(after[name][0], 95)
        table.notes.append(f"{name}: p95 {p95:.1f} ms after, target 16 ms: {'met' if p95 <= 16 else 'NOT met'}.")
    return [table]
