"""Shared fixtures: a real Gradio server of the app, a gradio_client on it, and a real Chromium.

The server is the real app (``app.build_app``) launched on a free local port with
``prevent_thread_lock=True``; nothing of the core is mocked.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from diffusion_core.benchmarks.language import CHROMIUM, chromium

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """Launch the real app once per test session and yield its URL."""
    import app

    demo = app.configure(app.build_app())
    kwargs = app.launch_kwargs()
    demo.launch(
        server_name="127.0.0.1",
        server_port=free_port(),
        prevent_thread_lock=True,
        quiet=True,
        **kwargs,
    )
    try:
        yield demo.local_url.rstrip("/")
    finally:
        demo.close()


@pytest.fixture(scope="session")
def client(app_url: str):
    """A ``gradio_client.Client`` connected to the running app."""
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.fixture(scope="session")
def raw_call(app_url: str):
    """Call an API name with a raw JSON body, for values gradio_client cannot send (NaN, inf).

    Usage: ``event, payload = raw_call("corrupt", '["mnist", 0, NaN, null, "zh"]')``; ``event`` is
    ``"complete"`` or ``"error"`` and ``payload`` the decoded data (the error's dict for errors).
    """
    import json

    import httpx

    def call(api_name: str, raw_data: str, timeout: float = 120.0) -> tuple[str, object]:
        response = httpx.post(
            f"{app_url}/gradio_api/call/{api_name}",
            content='{"data": ' + raw_data + "}",
            headers={"content-type": "application/json"},
            timeout=timeout,
        )
        response.raise_for_status()
        event_id = response.json()["event_id"]
        event, payload = "", None
        with httpx.stream("GET", f"{app_url}/gradio_api/call/{api_name}/{event_id}", timeout=timeout) as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    payload = json.loads(line.split(":", 1)[1])
                    break
        return event, payload

    return call


@pytest.fixture(scope="session")
def browser():
    """A real headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with chromium() as launched:
        yield launched


# Requests Gradio's page cancels itself: its queue and upload-progress streams when they are done, and an
# image still loading when a streamed update replaces its src. The browser reports those as ERR_ABORTED; a
# server that fails answers with an error status or a reset connection instead, which still fail the test.
PAGE_CANCELLED = ("/gradio_api/queue/data", "/gradio_api/upload_progress", "/gradio_api/file=")


def _cancelled_by_page(request) -> bool:
    """True for a request the page aborted itself (see ``PAGE_CANCELLED``): not a failure."""
    return "ERR_ABORTED" in (request.failure or "") and any(part in request.url for part in PAGE_CANCELLED)


def _server_error(response) -> str | None:
    """A problem line for a 5xx answer from the app (the page may not show it, but the server failed)."""
    return f"server error {response.status}: {response.url}" if response.status >= 500 else None


@pytest.fixture
def page(browser, app_url: str, request):
    """A fresh page on the app that fails the test on any console error or failed request.

    A screenshot of the final state is saved to ``test-artifacts/<test name>.png``.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "requestfailed",
        lambda req: None if _cancelled_by_page(req) else problems.append(f"request failed: {req.url} {req.failure}"),
    )
    page.on("response", lambda response: (line := _server_error(response)) and problems.append(line))
    page.problems = problems
    try:
        yield page
        found = list(problems)  # before closing: closing aborts the open event stream on purpose
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        with contextlib.suppress(Exception):  # the screenshot is an artifact, not the test
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        context.close()
    assert not found, "browser reported problems:\n" + "\n".join(found)
