"""Argument checks shared by the core: one home for "a whole number between low and high".

The core is strict: a whole number must be an ``int`` (not a bool, not 3.0), and a bad value raises
``ValueError`` naming the argument. The UI, which receives numbers from sliders and number boxes,
coerces first (``ui.errors.as_int``) and then calls the core.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

logger = logging.getLogger(__name__)


def is_whole_number(value: object) -> bool:
    """True for an ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def whole_number(value: object, name: str, low: int, high: int) -> int:
    """Return ``value`` if it is a whole number in [low, high], else raise ``ValueError`` naming ``name``."""
    if not is_whole_number(value):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def seconds_from_env(environ: Mapping[str, str], name: str, default: float) -> float:
    """A positive number of seconds from ``environ[name]``, else ``default``.

    Unset or blank gives ``default``; a value that is not a positive finite number is ignored with a warning
    (a server setting must never stop the server)."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        logger.warning("%s=%r is not a positive number of seconds; using %g", name, raw, default)
        return default
    return value
