"""Turn bad input and failures into clear messages instead of tracebacks.

* ``friendly`` wraps an event handler (plain or generator): ``ValueError`` from the core or
  from the validators below becomes ``gr.Error`` with its message; a CUDA out-of-memory error
  frees the cache and says so; anything else is logged server-side and reported briefly.
* The server log stays readable: a learner's input error (a ``ValueError``, a ``gr.Error`` raised
  by a handler or by a checked widget's ``preprocess``, a refused file payload) is one INFO line
  on the ``diffusion_explorer`` logger naming the endpoint and the message
  (``input refused at /corrupt: ...``); only real faults (any other exception) log a traceback,
  once. Gradio prints a traceback for every ``gr.Error`` unless ``print_exception`` is off, so
  every ``gr.Error`` that leaves here has it off.
* ``as_int`` / ``as_float`` / ``as_choice`` validate what a widget or an API caller sent:
  Gradio checks a slider's min/max but not its step, NaN or type.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

import gradio as gr
import pydantic
import torch
from gradio.exceptions import ComponentProcessingError, InvalidPathError
from gradio_client.utils import is_file_obj_with_meta, is_http_url_like

log = logging.getLogger("diffusion_explorer")


LOGGED_MESSAGE_CHARS = 300  # a refused value is quoted in its message; a long one is cut in the log


def log_refused(endpoint: str, error: gr.Error) -> gr.Error:
    """Log a learner's input error as one line (no traceback) and turn off Gradio's traceback for it.

    Args:
        endpoint: the API name (``"corrupt"`` or ``"/corrupt"``); error: the ``gr.Error`` shown to the learner.

    Returns:
        ``error`` itself, with ``print_exception`` off, to be raised.
    """
    message = " ".join(str(error.message).split())
    if len(message) > LOGGED_MESSAGE_CHARS:
        message = message[: LOGGED_MESSAGE_CHARS - 1] + "…"
    log.info("input refused at /%s: %s", endpoint.lstrip("/"), message)
    error.print_exception = False
    return error


def _to_gr_error(error: BaseException, endpoint: str) -> gr.Error:
    if isinstance(error, gr.Error):
        return log_refused(endpoint, error)
    if isinstance(error, ValueError):
        return log_refused(endpoint, gr.Error(f"输入有误 / Invalid input: {error}"))
    if isinstance(error, torch.cuda.OutOfMemoryError):
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        log.warning("GPU out of memory at /%s: %s", endpoint, " ".join(str(error).split())[:LOGGED_MESSAGE_CHARS])
        return gr.Error(
            "GPU 显存不足，请减小批量 / The GPU ran out of memory: try a smaller batch.", print_exception=False
        )
    log.error("unexpected error at /%s", endpoint, exc_info=error)  # a real fault: its traceback, once
    return gr.Error(
        "出错了，已记录在服务器日志中 / Something went wrong; it was logged on the server.", print_exception=False
    )


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a Gradio handler so every failure reaches the user as a short ``gr.Error``.

    The log names the endpoint by the handler's name (handlers are named after their API names).
    """
    endpoint = getattr(fn, "__name__", "handler")
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except (GeneratorExit, KeyboardInterrupt):
                raise
            except Exception as error:
                raise _to_gr_error(error, endpoint) from None

        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            raise _to_gr_error(error, endpoint) from None

    return wrapper


NOT_UPLOADED = (
    "输入有误 / Invalid input: files must be uploaded to this server first (gradio_client.handle_file); "
    "a path on the server is refused"
)
NOT_A_FILE = (
    "输入有误 / Invalid input: an image or file input takes files uploaded with gradio_client.handle_file, "
    "not plain strings, numbers or other values"
)
URL_REFUSED = "输入有误 / Invalid input: the file URL could not be downloaded (local and private addresses are refused)"


def _has_url_file(value: Any) -> bool:
    if isinstance(value, dict):
        if is_file_obj_with_meta(value) and is_http_url_like(str(value.get("path") or "")):
            return True
        return any(_has_url_file(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_url_file(item) for item in value)
    return False


def name_refused_files(demo: gr.Blocks) -> gr.Blocks:
    """Give API callers a clear message for file payloads Gradio refuses before any handler runs.

    Gradio itself refuses a server path that was never uploaded (``InvalidPathError``), a value
    that is not a file at all (pydantic's ``ValidationError``) and a file URL it may not fetch
    (a local or private address), all before ``preprocess``; with ``show_error`` off the caller
    only sees an anonymous error. This re-raises them as ``gr.Error`` with a short message, logged
    as one line (``log_refused``), as are the ``gr.Error`` of the checked widgets' ``preprocess``.
    """
    original = demo.preprocess_data

    @functools.wraps(original)
    async def preprocess_data(block_fn: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        endpoint = str(getattr(block_fn, "api_name", None) or getattr(block_fn, "name", None) or "event")
        try:
            return await original(block_fn, inputs, *args, **kwargs)
        except InvalidPathError:
            raise log_refused(endpoint, gr.Error(NOT_UPLOADED)) from None
        except pydantic.ValidationError:
            raise log_refused(endpoint, gr.Error(NOT_A_FILE)) from None
        except gr.Error as error:  # a checked widget (ui.components) refused the value
            raise log_refused(endpoint, error) from None
        except Exception as error:
            if isinstance(error, ComponentProcessingError) or not _has_url_file(inputs):
                raise
            raise log_refused(endpoint, gr.Error(URL_REFUSED)) from None

    demo.preprocess_data = preprocess_data  # type: ignore[method-assign]
    return demo


def as_float(value: Any, name: str, low: float, high: float) -> float:
    """Return ``value`` as a finite float in [low, high], else raise ``ValueError``."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not low <= number <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {number:g}")
    return number


def as_int(value: Any, name: str, low: int, high: int) -> int:
    """Return ``value`` as a whole number in [low, high], else raise ``ValueError``."""
    number = as_float(value, name, low, high)
    if number != int(number):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return int(number)


def as_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError``."""
    options = list(choices)
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(str, options))}, got {value!r}")
    return value


def as_choices(values: Any, name: str, choices: Iterable[Any]) -> list:
    """A checkbox group's values: a list (``None`` = empty, one value = a list of one), each one of ``choices``."""
    if values is None:
        values = []
    if isinstance(values, (str, int, float)):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"{name} must be a list, got {values!r}")
    options = list(choices)
    return [as_choice(value, name, options) for value in values]


def as_bool(value: Any, name: str) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (a checkbox), else raise ``ValueError``."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def as_seed(value: Any) -> int:
    """A reproducibility seed: a whole number in 0 .. 2**31 - 1 (``ui.components.SEED_MAX``)."""
    return as_int(value, "seed", 0, 2**31 - 1)
