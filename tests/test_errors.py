"""``ui.errors.friendly``: every failure reaches the user as a short, specific ``gr.Error``."""

from __future__ import annotations

import logging

import gradio as gr
import pytest
import torch

from ui.errors import friendly


def raises(error: BaseException):
    def handler():
        raise error

    return handler


def streams_then_raises(error: BaseException):
    def handler():
        yield 1
        raise error

    return handler


def test_gpu_out_of_memory_is_caught_and_reported():
    with pytest.raises(gr.Error, match="GPU ran out of memory: try a smaller batch"):
        friendly(raises(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")))()


def test_out_of_memory_in_a_streaming_handler_keeps_what_was_streamed():
    handler = friendly(streams_then_raises(torch.cuda.OutOfMemoryError("CUDA out of memory")))
    updates = handler()
    assert next(updates) == 1
    with pytest.raises(gr.Error, match="GPU ran out of memory"):
        next(updates)


def test_value_errors_keep_their_specific_message():
    with pytest.raises(gr.Error, match="steps must be between 1 and 1000"):
        friendly(raises(ValueError("steps must be between 1 and 1000, got 5000")))()


def test_unexpected_errors_are_logged_not_shown(caplog):
    with caplog.at_level(logging.ERROR, logger="diffusion_explorer"), pytest.raises(gr.Error) as caught:
        friendly(raises(RuntimeError("secret internal path /srv/x")))()
    assert "secret" not in str(caught.value) and "logged on the server" in str(caught.value)
    assert "secret internal path" in caplog.text
