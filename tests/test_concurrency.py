"""Many learners at once: no crash, queue limits hold, sessions are isolated, memory stays bounded.

The app runs as a user starts it (``python app.py``, a subprocess on a free port), so that its
resident memory (process and children) can be sampled with psutil. Each ``gradio_client.Client``
is its own session. The load driver is ``diffusion_core.benchmarks.concurrency`` (also the
``bench --only concurrency`` suite); the figures of the 8-session run are written to
``test-artifacts/concurrency.json`` for the release note.

Only limits and invariants are asserted (never speeds): every job ends without error, no more
runs of a kind stream at once than its concurrency limit allows, the queue drains, the server
answers afterwards, the peak RSS stays under ``RSS_LIMIT_MIB``, a session never sees another
session's model, and an expired session's model is freed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from diffusion_core.benchmarks.concurrency import (
    QUEUE_MAX_SIZE,
    RSS_LIMIT_MIB,
    SAMPLE_LIMIT,
    TRAIN_LIMIT,
    JobTrace,
    RssSampler,
    app_process,
    client_for,
    fetch,
    max_overlap,
    queue_size,
    rss_mib,
    run_sessions,
    sample_args,
    train_args,
)
from ui.context import DEFAULT_SESSION_TTL_SECONDS, SESSION_TTL_ENV, release_session_models, session_ttl_seconds

pytestmark = pytest.mark.api

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SESSIONS = 8
SHORT_TTL_S = 5  # long enough to download the model right after training, short enough to wait out
FREED = re.compile(r"session state expired: freed trained models (?P<kinds>[\w, ]+) \((?P<mb>[\d.]+) MB of weights\)")


def _wait_for_empty_queue(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while queue_size(url) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert queue_size(url) == 0, "the queue did not drain"


def _weights_digest(url: str, files: list) -> str:
    weights = next(item for item in files if str(item["path"]).endswith(".safetensors"))
    return hashlib.sha256(fetch(url, weights)).hexdigest()


def _cache_size(folder: Path) -> tuple[int, float]:
    files = [path for path in folder.rglob("*") if path.is_file()]
    return len(files), sum(path.stat().st_size for path in files) / 1e6


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``python app.py`` with the default session TTL and its own Gradio cache folder. Its run cap is a day: the
    tests hold slots with 5000-step trainings, which a busy 2-core machine may estimate above the 10-minute cap."""
    cache = tmp_path_factory.mktemp("gradio-cache")
    with app_process(env={"GRADIO_TEMP_DIR": str(cache), "DIFFUSION_EXPLORER_MAX_RUN_SECONDS": "86400"}) as app:
        app.cache = cache
        yield app


# ----------------------------------------------------------------------------------------------
# Pure helpers (no server)
# ----------------------------------------------------------------------------------------------


def test_max_overlap_counts_runs_at_once():
    assert max_overlap([]) == 0
    assert max_overlap([(0, 1), (1, 2), (2, 3)]) == 1  # hand-overs are not overlaps
    assert max_overlap([(0, 3), (1, 2), (1.5, 4), None]) == 3
    assert max_overlap([(0, 2), (1, 3), (2, 4), (3, 5)]) == 2
    trace = JobTrace(0, "train", job=None, first_output=1.0, last_output=1.15)
    assert trace.interval(0.1) is None  # shorter than the tolerance at both ends: not counted
    assert JobTrace(0, "train", job=None, first_output=1.0, last_output=2.0).interval(0.1) == (1.1, 1.9)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, DEFAULT_SESSION_TTL_SECONDS), ("", DEFAULT_SESSION_TTL_SECONDS), ("3", 3.0), (" 0.5 ", 0.5),
     ("0", DEFAULT_SESSION_TTL_SECONDS), ("-4", DEFAULT_SESSION_TTL_SECONDS), ("nan", DEFAULT_SESSION_TTL_SECONDS),
     ("inf", DEFAULT_SESSION_TTL_SECONDS), ("2h", DEFAULT_SESSION_TTL_SECONDS)],
)  # fmt: skip
def test_session_ttl_comes_from_the_environment(raw, expected):
    assert session_ttl_seconds({} if raw is None else {SESSION_TTL_ENV: raw}) == expected


def test_the_delete_callback_logs_what_it_frees_and_never_raises(caplog):
    from diffusion_core.models import BasicUNet

    with caplog.at_level(logging.INFO, logger="ui.context"):
        for value in ({}, None, "junk", {"basic": object()}):
            release_session_models(value)  # Gradio's expiry loop would stop for everyone if this raised
        assert "freed" not in caplog.text.replace("freed trained models basic (0.0 MB", "")
        release_session_models({"basic": BasicUNet()})
    assert FREED.search(caplog.text)["kinds"] == "basic"


# ----------------------------------------------------------------------------------------------
# Eight sessions at once
# ----------------------------------------------------------------------------------------------


def test_eight_sessions_train_and_sample_at_once(server):
    time.sleep(1.0)  # a settled idle reading
    idle_rss = rss_mib(server.pid)
    with RssSampler(server.pid, interval=0.2) as rss:
        load = run_sessions(server.url, sessions=SESSIONS, train_steps=10, train_batch=16, sample_steps=5,
                            sample_batch=4, timeout=600)  # fmt: skip
    try:
        figures = load.figures()
        # 1. no crash: every job of every session ended without an error (no queue-full at 8 sessions)
        assert not load.errors(), load.errors()
        assert all(trace.outputs >= 1 for trace in load.traces), "a job ended without any update"
        # 2. the limits held: at most 2 training and 2 sampling runs streamed at once; the rest waited
        assert 1 <= figures["max_concurrent_train"] <= TRAIN_LIMIT, figures
        assert figures["max_concurrent_sample"] <= SAMPLE_LIMIT, figures
        assert figures["max_queue_size"] <= QUEUE_MAX_SIZE
        _wait_for_empty_queue(server.url)
        # 3. each session now samples with its own model, and the eight models are eight different ones
        digests = []
        for client in load.clients:
            status = client.predict(*sample_args(5, 4, 0), api_name="/mix_sample")[-2]
            assert "this session's trained model" in status, status
            digests.append(_weights_digest(server.url, client.predict("basic", "en", api_name="/train_download")))
        assert len(set(digests)) == SESSIONS, "two sessions share a model"
    finally:
        load.close()
    # 4. the server still answers a new session, and its memory stayed bounded
    fresh = client_for(server.url)
    try:
        assert "bundled checkpoint" in fresh.predict(*sample_args(2, 2, 0), api_name="/mix_sample")[-2]
    finally:
        fresh.close()
    assert rss.peak < RSS_LIMIT_MIB, f"peak RSS {rss.peak:.0f} MiB"
    cache_files, cache_mb = _cache_size(server.cache)
    figures.update(
        idle_rss_mib=round(idle_rss),
        peak_rss_mib=round(rss.peak),
        rss_after_mib=round(rss.last),
        rss_limit_mib=RSS_LIMIT_MIB,
        rss_samples=len(rss.samples),
        cold_start_s=round(server.cold_start_s, 1),
        gradio_cache_after={"files": cache_files, "mb": round(cache_mb, 1)},
        settings={"train": "BasicUNet, MNIST, 10 steps, batch 16", "sample": "/mix_sample, 5 steps, batch 4"},
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "concurrency.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in figures.items() if k != "per_session_s"}, ensure_ascii=False))


# ----------------------------------------------------------------------------------------------
# Isolation: session A's model never appears in session B
# ----------------------------------------------------------------------------------------------


def test_a_sessions_model_never_appears_in_another_session(server):
    a, b = client_for(server.url), client_for(server.url)
    try:
        assert a.session_hash != b.session_hash
        *_, status, _ = a.predict(*train_args(3, 8, seed=11), api_name="/train")
        assert "Done" in status and "BasicUNet" in status
        a_digest = _weights_digest(server.url, a.predict("basic", "en", api_name="/train_download"))
        # B still samples with the bundled model and has nothing to download, nor to save
        assert "bundled checkpoint" in b.predict(*sample_args(2, 2, 0), api_name="/mix_sample")[-2]
        with pytest.raises(Exception, match="no BasicUNet"):
            b.predict("basic", "en", api_name="/train_download")
        with pytest.raises(Exception, match="has not trained a DDPM model"):
            b.predict("en", api_name="/save_pipeline")
        # A sees its own
        assert "this session's trained model" in a.predict(*sample_args(2, 2, 0), api_name="/mix_sample")[-2]
        # B trains its own (another seed): B gets B's weights, A keeps A's
        b.predict(*train_args(3, 8, seed=22), api_name="/train")
        b_digest = _weights_digest(server.url, b.predict("basic", "en", api_name="/train_download"))
        assert b_digest != a_digest
        assert _weights_digest(server.url, a.predict("basic", "en", api_name="/train_download")) == a_digest
        # resetting B's model sends B back to the bundled one and leaves A's alone
        assert "bundled" in b.predict("basic", "en", api_name="/train_reset")
        assert "bundled checkpoint" in b.predict(*sample_args(2, 2, 0), api_name="/mix_sample")[-2]
        assert _weights_digest(server.url, a.predict("basic", "en", api_name="/train_download")) == a_digest
    finally:
        a.close()
        b.close()


# ----------------------------------------------------------------------------------------------
# The queue limit: the 65th waiting event is refused with a clear message
# ----------------------------------------------------------------------------------------------


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_a_full_queue_refuses_with_a_clear_message_and_recovers(server):
    blockers = [client_for(server.url) for _ in range(2)]  # two sessions: a session runs one training at a time
    filler_session = f"filler-{uuid.uuid4()}"
    train_index = next(dep["id"] for dep in blockers[0].config["dependencies"] if dep.get("api_name") == "train")
    filler = [*train_args(1, 1, seed=0), None]  # the last input is the session_models State
    joined: list[str] = []
    jobs: list = []
    try:
        # two long runs take both training slots...
        jobs += [
            blocker.submit(*train_args(5000, 1, seed=s), api_name="/train")
            for blocker, s in zip(blockers, (1, 2), strict=True)
        ]
        deadline = time.monotonic() + 120

        def training(job) -> bool:  # past "timing one step" and the estimate: its loop runs
            return any("Step **" in str(out[4]) for out in job.outputs() if isinstance(out, (list, tuple)))

        while not all(training(job) for job in jobs) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(training(job) for job in jobs), [job.status() for job in jobs]
        _wait_for_empty_queue(server.url)
        # ...so every further training request waits, until the queue holds its maximum
        for _ in range(QUEUE_MAX_SIZE):
            code, body = _post(server.url + "gradio_api/queue/join",
                               {"data": filler, "fn_index": train_index, "session_hash": filler_session})  # fmt: skip
            assert code == 200, body
            joined.append(body["event_id"])
        assert queue_size(server.url) == QUEUE_MAX_SIZE
        code, body = _post(server.url + "gradio_api/queue/join",
                           {"data": filler, "fn_index": train_index, "session_hash": filler_session})  # fmt: skip
        assert code == 503, body
        assert f"Queue is full. Max size is {QUEUE_MAX_SIZE}" in body["detail"]
    finally:
        for event_id in joined:
            _post(server.url + "gradio_api/cancel",
                  {"session_hash": filler_session, "fn_index": train_index, "event_id": event_id})  # fmt: skip
        for job in jobs:
            job.cancel()
        for blocker in blockers:
            blocker.close()
    _wait_for_empty_queue(server.url)
    # the slots are free again: a new session trains to the end
    after = client_for(server.url)
    try:
        *_, status, _ = after.predict(*train_args(2, 4, seed=3), api_name="/train")
        assert "Step **2 / 2**" in status and "Done" in status
    finally:
        after.close()


# ----------------------------------------------------------------------------------------------
# Bounded memory: session state has a TTL and is freed
# ----------------------------------------------------------------------------------------------


def test_expired_session_models_are_freed(tmp_path):
    log = tmp_path / "app.log"
    with app_process(env={SESSION_TTL_ENV: str(SHORT_TTL_S), "GRADIO_TEMP_DIR": str(tmp_path / "cache")},
                     log_path=log) as app:  # fmt: skip
        client = client_for(app.url)
        try:
            idle_rss = rss_mib(app.pid)
            client.predict(*train_args(3, 8, seed=5), api_name="/train")
            trained_at = time.monotonic()
            # right after training the model is there (well inside the TTL)...
            client.predict("basic", "en", api_name="/train_download")
            trained_rss = rss_mib(app.pid)
            # ...then Gradio's expiry loop (every second) drops it and calls the delete_callback
            deadline = trained_at + SHORT_TTL_S + 60
            while not FREED.search(log.read_text(errors="replace")) and time.monotonic() < deadline:
                time.sleep(0.2)
            freed = FREED.search(log.read_text(errors="replace"))
            assert freed, (
                "no 'session state expired' line in the server log:\n" + log.read_text(errors="replace")[-3000:]
            )
            freed_after = time.monotonic() - trained_at
            assert freed["kinds"] == "basic" and float(freed["mb"]) > 0
            # the session falls back to the bundled model and has nothing left to download
            with pytest.raises(Exception, match="no BasicUNet"):
                client.predict("basic", "en", api_name="/train_download")
            assert "bundled checkpoint" in client.predict(*sample_args(2, 2, 0), api_name="/mix_sample")[-2]
            freed_rss = rss_mib(app.pid)
        finally:
            client.close()
    figures = {
        "ttl_s": SHORT_TTL_S,
        "freed_seen_after_training_s": round(freed_after, 1),
        "freed_weights_mb": float(freed["mb"]),
        "rss_idle_mib": round(idle_rss),
        "rss_after_training_mib": round(trained_rss),
        "rss_after_expiry_mib": round(freed_rss),
    }
    print(json.dumps(figures))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "concurrency_ttl.json").write_text(json.dumps(figures, indent=2) + "\n")
