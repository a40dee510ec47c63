"""Number widgets that name bad API values clearly.

Gradio checks a slider's min/max in ``preprocess`` but fails with an anonymous error on a value
of the wrong type (a string sent through the API), which the page shows as "the app has raised
an exception". These subclasses are *template components* (``is_template``: the same frontend
as their parent) whose ``preprocess`` first checks the type and range and raises ``gr.Error``
naming the widget. NaN and infinity pass through to the handler, whose validators name them.
"""

from __future__ import annotations

import math
from typing import Any

import gradio as gr
from PIL import Image as PILImage


def _check_number(name: str, payload: Any, minimum: float | None, maximum: float | None) -> float | None:
    if payload is None:
        return None
    if isinstance(payload, bool):  # float(True) is 1.0: a checkbox value is not a number
        raise gr.Error(f"输入有误 / Invalid input: {name} must be a number, got {payload!r}")
    if not isinstance(payload, (int, float)):
        try:
            payload = float(payload)
        except (TypeError, ValueError):
            raise gr.Error(f"输入有误 / Invalid input: {name} must be a number, got {payload!r}") from None
    too_low = minimum is not None and payload < minimum
    too_high = maximum is not None and payload > maximum
    if math.isfinite(payload) and (too_low or too_high):
        if minimum is not None and maximum is not None:
            limits = f"between {minimum:g} and {maximum:g}"
        else:
            limits = f"at least {minimum:g}" if too_low else f"at most {maximum:g}"
        raise gr.Error(f"输入有误 / Invalid input: {name} must be {limits}, got {payload:g}")
    return payload


class Slider(gr.Slider):
    """``gr.Slider`` whose preprocess names wrong-typed and out-of-range values (see ``slider``)."""

    is_template = True
    name = "value"  # the English name used in error messages (labels change with the language)

    def preprocess(self, payload: Any) -> Any:
        payload = _check_number(self.name, payload, self.minimum, self.maximum)
        if payload is None or not math.isfinite(payload):
            return payload
        return super().preprocess(payload)


class Number(gr.Number):
    """``gr.Number`` whose preprocess names wrong-typed and out-of-range values (see ``number``)."""

    is_template = True
    name = "value"  # the English name used in error messages (labels change with the language)

    def preprocess(self, payload: Any) -> Any:
        payload = _check_number(self.name, payload, self.minimum, self.maximum)
        if self.precision == 0 and payload is not None and math.isfinite(payload) and payload != int(payload):
            # gr.Number would round 2.5 to 2 silently; a whole-number box refuses it instead
            raise gr.Error(f"输入有误 / Invalid input: {self.name} must be a whole number, got {payload:g}")
        if payload is None or not math.isfinite(payload):
            return payload
        return super().preprocess(payload)


def slider(*args: Any, name: str, **kwargs: Any) -> Slider:
    """A checked ``gr.Slider``; ``name`` is the English name its error messages use.

    (Not a constructor argument: Gradio records constructor arguments by signature and would
    drop positional ones passed through an overridden ``__init__``.)
    """
    component = Slider(*args, **kwargs)
    component.name = name
    return component


def number(*args: Any, name: str, **kwargs: Any) -> Number:
    """A checked ``gr.Number``; ``name`` is the English name its error messages use."""
    component = Number(*args, **kwargs)
    component.name = name
    return component


class Image(gr.Image):
    """``gr.Image`` whose preprocess turns unreadable uploads into a clear ``gr.Error``.

    Use with ``type="filepath"`` and ``image_mode=None``: Gradio then only reads the header, and
    ``diffusion_core.user_images`` decodes the file with its own size limits.
    """

    is_template = True

    def preprocess(self, payload: Any) -> Any:
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except PILImage.DecompressionBombError:
            raise gr.Error("输入有误 / Invalid input: the image is too large (a decompression bomb?)") from None
        except Exception:
            raise gr.Error(
                "输入有误 / Invalid input: the file is not an image PIL can read (PNG, JPEG, GIF, BMP, WebP, ...)"
            ) from None


class CheckboxGroup(gr.CheckboxGroup):
    """``gr.CheckboxGroup`` whose preprocess refuses a value that is not a list (see ``checkbox_group``).

    Gradio iterates the payload: a number or null fails with an anonymous TypeError and a string
    is read letter by letter ("Value: 'd' is not in the list of choices").
    """

    is_template = True
    name = "value"  # the English name used in error messages (labels change with the language)

    def preprocess(self, payload: Any) -> Any:
        if not isinstance(payload, list):
            raise gr.Error(f"输入有误 / Invalid input: {self.name} must be a list of choices, got {payload!r:.100}")
        return super().preprocess(payload)


def checkbox_group(*args: Any, name: str, **kwargs: Any) -> CheckboxGroup:
    """A checked ``gr.CheckboxGroup``; ``name`` is the English name its error messages use."""
    component = CheckboxGroup(*args, **kwargs)
    component.name = name
    return component


SEED_MAX = 2**31 - 1  # seeds are whole numbers in 0 .. 2**31 - 1 (see ui.errors.as_seed)


def seed_number(label: str, **kwargs: Any) -> Number:
    """The reproducibility seed box every tab uses: a whole number in 0 .. SEED_MAX, default 0."""
    return number(value=0, precision=0, minimum=0, maximum=SEED_MAX, label=label, name="seed", **kwargs)
