"""A quiet, useful server log: a learner's input error is one line, a real fault keeps its traceback.

The server runs as a teacher starts it (``python app.py``, its own logging set up by ``app.main``),
with stdout and stderr captured to a file; bad input is sent through gradio_client. A real fault
cannot be triggered legitimately through the API, so ``friendly``'s handling of an unexpected
exception is checked directly with ``caplog``.
"""

from __future__ import annotations

import json
import logging

import gradio as gr
import httpx
import pytest
from gradio_client import Client, handle_file

from diffusion_core.benchmarks.concurrency import app_process
from ui.errors import friendly

pytestmark = pytest.mark.api

# (api_name, args, words of the message): one refused by a checked widget's preprocess, one by the core
# (a ValueError in the handler), one by the handler itself, one refused file payload.
BAD_CALLS = [
    ("/corrupt", ("mnist", 0, 2.0, None, "en"), "amount must be between 0 and 1"),
    ("/ddpm_noise", ("mnist", 0, None, "linear", 1000, 0.5, 0.1, 5, "randn", "en"), "smaller"),
    ("/corrupt", ("upload", 0, 0.3, None, "en"), "upload"),
    ("/corrupt", ("upload", 0, 0.3, None, "en"), "not an image"),  # the upload is a file that is not an image
    (
        "/corrupt",
        ("upload", 0, 0.3, {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, "en"),
        "uploaded to this server first",
    ),  # a refused payload
]


def raw_error(url: str, api_name: str, args: tuple) -> str:
    """Send ``args`` as raw JSON (gradio_client would upload a local path itself); return the error message."""
    response = httpx.post(f"{url}gradio_api/call{api_name}", json={"data": list(args)}, timeout=60)
    event_id = response.json()["event_id"]
    with httpx.stream("GET", f"{url}gradio_api/call{api_name}/{event_id}", timeout=60) as stream:
        lines = list(stream.iter_lines())
    assert "event: error" in lines, lines
    return json.loads(lines[lines.index("event: error") + 1].split(":", 1)[1])["error"]


@pytest.fixture(scope="module")
def server_log(tmp_path_factory) -> tuple[str, list[str]]:
    """Run ``python app.py``; send every bad call of ``BAD_CALLS`` and one good call; yield the log and messages."""
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    not_an_image = tmp_path_factory.mktemp("upload") / "notes.png"
    not_an_image.write_bytes(b"not an image")
    with app_process(log_path=log_path) as app:
        client = Client(app.url, verbose=False, download_files=False)
        messages = []
        for index, (api_name, args, _) in enumerate(BAD_CALLS):
            if index == 4:  # a server path, sent as is
                messages.append(raw_error(app.url, api_name, args))
                continue
            if index == 3:
                args = (*args[:3], handle_file(str(not_an_image)), *args[4:])
            with pytest.raises(Exception) as caught:
                client.predict(*args, api_name=api_name)
            messages.append(str(caught.value))
        assert "0.30" in client.predict("mnist", 0, 0.3, None, "en", api_name="/corrupt")[4]  # still serving
        client.close()
    return log_path.read_text(errors="replace"), messages


def test_input_errors_are_one_line_each_without_traceback(server_log):
    text, messages = server_log
    refused = [line for line in text.splitlines() if "input refused at /" in line]
    assert len(refused) == len(BAD_CALLS), text[-4000:]
    for line, (api_name, _, words), message in zip(refused, BAD_CALLS, messages, strict=True):
        assert f"input refused at {api_name}:" in line and "diffusion_explorer" in line, line
        assert words in line and words in message, (line, message)
    assert "Traceback" not in text, text[-4000:]


def test_a_real_fault_is_logged_with_its_traceback_once(caplog):
    def train():
        raise RuntimeError("a bug in the training loop")

    with caplog.at_level(logging.INFO, logger="diffusion_explorer"), pytest.raises(gr.Error) as caught:
        friendly(train)()
    assert "logged on the server" in str(caught.value.message)
    assert caught.value.print_exception is False  # Gradio does not print a second, useless traceback
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and "/train" in record.getMessage()
    assert record.exc_info and record.exc_info[0] is RuntimeError  # the traceback of the real fault


def test_an_input_error_is_logged_as_one_line(caplog):
    def corrupt():
        raise ValueError("amount must be between 0 and 1, got 2")
        yield  # a generator handler, as the streamed ones are

    with caplog.at_level(logging.INFO, logger="diffusion_explorer"), pytest.raises(gr.Error) as caught:
        list(friendly(corrupt)())
    assert caught.value.print_exception is False
    (record,) = caplog.records
    assert record.levelno == logging.INFO and not record.exc_info
    assert (
        record.getMessage()
        == "input refused at /corrupt: 输入有误 / Invalid input: amount must be between 0 and 1, got 2"
    )
