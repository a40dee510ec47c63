"""Bounded memory over a day of classes: how many Gradio sessions the server keeps in memory.

Where a long-running server's memory went (measured with ``tracemalloc`` and psutil, see
BENCHMARKS.md, suite ``memory``): Gradio keeps one ``SessionState`` per session hash, and never
drops it on its own before 10,000 sessions (``state_session_capacity``). Expiring a ``gr.State``
(``time_to_live``) frees only that value, not the session entry. Each entry holds a copy of the
app's config for all of its ~290 blocks (about 0.5 MB here), every output value the session last
received (plotly figures, file data), the components its events updated, and its ``gr.State`` values
(sampling frames, a trained model). So memory grew by about 1.5 MB for every API session and far more
for a page session, with no end. Gradio evicts the least recently *used* session beyond the capacity,
so bounding it bounds memory. A learner who is active keeps being the most recent one; only a session
that stayed idle while ``max_sessions()`` others were used loses its state (its trained model, its
last sampling run), as it would after the TTL.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from gradio.state_holder import StateHolder

logger = logging.getLogger("diffusion_explorer")

MAX_SESSIONS_ENV = "DIFFUSION_EXPLORER_MAX_SESSIONS"
DEFAULT_MAX_SESSIONS = 64  # a class of 30-40 learners with a reload or a second tab each


def max_sessions(environ: Mapping[str, str] = os.environ) -> int:
    """Sessions kept in memory: ``$DIFFUSION_EXPLORER_MAX_SESSIONS`` (a whole number ≥ 1) or 64."""
    raw = environ.get(MAX_SESSIONS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_SESSIONS
    if not raw.isdigit() or int(raw) < 1:
        logger.warning("%s=%r is not a whole number ≥ 1; using %d", MAX_SESSIONS_ENV, raw, DEFAULT_MAX_SESSIONS)
        return DEFAULT_MAX_SESSIONS
    return int(raw)


def keep_trained_sessions(models_state_id: int) -> None:
    """Beyond the capacity, drop the least recently used session that holds **no trained model**.

    Gradio drops the least recently used session, whatever it holds: a burst of new sessions (page loads,
    or an API script whose every REST call is a new session) would drop a learner's trained model while
    they watch the teacher. Sessions with a trained model are few (each took a training slot, and their
    models expire after the TTL), so keeping them leaves memory bounded. When every other session holds
    one, the least recently used goes, as in Gradio; the session being used is never the one dropped. ``models_state_id`` is the ``_id`` of ``session_models``.
    """

    def holds_models(session: Any) -> bool:
        value = session.state_data.get(models_state_id)
        return isinstance(value, dict) and bool(value)

    def update(self: StateHolder, session_id: str) -> None:
        with self.lock:
            if session_id in self.session_data:
                self.session_data.move_to_end(session_id)
            while len(self.session_data) > self.capacity:
                others = [sid for sid in self.session_data if sid != session_id]  # never the one in use
                victim = next((sid for sid in others if not holds_models(self.session_data[sid])), others[0])
                del self.session_data[victim]
                self.time_last_used.pop(victim, None)

    StateHolder.update = update  # type: ignore[method-assign]
