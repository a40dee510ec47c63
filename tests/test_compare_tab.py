"""The Compare tab through a real Gradio server and gradio_client: quality, objectives, loss per t, failures.

Kept light: tiny n and step counts, because every call samples the bundled DDPM model on the CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.api


def read_image(path: str) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_quality_recomputes_a_small_curve(client):
    figure, summary, table, code = client.predict(["ddim", "euler"], [1, 2], 8, 0, "en", api_name="/quality")
    assert figure is not None
    rows = [line for line in table.splitlines() if line.startswith("| DDIM") or line.startswith("| Euler")]
    assert len(rows) == 4  # two samplers x two step counts
    assert "n = 8" in summary
    assert "quality_vs_steps" in code and "seed=0" in code and "'euler'" in code


def test_objectives_show_both_guesses_with_per_image_mse(client):
    *rows, table, summary, figure, code = client.predict(500, 3, "en", api_name="/quality_objectives")
    assert len(rows) == 5
    shapes = {read_image(row).shape for row in rows}
    assert len(shapes) == 1  # the five strips line up
    assert len(table["data"]) == 8
    assert all(0 <= value <= 1 for row in table["data"] for value in row[1:])
    assert "t = 500" in summary and "Mean MSE" in summary
    assert figure is not None
    assert "t = 500" in code and "manual_seed(3)" in code


def test_loss_per_timestep_streams_to_the_end(client):
    figure, summary, code = client.predict(4, 5, 0, "zh", api_name="/quality_loss_t")
    assert figure is not None
    assert "4 张图、5 个 t" in summary
    assert "linspace(0, 999, 5)" in code


def test_failure_lab_shows_the_chosen_modes_only(client):
    out = client.predict(["rand", "few_steps"], "ddim", 2, 1, 4, 0, "en", api_name="/quality_failures")
    correct, correct_text, rand, rand_text, no_scaling, no_scaling_text, few, few_text, _, _, code = out
    assert correct is not None and rand is not None and few is not None
    assert no_scaling is None and no_scaling_text == ""
    assert "randn" in correct_text and "confidence" in correct_text
    assert "torch.rand" in rand_text
    assert "1 steps" in few_text or "Only 1" in few_text
    assert not np.array_equal(read_image(correct), read_image(rand))
    assert 'start="rand"' in code


@pytest.mark.parametrize(
    ("api_name", "args", "message"),
    [
        ("/quality", (["heun"], [2], 8, 0, "en"), "not in the list of choices"),
        ("/quality", ([], [2], 8, 0, "en"), "at least one sampler"),
        ("/quality", (["ddim"], [3], 8, 0, "en"), "not in the list of choices"),
        ("/quality", (["ddim"], [2], 1000, 0, "en"), "n must be between"),
        ("/quality_objectives", (2000, 0, "en"), "t must be between"),
        ("/quality_objectives", (500, -1, "en"), "seed"),
        ("/quality_loss_t", (4, "NaN", 0, "en"), "timesteps must be a finite number"),
        ("/quality_loss_t", (4, 7.5, 0, "en"), "timesteps must be a whole number"),
        ("/quality_failures", (["bogus"], "ddim", 2, 1, 4, 0, "en"), "not in the list of choices"),
        ("/quality_failures", (["rand"], "heun", 2, 1, 4, 0, "en"), "not in the list of choices"),
    ],
)
def test_bad_inputs_get_clear_errors(client, api_name, args, message):
    with pytest.raises(Exception, match=message) as caught:
        client.predict(*args, api_name=api_name)
    assert "Traceback" not in str(caught.value)
