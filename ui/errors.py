"""Turn bad input and failures into clear messages instead of tracebacks.

* ``friendly`` wraps an event handler (plain or generator): ``ValueError`` from the core or
  from the validators below becomes ``gr.Error`` with its message; a CUDA out-of-memory error
  frees the cache and says so; anything else is logged server-side and reported briefly.
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
import torch

log = logging.getLogger("diffusion_explorer")


def _to_gr_error(error: BaseException) -> gr.Error:
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, ValueError):
        return gr.Error(f"输入有误 / Invalid input: {error}")
    if isinstance(error, torch.cuda.OutOfMemoryError):
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return gr.Error("GPU 显存不足，请减小批量 / The GPU ran out of memory: try a smaller batch.")
    log.exception("unexpected error in a handler", exc_info=error)
    return gr.Error("出错了，已记录在服务器日志中 / Something went wrong; it was logged on the server.")


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a Gradio handler so every failure reaches the user as a short ``gr.Error``."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except (GeneratorExit, KeyboardInterrupt):
                raise
            except Exception as error:
                raise _to_gr_error(error) from None

        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            raise _to_gr_error(error) from None

    return wrapper


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


def as_seed(value: Any) -> int:
    """A reproducibility seed: a whole number in 0 .. 2**31 - 1 (``ui.components.SEED_MAX``)."""
    return as_int(value, "seed", 0, 2**31 - 1)
