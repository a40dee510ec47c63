"""The forward-process tabs through a real Gradio server and gradio_client: corrupt, ddpm_noise."""

from __future__ import annotations

import io

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

pytestmark = pytest.mark.api

NOISE_DEFAULTS = {"schedule": "linear", "T": 1000, "beta_start": 1e-4, "beta_end": 0.02, "noise_kind": "randn"}


def read_image(path: str) -> np.ndarray:
    return np.asarray(Image.open(path))


def corrupt(client, source="mnist", seed=0, amount=0.3, upload=None, lang="zh"):
    return client.predict(source, seed, amount, upload, lang, api_name="/corrupt")


def ddpm_noise(client, t=250, source="mnist", seed=0, upload=None, lang="en", **overrides):
    p = {**NOISE_DEFAULTS, **overrides}
    return client.predict(
        source, seed, upload, p["schedule"], p["T"], p["beta_start"], p["beta_end"], t, p["noise_kind"], lang,
        api_name="/ddpm_noise",
    )  # fmt: skip


def test_corrupt_returns_pictures_formula_and_code(client):
    single, clean, noisy, histogram, formula, code = corrupt(client, amount=0.3)
    assert read_image(single).shape[0] >= 28 * 4
    assert read_image(clean).shape == read_image(noisy).shape
    assert "0.30" in formula and "0.70" in formula
    assert "manual_seed(0)" in code and "0.30" in code
    assert histogram is not None


def test_corrupt_amount_changes_the_image(client):
    zero = read_image(corrupt(client, amount=0.0)[0]).astype(float)
    half = read_image(corrupt(client, amount=0.5)[0]).astype(float)
    full = read_image(corrupt(client, amount=1.0)[0]).astype(float)
    assert np.abs(zero - half).mean() > 5 and np.abs(half - full).mean() > 5
    # amount 0 shows the digit itself: mostly black background
    assert (zero < 10).mean() > 0.6


def test_corrupt_on_an_uploaded_image(client, tmp_path):
    path = tmp_path / "photo.png"
    Image.new("RGB", (640, 320), (255, 128, 0)).save(path)
    single, *_ = corrupt(client, source="upload", upload=handle_file(str(path)), amount=0.0)
    image = read_image(single)
    assert image.ndim == 3 and image.shape[2] == 3  # colour is kept
    assert abs(image[..., 0].mean() - 255) < 2 and abs(image[..., 1].mean() - 128) < 2


def test_ddpm_noise_returns_the_strip_and_curves(client):
    out = ddpm_noise(client, t=500)
    _, clean, clipped, raw, curve, snr, histogram, formula, explanation, code = out
    assert curve is not None and snr is not None and histogram is not None
    assert read_image(clipped).shape == read_image(raw).shape == read_image(clean).shape
    assert "t = 500" in formula
    assert "randn" in explanation
    assert "add_noise" in code and "torch.randn" in code and "linear" in code


def test_ddpm_noise_t_changes_the_image(client):
    early = read_image(ddpm_noise(client, t=0)[0]).astype(float)
    late = read_image(ddpm_noise(client, t=999)[0]).astype(float)
    assert np.abs(early - late).mean() > 20


def test_ddpm_noise_rand_switch_explains_itself(client):
    out = ddpm_noise(client, t=999, noise_kind="rand", lang="zh")
    assert "rand" in out[8] and "均匀" in out[8]
    assert "torch.rand(" in out[9]


def test_ddpm_noise_all_schedules(client):
    formulas = {s: ddpm_noise(client, t=500, schedule=s)[7] for s in ("linear", "scaled_linear", "squaredcos_cap_v2")}
    assert len(set(formulas.values())) == 3  # each schedule gives its own alpha_bar at t = 500


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"amount": "nan"}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"seed": -5}, "seed"),
        ({"seed": 2.5}, "seed"),
        ({"source": "../../etc/passwd"}, "source|choices"),
        ({"source": "upload", "upload": None}, "上传|upload"),
    ],
)
def test_corrupt_bad_inputs_get_clear_errors(client, kwargs, message):
    with pytest.raises(Exception, match=message) as caught:
        corrupt(client, **kwargs)
    assert "Traceback" not in str(caught.value)
    # the server still answers the next normal call
    assert "0.30" in corrupt(client, amount=0.3)[4]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"t": 1000}, "timestep"),
        ({"t": -1}, "timestep"),
        ({"t": 12.5}, "whole number"),
        ({"t": "NaN"}, "timestep"),
        ({"schedule": "cosine"}, "choices"),
        ({"T": 10**9}, "num_train_timesteps"),
        ({"T": 10, "t": 50}, "timestep"),
        ({"beta_start": 0.5, "beta_end": 0.1}, "smaller"),
        ({"noise_kind": "normal"}, "choices"),
    ],
)
def test_ddpm_noise_bad_inputs_get_clear_errors(client, kwargs, message):
    with pytest.raises(Exception, match=message):
        ddpm_noise(client, **kwargs)
    assert "t = 250" in ddpm_noise(client)[7]


@pytest.mark.parametrize("payload", [b"not an image", b"", "truncated"])
def test_non_images_get_clear_errors(client, tmp_path, payload):
    path = tmp_path / "upload.png"
    if payload == "truncated":
        buffer = io.BytesIO()
        Image.new("RGB", (300, 300), "white").save(buffer, format="PNG")
        payload = buffer.getvalue()[:200]
    path.write_bytes(payload)
    with pytest.raises(Exception, match="image"):
        corrupt(client, source="upload", upload=handle_file(str(path)))
    assert "0.30" in corrupt(client)[4]


@pytest.mark.parametrize(
    "api_name, raw, message",
    [
        ("corrupt", '["mnist", 0, NaN, null, "zh"]', "amount"),
        ("corrupt", '["mnist", 0, Infinity, null, "zh"]', "amount"),
        ("corrupt", '["mnist", NaN, 0.5, null, "zh"]', "seed"),
        ("ddpm_noise", '["mnist", 0, null, "linear", 1000, 0.0001, 0.02, NaN, "randn", "en"]', "timestep"),
        ("ddpm_noise", '["mnist", 0, null, "linear", 1000, NaN, 0.02, 5, "randn", "en"]', "beta_start"),
        ("ddpm_noise", '["mnist", 0, null, "linear", -Infinity, 0.0001, 0.02, 5, "randn", "en"]', "T"),
    ],
)
def test_nan_and_infinity_reach_the_handler_and_get_clear_errors(raw_call, client, api_name, raw, message):
    event, payload = raw_call(api_name, raw)
    assert event == "error" and message in payload["error"], payload
    assert "0.30" in corrupt(client, amount=0.3)[4]
