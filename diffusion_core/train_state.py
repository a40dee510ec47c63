"""Save and restore a training run between two steps, so one run can span several sessions.

A resume folder holds, as safetensors and JSON only (never pickle):

* ``model.safetensors``: the weights being trained;
* ``ema.safetensors``: the EMA's averaged weights (DDPM with EMA only);
* ``optimizer.safetensors``: every parameter's optimizer state (``state.<i>.<name>``);
* ``random.safetensors``: the shuffling generator's state at the current epoch's start and the
  noise generator's state now (uint8 tensors, as torch returns them);
* ``state.json``: the config, the counters (step, epoch, batch within the epoch, images seen,
  training seconds), the EMA's counters, the optimizer's hyper-parameters and every step's loss.

``save_train_state`` writes into a fresh sibling folder and then swaps it in, so a run killed
while saving keeps the previous state. ``load_train_state`` checks that the folder belongs to a
run of the same model and config (budget fields excepted) before it changes anything.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import load_file, save_file

if TYPE_CHECKING:
    from diffusion_core.training import TrainingRun

STATE_VERSION = 1
STATE_JSON = "state.json"
MODEL_FILE = "model.safetensors"
EMA_FILE = "ema.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
RANDOM_FILE = "random.safetensors"
# fields a resumed run may change: the budget of this call, the device and how it reports
HYPER_PARAMETERS = ("lr", "betas", "eps", "weight_decay", "amsgrad")
RESUMABLE_CHANGES = frozenset({"steps", "epochs", "seconds", "device", "report_every", "compile", "cuda_graph"})
# and, in a run that restarts its learning-rate schedule at the step it resumes from, that schedule
SCHEDULE_FIELDS = frozenset({"lr", "lr_schedule", "warmup_steps", "lr_restart_at"})


def save_train_state(run: TrainingRun, folder: str | Path) -> Path:
    """Write ``run``'s resume state to ``folder`` (replaced whole); returns the folder."""
    folder = Path(folder)
    staging = folder.with_name(folder.name + ".saving")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model = run.unwrapped_model()
    save_file(_cpu(model.state_dict()), str(staging / MODEL_FILE))
    ema_counters = None
    if run.ema is not None:
        ema_state = run.ema.state_dict()
        save_file(_cpu(dict(enumerate(ema_state.pop("shadow_params")))), str(staging / EMA_FILE))
        ema_counters = ema_state
    optimizer_state = run.optimizer.state_dict()
    tensors = {
        f"state.{index}.{name}": value
        for index, state in optimizer_state["state"].items()
        for name, value in state.items()
        if isinstance(value, torch.Tensor)
    }
    save_file(_cpu(tensors), str(staging / OPTIMIZER_FILE))
    progress = run.progress
    randomness = {"noise": run.noise_generator.get_state()}
    if progress.epoch_order_state is not None:
        randomness["epoch_order"] = progress.epoch_order_state
    save_file(_cpu(randomness), str(staging / RANDOM_FILE))
    state = {
        "version": STATE_VERSION,
        "config": run.config.to_dict(),
        "step": progress.step,
        "epoch": progress.epoch,
        "batch_in_epoch": progress.batch_in_epoch,
        "images_seen": progress.images_seen,
        "train_seconds": round(progress.train_seconds, 3),
        "ema": ema_counters,
        "param_groups": [{k: v for k, v in g.items() if k != "params"} for g in optimizer_state["param_groups"]],
        "losses": progress.losses,
    }
    (staging / STATE_JSON).write_text(json.dumps(state))
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    staging.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def read_state(folder: str | Path) -> dict:
    """The ``state.json`` of a resume folder; ``ValueError`` if it is missing or not ours."""
    path = Path(folder) / STATE_JSON
    if not path.is_file():
        raise ValueError(f"no training state in {Path(folder).name!r}: {STATE_JSON} is missing")
    try:
        state = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{STATE_JSON} in {Path(folder).name!r} is not valid JSON: {error}") from None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise ValueError(f"{STATE_JSON} in {Path(folder).name!r} is not a version-{STATE_VERSION} training state")
    return state


def load_train_state(run: TrainingRun, folder: str | Path) -> list[str]:
    """Restore weights, EMA, optimizer, random states and counters from ``folder`` into ``run``.

    A run saved on one kind of device may continue on another (a GPU run on the CPU, or back).
    Everything carries over except the noise generator's state, which is the device's own kind
    (a CUDA generator's 16 bytes against a CPU one's 5,056): the noise is then drawn from a
    generator seeded with ``seed + 1 + step``, reproducible but not the numbers the first device
    would have drawn.

    Returns:
        Notes for the person resuming (empty when the run continues exactly).
    """
    folder = Path(folder)
    state = read_state(folder)
    saved, current = {"lr_restart_at": 0, **state["config"]}, asdict(run.config)  # states before restarts
    may_change = RESUMABLE_CHANGES | (SCHEDULE_FIELDS if run.config.lr_restart_at == state["step"] else set())
    changed = sorted(k for k in current if k not in may_change and saved.get(k) != current[k])
    if changed:
        raise ValueError(f"the saved run differs in {', '.join(changed)}: resume it with the same settings")
    if (run.ema is None) != (state["ema"] is None):
        raise ValueError("the saved run and this one differ in whether they keep an EMA")
    device = run.device
    model = run.unwrapped_model()
    try:
        model.load_state_dict(load_file(str(folder / MODEL_FILE), device=str(device)))
        if run.ema is not None:
            shadow = load_file(str(folder / EMA_FILE), device=str(device))
            averaged = [_like(param, shadow[str(i)]) for i, param in enumerate(run.params)]
            run.ema.load_state_dict({**state["ema"], "shadow_params": averaged})
        tensors = load_file(str(folder / OPTIMIZER_FILE), device=str(device))
        randomness = load_file(str(folder / RANDOM_FILE))
    except (OSError, RuntimeError, KeyError) as error:
        raise ValueError(f"the training state in {folder.name!r} is unreadable: {error}") from None
    optimizer_state: dict = {"state": {}, "param_groups": []}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        optimizer_state["state"].setdefault(int(index), {})[name] = _like(run.params[int(index)], value)
    groups = run.optimizer.state_dict()["param_groups"]
    if len(groups) != len(state["param_groups"]):
        raise ValueError("the saved optimizer has a different number of parameter groups")
    # the saved hyper-parameters; this run's own implementation flags (fused, foreach, ...)
    optimizer_state["param_groups"] = [
        {**group, **{k: saved_group[k] for k in HYPER_PARAMETERS if k in saved_group}}
        for saved_group, group in zip(state["param_groups"], groups, strict=True)
    ]
    run.optimizer.load_state_dict(optimizer_state)
    notes = []
    try:
        run.noise_generator.set_state(randomness["noise"])
    except RuntimeError:  # saved by another kind of device's generator
        reseed = int(run.config.seed) + 1 + int(state["step"])
        run.noise_generator.manual_seed(reseed)
        notes.append(
            f"the noise generator's state was saved on another kind of device ({saved.get('device')!r}); "
            f"this run draws its noise on {run.device.type} from seed {reseed} (seed + 1 + step)"
        )
    progress = run.progress
    progress.step, progress.epoch = int(state["step"]), int(state["epoch"])
    progress.batch_in_epoch, progress.images_seen = int(state["batch_in_epoch"]), int(state["images_seen"])
    progress.train_seconds = float(state["train_seconds"])
    progress.losses = [float(v) for v in state["losses"]]
    progress.epoch_order_state = randomness.get("epoch_order")
    return notes


def _like(param: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """``value`` in ``param``'s memory layout (channels_last on the fast path) when it has its shape.

    Fused optimizers walk the raw memory of a parameter, its gradient and its state together, so
    the state must be laid out like the parameter; it is saved contiguous.
    """
    if value.shape != param.shape:
        return value  # a step counter
    return torch.empty_like(param, dtype=value.dtype).copy_(value)


def _cpu(tensors: dict) -> dict[str, torch.Tensor]:
    return {str(k): v.detach().to("cpu").contiguous() for k, v in tensors.items()}
