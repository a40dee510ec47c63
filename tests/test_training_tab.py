"""The Training tab through a real Gradio server and gradio_client: stream, stop, download, reset, bad inputs.

Kept light: BasicUNet with tiny batches, and two UNet2DModel steps of four images.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from gradio_client import handle_file
from PIL import Image
from safetensors.torch import load_file

from diffusion_core.models import BasicUNet, build_unet2d

pytestmark = pytest.mark.api

DEFAULTS = {
    "kind": "basic",
    "data": "mnist",
    "uploads": None,
    "rgb": False,
    "steps": 3,
    "batch": 8,
    "lr": 1e-3,
    "seed": 0,
    "preview_every": 1,
    "log_scale": False,
    "lang": "en",
}


def _args(**changes) -> list:
    return list({**DEFAULTS, **changes}.values())


def _pngs(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    paths = []
    for index in range(count):
        path = folder / f"drawing_{index}.png"
        Image.fromarray(rng.integers(0, 255, (36, 36), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def test_stream_then_stop_keeps_the_session_model(client):
    job = client.submit(*_args(steps=5000, batch=4, preview_every=2), api_name="/train")

    def whole_updates() -> list:
        # Gradio rewrites the same cache file when an update repeats an image (the unchanged input rows); a
        # client download that overlaps the rewrite comes back short, and gradio_client then records that
        # update as a one-element list. Such updates are skipped here; the page re-fetches on the next one.
        return [out for out in job.outputs() if isinstance(out, (list, tuple)) and len(out) > 5]

    deadline = time.time() + 180
    while len(whole_updates()) < 5 and time.time() < deadline and not job.done():
        time.sleep(0.2)
    outputs = whole_updates()  # a copy: the job's own list grows after cancel()
    assert len(outputs) >= 3, job.status()
    job.cancel()
    statuses = [out[4] for out in outputs if "Step **" in str(out[4])]  # after "timing one step", the estimate
    assert len(statuses) >= 2
    steps = [int(s.split("Step **")[1].split(" /")[0]) for s in statuses]
    assert steps == sorted(steps) and steps[-1] < 5000  # streamed, and stopped long before the end
    assert "img/s" in statuses[-1] and "ETA" in statuses[-1]
    rows = [Image.open(path) for path in outputs[-1][1:4]]
    assert len({row.size for row in rows}) == 1  # input / corrupted / prediction line up
    assert "lr=0.001" in outputs[-1][5] and "manual_seed(0)" in outputs[-1][5]
    deadline = time.time() + 60
    while not job.done() and time.time() < deadline:
        time.sleep(0.2)
    assert job.done()

    # the stopped run's model is this session's model: download it as safetensors, then reset
    files = client.predict("basic", "en", api_name="/train_download")
    weights = next(path for path in files if path.endswith(".safetensors"))
    BasicUNet().load_state_dict(load_file(weights))
    status = client.predict("basic", "en", api_name="/train_reset")
    assert "bundled" in status
    with pytest.raises(Exception, match="no BasicUNet"):
        client.predict("basic", "en", api_name="/train_download")


def test_ddpm_runs_to_the_end(client):
    result = client.predict(*_args(kind="ddpm", steps=2, batch=4, lr=4e-4, lang="zh"), api_name="/train")
    _figure, _row_input, row_noisy, row_pred, status, code = result
    assert "第 **2 / 2** 步" in status and "第 1 轮" in status  # epochs count from 1
    assert "训练完成" in status and "UNet2DModel" in status
    assert 'beta_schedule="squaredcos_cap_v2"' in code and "torch.randn" in code
    assert Image.open(row_noisy).size == Image.open(row_pred).size
    files = client.predict("ddpm", "en", api_name="/train_download")
    weights = next(path for path in files if path.endswith(".safetensors"))
    build_unet2d().load_state_dict(load_file(weights))


def test_uploaded_images_train(client, tmp_path):
    uploads = [handle_file(path) for path in _pngs(tmp_path / "set", 8)]
    *_, status, code = client.predict(*_args(data="upload", uploads=uploads, steps=2, batch=4), api_name="/train")
    assert "Step **2 / 2**" in status and "epoch 1 " in status and "Done" in status
    assert "images_to_tensor" in code


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"lr": "nan"}, "learning rate"),
        ({"lr": "fast"}, "learning rate"),
        ({"batch": 100_000}, "batch size"),
        ({"kind": "gan"}, "choices"),
        ({"data": "upload"}, "upload"),
        ({"data": "upload", "rgb": True}, "colour|upload"),
    ],
)
def test_bad_inputs_get_clear_errors(client, changes, message):
    with pytest.raises(Exception, match=message) as caught:
        client.predict(*_args(**changes), api_name="/train")
    assert "Traceback" not in str(caught.value)


def test_bad_uploads_get_clear_errors(client, tmp_path):
    one = [handle_file(path) for path in _pngs(tmp_path / "one", 1)]
    with pytest.raises(Exception, match="at least 8"):
        client.predict(*_args(data="upload", uploads=one), api_name="/train")
    files = _pngs(tmp_path / "mixed", 7)
    text = tmp_path / "mixed" / "shopping_list.txt"
    text.write_text("milk, eggs, bread")
    mixed = [handle_file(path) for path in [*files, str(text)]]
    with pytest.raises(Exception, match=r"shopping_list\.txt.*not an image"):
        client.predict(*_args(data="upload", uploads=mixed), api_name="/train")
    eight = [handle_file(path) for path in _pngs(tmp_path / "eight", 8)]
    with pytest.raises(Exception, match="larger than the 8 training images"):
        client.predict(*_args(data="upload", uploads=eight, batch=16), api_name="/train")


def test_sessions_are_isolated(client, app_url):
    """A second client (another browser) does not see the first one's trained model."""
    from gradio_client import Client

    client.predict(*_args(steps=1, batch=2), api_name="/train")
    other = Client(app_url, verbose=False)
    with pytest.raises(Exception, match="no BasicUNet"):
        other.predict("basic", "en", api_name="/train_download")


def test_loss_figure_smoothing_and_lesson_batch():
    from diffusion_core.train_figures import loss_figure, smooth
    from ui.training_tab.settings import DEFAULT_BATCH
    from ui.training_tab.text import TEXT

    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])  # debiased: no ramp up from 0
    labels = {"title": "loss", "x": "step", "y": "MSE", "raw": "raw", "smoothed": "smooth"}
    figure = loss_figure([1, 2], [1.0, 0.5], True, labels)
    assert figure.layout.yaxis.type == "log" and [trace.name for trace in figure.data] == ["raw", "smooth"]
    assert all(f"{DEFAULT_BATCH}" in TEXT["lesson"][lang] for lang in ("zh", "en"))


def test_opening_the_tab_times_the_default_runs_step(monkeypatch):
    """The tab's first opening measures what the default Start will estimate, so the click trains at once: the
    same step (in bf16 where the run will be) and the same previews."""
    from diffusion_core import estimates
    from diffusion_core.training import DEFAULT_LR
    from ui.context import DEVICE
    from ui.training_tab.run import prepare_default_estimate, train
    from ui.training_tab.settings import DEFAULT_BATCH, DEFAULT_PREVIEW_EVERY, DEFAULT_STEPS

    estimates.clear_cache()
    prepare_default_estimate()
    timings = []
    monkeypatch.setattr(estimates, "seconds_per_call", lambda *a, **k: timings.append(1) or 1.0)
    updates = train("basic", "mnist", None, False, DEFAULT_STEPS, DEFAULT_BATCH, DEFAULT_LR["basic"], 3,
                    DEFAULT_PREVIEW_EVERY, False, "en", None)  # fmt: skip
    statuses = [update[4] for update in itertools.islice(updates, 2)]  # "timing one step", then the estimate
    updates.close()
    assert not timings, "the default Start timed its step again"
    assert statuses[1].rstrip(")").endswith(f"batch {DEFAULT_BATCH}, {DEVICE.type}"), statuses[1]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_cuda_server_estimates_training_on_cuda():
    """The estimate (and the cap it is held to) times the learner's model where it trains, not on the CPU."""
    from ui.training_tab.run import train

    updates = train("basic", "mnist", None, False, 20, 64, 1e-3, 0, 10, False, "en", None)
    statuses = [update[4] for update in itertools.islice(updates, 2)]
    updates.close()
    assert statuses[1].rstrip(")").endswith("batch 64, cuda"), statuses[1]
