"""Bounded memory over a day of classes: 200 sessions one after another, and the server's RSS levels off.

The server runs as a teacher starts it (``python app.py`` on a free loopback port). Each session is a
new ``gradio_client.Client`` touching every light tab and a small sampling run
(``diffusion_core.benchmarks.soak.session_calls``); psutil reads the server's RSS after each. After the
first ``WARM_SESSIONS`` (caches filled, allocator warm) RSS may grow by at most ``MAX_GROWTH``. The
curve is written to ``test-artifacts/soak.csv`` / ``.json``. Only the bound is asserted, never a speed.
It takes several minutes on 2 cores: run it alone (``python -m pytest tests/test_soak.py``).
"""

from __future__ import annotations

import pytest

from diffusion_core.benchmarks.soak import ARTIFACTS, MAX_GROWTH, SESSIONS, WARM_SESSIONS, soak
from ui.session_memory import DEFAULT_MAX_SESSIONS, MAX_SESSIONS_ENV, max_sessions

pytestmark = [pytest.mark.api, pytest.mark.soak]


@pytest.mark.timeout(2400)  # 200 sessions take 10-20 minutes on 2 cores (bounded here, never asserted)
def test_server_memory_levels_off_over_200_sessions(tmp_path):
    result = soak(SESSIONS, log_path=tmp_path / "server.log")
    result.write(ARTIFACTS / "soak")
    curve = {n: round(result.at(n)) for n in (0, WARM_SESSIONS, 100, 150, SESSIONS)}
    assert len(result.rss_mib) == SESSIONS + 1
    assert result.growth(WARM_SESSIONS, SESSIONS) <= MAX_GROWTH, f"RSS (MiB) after n sessions: {curve}"
    assert "Traceback" not in (tmp_path / "server.log").read_text(errors="replace")  # no fault on the way


@pytest.mark.parametrize(
    "raw, expected",
    [("", DEFAULT_MAX_SESSIONS), ("200", 200), ("1", 1), ("0", DEFAULT_MAX_SESSIONS), ("-5", DEFAULT_MAX_SESSIONS),
     ("many", DEFAULT_MAX_SESSIONS), ("2.5", DEFAULT_MAX_SESSIONS)],
)  # fmt: skip
def test_max_sessions_reads_the_environment(raw, expected):
    assert max_sessions({MAX_SESSIONS_ENV: raw}) == expected


def test_the_app_launches_with_the_session_bound():
    import app

    assert app.launch_kwargs()["state_session_capacity"] == max_sessions()


def test_sessions_with_a_trained_model_outlive_the_bound(monkeypatch):
    """A burst of new sessions (here 5 REST calls beyond a bound of 2) drops the idle ones without a model,
    never a learner's trained model; when every session holds one, the least recently used goes."""
    import gradio as gr
    from gradio.state_holder import StateHolder

    from ui.session_memory import keep_trained_sessions

    monkeypatch.setattr(StateHolder, "update", StateHolder.update)  # restored after the test
    with gr.Blocks() as demo:
        models = gr.State({})
    demo.state_session_capacity = 2
    keep_trained_sessions(models._id)
    holder = StateHolder()
    holder.set_blocks(demo)
    holder["learner"][models._id] = {"basic": "a trained model"}
    for n in range(5):
        holder[f"script-{n}"]
    assert list(holder.session_data) == ["learner", "script-4"]
    holder["script-4"][models._id] = {"ddpm": "another"}
    holder["late"]
    assert list(holder.session_data) == ["script-4", "late"]  # all held models: the least recently used went
