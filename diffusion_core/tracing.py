"""Shape tracing: walk a batch through any ``nn.Module`` and record every step (tutorial: 基础UNet).

The seed follows one batch ``torch.Size([8, 1, 28, 28])`` through BasicUNet by hand, printing
inside the model: 第1次输入 -> 第1次卷积 -> 第1次激活函数 -> 第1下采样 -> ... -> 第3激活函数后.
This module records the same walk with forward hooks, without touching the model:

* ``trace_module(model, x)`` records one ``TraceStep`` per leaf-module call (conv, activation,
  pooling, upsampling, ...) and per tensor addition made in the model's own ``forward``
  (``x + h.pop()``, a skip connection), with input/output shapes and parameters. A skip addition
  names the step whose output it added (found by tensor identity), so the last-in-first-out
  order of ``h.pop()`` is visible. When the input cannot pass, the steps that worked are kept
  and the failing step is named with its shapes (``TraceFailure``): a 30x30 input fails at the
  first skip, where the upsampled map is 14x14 but the stored skip is 15x15.
* ``seed_walk(trace)`` groups the steps into the tutorial's stages (down path, then up path) and
  adds the "input" row of each stage, so that 8x1x28x28 gives the tutorial's 24 rows exactly. Steps
  and failures are data (kind, path, stage, shapes); the UI words them (``ui.inside_tab.wording``).
* ``unet2d_anatomy(...)`` traces diffusers' ``UNet2DModel`` block by block on the *meta*
  device (shapes and parameter counts without any arithmetic or memory), with attention
  blocks, the timestep-embedding path and per-block parameters that sum to the total
  (1,707,009 for the tutorial's config).

A note on the tutorial's text: ``list.pop()`` takes the *last* element, not the first, so the skip
stored last (64x14x14) is added first; that is what makes ``h`` a last-in-first-out stack.
"""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

StepKind = Literal["input", "conv", "act", "down", "up", "skip", "norm", "linear", "other"]
Path = Literal["down", "up", ""]

MAX_BATCH = 64  # the largest batch a trace accepts
MAX_SIDE = 512  # the largest height or width a trace accepts
MAX_PIXELS = 8 * 128 * 128  # batch x height x width: the widest BasicUNet map is then 64 x this = 32 MiB
FEATURE_CHANNELS = 8  # default number of channels kept per step for feature maps

_ACTIVATIONS = (nn.SiLU, nn.ReLU, nn.GELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Mish, nn.ELU, nn.Softplus)
_DOWNSAMPLING = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
_NORMS = (nn.GroupNorm, nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.InstanceNorm2d)
_ADD_NAMES = {"add", "add_", "__add__", "__iadd__", "__radd__"}


@dataclass
class TraceStep:
    """One step of a walk through a model.

    Attributes:
        index: position in the walk, from 0.
        kind: "input" (what enters a stage), "conv", "act" (activation), "down" (pooling),
            "up" (upsampling), "skip" (a stored map added back), "norm", "linear" or "other".
        layer: the module's name in the model (e.g. ``"down_layers.0"``), ``"x + h.pop()"`` for
            a skip addition, ``""`` for an input row.
        module: a short description of the layer, e.g. ``"Conv2d(1→32, 5×5, padding 2)"``.
        in_shape: shape of the tensor going in.
        out_shape: shape of the tensor coming out.
        parameters: number of parameters of this layer (0 for activations, pooling, skips).
        path: "down" or "up" once ``seed_walk`` grouped the steps, else "".
        stage: 1-based stage number within its path once grouped, else 0.
        skip_shape: for a skip: the shape of the stored map that was added.
        skip_source: for a skip: index of the step whose output was added (in the same list).
        stored: this step's output is kept for a later skip connection.
        stored_order: 1 for the first map stored, 2 for the second, ... (0 if not stored).
        features: the first channels of the first image of the output, (k, H, W) float32, if asked.
    """

    index: int
    kind: StepKind
    layer: str
    module: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    parameters: int = 0
    path: Path = ""
    stage: int = 0
    skip_shape: tuple[int, ...] | None = None
    skip_source: int | None = None
    stored: bool = False
    stored_order: int = 0
    features: torch.Tensor | None = field(default=None, repr=False)


@dataclass
class TraceFailure:
    """The step where the input could not pass.

    Attributes:
        index: the index this step would have had in the walk.
        kind: its kind (see ``TraceStep``), e.g. "skip" for a failed ``x + h.pop()``.
        layer: the module name (or ``"x + h.pop()"``).
        module: short layer description.
        shapes: the shapes involved: (input,) for a layer, (upsampled map, stored skip) for a skip.
        message: PyTorch's error message (first line).
        path: "down"/"up" once grouped by ``seed_walk``.
        stage: stage number once grouped.
        downsamplings: how many downsampling steps passed before the failure.
        skip_source: for a skip: index of the step whose stored output was being added.
    """

    index: int
    kind: StepKind
    layer: str
    module: str
    shapes: tuple[tuple[int, ...], ...]
    message: str
    path: Path = ""
    stage: int = 0
    downsamplings: int = 0
    skip_source: int | None = None

    @property
    def mismatched_skip(self) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """For a failed skip addition: (upsampled map, stored skip), the two (B, C, H, W) shapes that did not fit.

        ``None`` for any other failure.
        """
        if self.kind == "skip" and len(self.shapes) == 2:
            return self.shapes[0], self.shapes[1]
        return None

    @property
    def size_divisor(self) -> int:
        """2 ** ``downsamplings``: what height and width must be divisible by for the skips to fit."""
        return 2**self.downsamplings


@dataclass
class Trace:
    """A recorded walk: the steps that worked, and the failure if the input could not pass."""

    steps: list[TraceStep]
    failure: TraceFailure | None
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...] | None
    total_parameters: int

    @property
    def ok(self) -> bool:
        return self.failure is None


def check_trace_size(batch: int, channels: int, height: int, width: int) -> None:
    """Refuse input sizes a trace cannot afford, before anything is allocated.

    Raises:
        ValueError: naming the first size out of range, or the total when batch x height x width
            exceeds ``MAX_PIXELS``.
    """
    for name, value, high in (("batch", batch, MAX_BATCH), ("height", height, MAX_SIDE), ("width", width, MAX_SIDE)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        if not 1 <= value <= high:
            raise ValueError(f"{name} must be between 1 and {high}, got {value}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    if batch * height * width > MAX_PIXELS:
        raise ValueError(
            f"batch x height x width = {batch} x {height} x {width} = {batch * height * width:,} is too large "
            f"for a trace (at most {MAX_PIXELS:,}, e.g. 8 x 128 x 128)"
        )


def describe_module(module: nn.Module) -> str:
    """A short, readable description of a layer, e.g. ``Conv2d(1→32, 5×5, padding 2)``."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        padding = module.padding if isinstance(module.padding, str) else module.padding[0]
        stride = f", stride {module.stride[0]}" if module.stride[0] != 1 else ""
        return f"Conv2d({module.in_channels}→{module.out_channels}, {kh}×{kw}, padding {padding}{stride})"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return f"{type(module).__name__}({module.kernel_size})"
    if isinstance(module, nn.Upsample):
        return f"Upsample(×{module.scale_factor:g}, {module.mode})" if module.scale_factor else "Upsample"
    if isinstance(module, nn.Linear):
        return f"Linear({module.in_features}→{module.out_features})"
    if isinstance(module, nn.GroupNorm):
        return f"GroupNorm({module.num_groups} groups, {module.num_channels} channels)"
    return type(module).__name__ + "()"


def step_kind(module: nn.Module) -> StepKind:
    """Classify a leaf module into a step kind."""
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)):
        return "conv"
    if isinstance(module, _ACTIVATIONS):
        return "act"
    if isinstance(module, _DOWNSAMPLING):
        return "down"
    if isinstance(module, nn.Upsample):
        return "up"
    if isinstance(module, _NORMS):
        return "norm"
    if isinstance(module, nn.Linear):
        return "linear"
    return "other"


def _first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor in a module's input/output (a tensor, tuple, list, or diffusers output)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        for item in value:
            found = _first_tensor(item)
            if found is not None:
                return found
    if hasattr(value, "sample") and isinstance(value.sample, torch.Tensor):
        return value.sample
    return None


def _count_tensors(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return 1
    if isinstance(value, (tuple, list)):
        return sum(_count_tensors(item) for item in value)
    return 0


def _shape(value: Any) -> tuple[int, ...]:
    tensor = _first_tensor(value)
    return tuple(tensor.shape) if tensor is not None else ()


def _features(tensor: torch.Tensor, channels: int) -> torch.Tensor | None:
    """The first ``channels`` channels of the first image, (k, H, W) float32 on the CPU."""
    if channels <= 0 or tensor.ndim != 4 or tensor.device.type == "meta":
        return None
    return tensor[0, :channels].detach().float().cpu().clone()


class _Recorder(TorchFunctionMode):
    """Forward hooks on the chosen modules plus a torch-function mode that sees additions.

    Only the outermost recorded module call is a step (``depth``); additions are recorded only
    between module calls, i.e. in the traced model's own ``forward`` (``x + h.pop()``).
    """

    def __init__(self, names: dict[nn.Module, str], features: int, record_adds: bool):
        super().__init__()
        self.names = names
        self.features = features
        self.record_adds = record_adds
        self.steps: list[TraceStep] = []
        self.outputs: list[tuple[int, weakref.ref]] = []  # (step index, its output), for skip identity
        self.open: list[tuple[nn.Module, tuple[int, ...]]] = []  # module calls begun but not finished
        self.add_failure: TraceFailure | None = None
        self.stored_count = 0

    # -- module hooks --------------------------------------------------------------------
    def pre_hook(self, module: nn.Module, args: tuple) -> None:
        self.open.append((module, _shape(args)))

    def post_hook(self, module: nn.Module, args: tuple, output: Any) -> None:
        _, in_shape = self.open.pop()
        if self.open:  # nested inside another recorded module: that one is the step
            return
        tensor = _first_tensor(output)
        index = len(self.steps)
        self.steps.append(
            TraceStep(
                index=index,
                kind=step_kind(module),
                layer=self.names[module],
                module=describe_module(module),
                in_shape=in_shape,
                out_shape=_shape(output),
                parameters=sum(p.numel() for p in module.parameters()),
                features=_features(tensor, self.features) if tensor is not None else None,
            )
        )
        if tensor is not None and tensor.device.type != "meta":
            self.outputs.append((index, weakref.ref(tensor)))

    # -- additions in the model's own forward -------------------------------------------
    def _source_of(self, tensor: torch.Tensor) -> int | None:
        for index, ref in reversed(self.outputs):
            if ref() is tensor:
                return index
        return None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        is_add = (
            self.record_adds
            and not self.open
            and getattr(func, "__name__", "") in _ADD_NAMES
            and len(args) >= 2
            and isinstance(args[0], torch.Tensor)
            and isinstance(args[1], torch.Tensor)
        )
        if not is_add:
            return func(*args, **kwargs)
        x, other = args[0], args[1]
        source = self._source_of(other)
        x_shape, other_shape = tuple(x.shape), tuple(other.shape)
        self._mark_kept_alive(x)
        try:
            out = func(*args, **kwargs)
        except RuntimeError as error:
            self.add_failure = TraceFailure(
                index=len(self.steps),
                kind="skip",
                layer="x + h.pop()",
                module="add",
                shapes=(x_shape, other_shape),
                message=str(error).splitlines()[0],
                skip_source=source,
            )
            raise
        index = len(self.steps)
        self.steps.append(
            TraceStep(
                index=index,
                kind="skip",
                layer="x + h.pop()",
                module="add",
                in_shape=x_shape,
                out_shape=tuple(out.shape),
                skip_shape=other_shape,
                skip_source=source,
                features=_features(out, self.features),
            )
        )
        self.outputs.append((index, weakref.ref(out)))
        return out

    def _mark_kept_alive(self, x: torch.Tensor) -> None:
        """Mark as stored every earlier output the model still holds (e.g. in ``h``), besides ``x``.

        Intermediate outputs are freed as soon as ``x`` is reassigned; the ones still alive at a
        skip addition are the ones the model kept for skips, including those not popped yet.
        """
        for index, ref in self.outputs:
            tensor = ref()
            if tensor is not None and tensor is not x:
                self.steps[index].stored = True

    def finish_stored_order(self) -> None:
        """Number the stored maps in the order they were produced (h[0], h[1], ...)."""
        for order, step in enumerate((s for s in self.steps if s.stored), start=1):
            step.stored_order = order


def trace_module(
    model: nn.Module,
    *inputs: Any,
    modules: Iterable[tuple[str, nn.Module]] | None = None,
    features: int = 0,
    record_adds: bool = True,
) -> Trace:
    """Run ``model(*inputs)`` once and record every step with forward hooks.

    Args:
        model: any module; it is not modified (hooks are removed afterwards).
        *inputs: the forward arguments; the first tensor is "the input".
        modules: ``(name, module)`` pairs to record; default: every leaf module of ``model``.
        features: keep the first ``features`` channels of the first image of each output (0 = none).
        record_adds: also record tensor additions made between recorded modules (skip connections).

    Returns:
        A ``Trace``: the steps that worked, and ``failure`` naming the step that could not run
        (with the shapes involved) or ``None``.
    """
    if modules is None:
        modules = [(name, module) for name, module in model.named_modules() if not list(module.children())]
    modules = list(modules)
    recorder = _Recorder({module: name for name, module in modules}, features, record_adds)
    handles = []
    for _, module in modules:
        handles.append(module.register_forward_pre_hook(recorder.pre_hook))
        handles.append(module.register_forward_hook(recorder.post_hook))
    input_shape = _shape(inputs)
    output_shape = None
    failure = None
    try:
        with torch.no_grad(), recorder:
            output = model(*inputs)
        output_shape = _shape(output)
    except (RuntimeError, ValueError, IndexError) as error:
        failure = recorder.add_failure
        if failure is None:
            module, in_shape = recorder.open[0] if recorder.open else (None, input_shape)
            failure = TraceFailure(
                index=len(recorder.steps),
                kind=step_kind(module) if module is not None else "other",
                layer=recorder.names.get(module, "") if module is not None else "",
                module=describe_module(module) if module is not None else type(model).__name__,
                shapes=(in_shape,),
                message=str(error).splitlines()[0] if str(error) else type(error).__name__,
            )
    finally:
        for handle in handles:
            handle.remove()
    recorder.finish_stored_order()
    failure = replace(failure, downsamplings=sum(s.kind == "down" for s in recorder.steps)) if failure else None
    return Trace(
        steps=recorder.steps,
        failure=failure,
        input_shape=input_shape,
        output_shape=output_shape,
        total_parameters=sum(p.numel() for p in model.parameters()),
    )


# ------------------------------------------------------------------------------------------
# The tutorial's walk: stages, input rows, shapes as text
# ------------------------------------------------------------------------------------------


def seed_walk(trace: Trace, input_features: torch.Tensor | None = None) -> Trace:
    """Group a UNet's trace into the tutorial's stages and add each stage's "input" row.

    A stage is "input, conv, activation" plus, on the down path, the downsampling after it and,
    on the up path, the upsampling and skip addition before the conv. The path switches to "up"
    at the first upsampling or layer named ``up...``. Stages are numbered from 1 on each path.

    Args:
        trace: from ``trace_module`` (leaf modules, additions recorded).
        input_features: features of the model input for the first input row, (k, H, W).

    Returns:
        A new ``Trace`` whose steps are renumbered, with ``path``/``stage`` set, and whose
        failure carries the path/stage/index it would have had.
    """
    steps: list[TraceStep] = []
    new_index: dict[int, int] = {}
    path: Path = "down"
    stage = {"down": 0, "up": 0}
    previous: TraceStep | None = None

    def begins_stage(step_kind_: StepKind, layer: str) -> bool:
        if previous is None:
            return True
        return previous.kind == "down" or (previous.kind == "act" and step_kind_ != "down")

    def enter(kind: StepKind, layer: str, in_shape: tuple[int, ...], features: torch.Tensor | None) -> None:
        nonlocal path
        if kind == "up" or layer.startswith("up"):
            path = "up"
        if begins_stage(kind, layer):
            stage[path] += 1
            steps.append(
                TraceStep(
                    index=len(steps),
                    kind="input",
                    layer="",
                    module="",
                    in_shape=in_shape,
                    out_shape=in_shape,
                    path=path,
                    stage=stage[path],
                    features=features,
                )
            )

    for step in trace.steps:
        enter(step.kind, step.layer, step.in_shape, previous.features if previous else input_features)
        new_index[step.index] = len(steps)
        steps.append(replace(step, index=len(steps), path=path, stage=stage[path]))
        previous = step

    for step in steps:
        if step.skip_source is not None:
            step.skip_source = new_index[step.skip_source]

    failure = trace.failure
    if failure is not None:
        enter(failure.kind, failure.layer, failure.shapes[0], previous.features if previous else input_features)
        source = new_index.get(failure.skip_source) if failure.skip_source is not None else None
        failure = replace(failure, index=len(steps), path=path, stage=stage[path], skip_source=source)
    return replace(trace, steps=steps, failure=failure)


def format_shape(shape: tuple[int, ...] | None) -> str:
    """``torch.Size``-like text: ``[8, 32, 28, 28]``."""
    return "—" if shape is None else "[" + ", ".join(str(v) for v in shape) + "]"


def spatial(shape: tuple[int, ...]) -> str:
    """The C×H×W part of a (B, C, H, W) shape, e.g. ``64×14×14``."""
    return "×".join(str(v) for v in shape[1:]) if len(shape) > 1 else "×".join(str(v) for v in shape)


# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------


def random_input(
    batch: int, channels: int, height: int, width: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The tutorial's ``torch.rand(8, 1, 28, 28)`` for any allowed size (checked before allocating).

    Returns:
        `torch.Tensor`, (batch, channels, height, width), uniform in [0, 1).
    """
    check_trace_size(batch, channels, height, width)
    return torch.rand(batch, channels, height, width, generator=generator)


def fit_images(images: torch.Tensor, batch: int, channels: int, height: int, width: int) -> torch.Tensor:
    """Bring real images (N, 1 or 3, h, w) in [0, 1] to (batch, channels, height, width).

    Images are repeated to fill the batch, converted to grey/RGB, and resized (bilinear) when
    the size differs, so a real digit can walk through the network at any allowed size.
    """
    check_trace_size(batch, channels, height, width)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be (N, 1 or 3, H, W), got {tuple(images.shape)}")
    x = images[:batch]
    if x.shape[0] < batch:
        x = x.repeat(math.ceil(batch / x.shape[0]), 1, 1, 1)[:batch]
    if x.shape[1] != channels:
        x = x.mean(dim=1, keepdim=True) if channels == 1 else x.expand(-1, 3, -1, -1)
    if tuple(x.shape[-2:]) != (height, width):
        x = torch.nn.functional.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
    return x.clamp(0, 1).contiguous()


def trace_basic_unet(model: nn.Module, x: torch.Tensor, features: int = FEATURE_CHANNELS) -> Trace:
    """The tutorial's walk of ``x`` through a BasicUNet: ``seed_walk(trace_module(model, x))``."""
    return seed_walk(trace_module(model, x, features=features), _features(x, features))


# ------------------------------------------------------------------------------------------
# UNet2DModel anatomy
# ------------------------------------------------------------------------------------------


@dataclass
class BlockRecord:
    """One top-level block of a ``UNet2DModel`` in forward order.

    Attributes:
        name: attribute path, e.g. ``"down_blocks.1"``.
        role: "in", "time", "down", "mid", "up" or "out".
        block_type: class name, e.g. ``"AttnDownBlock2D"``.
        out_shape: shape of the block's main output (for down blocks: the hidden state).
        parameters: parameters of the block.
        attention: the block contains attention layers.
        resnets: number of ResNet layers in the block (each receives the timestep embedding).
        skips: down blocks: maps stored for the up path; up blocks: maps consumed.
        resample: "down" / "up" if the block ends with a learned down/up sampler, else "".
        reached: False for blocks after a failure (no output shape; parameters still counted).
    """

    name: str
    role: str
    block_type: str
    out_shape: tuple[int, ...]
    parameters: int
    attention: bool = False
    resnets: int = 0
    skips: int = 0
    resample: str = ""
    reached: bool = True


@dataclass
class Anatomy:
    """The block-level anatomy of a UNet2DModel for one input size."""

    config: dict
    blocks: list[BlockRecord]
    failure: TraceFailure | None
    total_parameters: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...] | None


def unet2d_config(
    block_out_channels: tuple[int, ...] = (32, 64, 64), layers_per_block: int = 2, attention: bool = True
) -> dict:
    """The tutorial's UNet2DModel config with the three knobs changed.

    The first down block (and last up block) is plain; the others use attention when
    ``attention`` is on, as in the seed (``DownBlock2D, AttnDownBlock2D, AttnDownBlock2D``).
    """
    from diffusion_core.models import UNET2D_SEED_CONFIG

    if not 1 <= len(block_out_channels) <= 5:
        raise ValueError(f"block_out_channels needs 1 to 5 entries, got {block_out_channels}")
    for channels in block_out_channels:
        if not isinstance(channels, int) or channels < 32 or channels > 512 or channels % 32:
            raise ValueError(f"block_out_channels must be multiples of 32 (GroupNorm's 32 groups), got {channels}")
    if not 1 <= layers_per_block <= 4:
        raise ValueError(f"layers_per_block must be between 1 and 4, got {layers_per_block}")
    n = len(block_out_channels)
    down = ["DownBlock2D"] + ["AttnDownBlock2D" if attention else "DownBlock2D"] * (n - 1)
    up = ["AttnUpBlock2D" if attention else "UpBlock2D"] * (n - 1) + ["UpBlock2D"]
    return {
        **UNET2D_SEED_CONFIG,
        "block_out_channels": tuple(block_out_channels),
        "layers_per_block": layers_per_block,
        "down_block_types": tuple(down),
        "up_block_types": tuple(up),
        "add_attention": attention,  # the mid block's attention follows the same switch
    }


def unet2d_anatomy(
    block_out_channels: Iterable[int] = (32, 64, 64),
    layers_per_block: int = 2,
    attention: bool = True,
    input_shape: Iterable[int] = (8, 1, 28, 28),
) -> Anatomy:
    """Trace a ``UNet2DModel`` block by block on the meta device (no memory, no arithmetic).

    Cached: a meta-device forward of the tutorial's config takes about 150 ms on a 2-core CPU (PyTorch's
    meta kernels for GroupNorm and attention run in Python), and a class moves the same few knobs, so
    each configuration is traced once. The returned ``Anatomy`` is shared: treat it as read-only.

    Args:
        block_out_channels: output channels per resolution level (multiples of 32).
        layers_per_block: ResNet layers per down block (up blocks get one more).
        attention: use attention blocks in the lower-resolution levels, as the seed does.
        input_shape: (B, C, H, W) of the noisy input x_t; C is the model's in/out channels.

    Returns:
        An ``Anatomy`` with one ``BlockRecord`` per top-level block in forward order (blocks
        not reached after a failure at the end); their parameters sum to ``total_parameters``
        (1,707,009 for the tutorial's config), whether or not the input passes.
    """
    try:
        channels, shape = tuple(block_out_channels), tuple(input_shape)  # hashable for the cache
    except TypeError:
        raise ValueError("block_out_channels and input_shape must be sequences of whole numbers") from None
    return _unet2d_anatomy(channels, layers_per_block, attention, shape)


@functools.lru_cache(maxsize=128)
def _unet2d_anatomy(
    block_out_channels: tuple[int, ...],
    layers_per_block: int,
    attention: bool,
    input_shape: tuple[int, int, int, int],
) -> Anatomy:
    from diffusers import UNet2DModel

    batch, channels, height, width = input_shape
    check_trace_size(batch, channels, height, width)
    config = {
        **unet2d_config(block_out_channels, layers_per_block, attention),
        "sample_size": height,
        "in_channels": channels,
        "out_channels": channels,
    }
    with torch.device("meta"):
        model = UNet2DModel(**config)
        x_t = torch.zeros(input_shape)
        t = torch.full((batch,), 500, dtype=torch.long)
    named = [
        ("time_proj", model.time_proj),
        ("time_embedding", model.time_embedding),
        ("conv_in", model.conv_in),
        *[(f"down_blocks.{i}", block) for i, block in enumerate(model.down_blocks)],
        ("mid_block", model.mid_block),
        *[(f"up_blocks.{i}", block) for i, block in enumerate(model.up_blocks)],
        ("conv_norm_out", model.conv_norm_out),
        ("conv_act", model.conv_act),
        ("conv_out", model.conv_out),
    ]
    blocks_by_name = dict(named)
    outputs: dict[str, tuple[tuple[int, ...], int]] = {}

    def hook_for(name: str):
        def hook(module: nn.Module, args: tuple, output: Any) -> None:
            outputs[name] = (_shape(output), _count_tensors(output))

        return hook

    handles = [module.register_forward_hook(hook_for(name)) for name, module in named]
    trace = trace_module(model, x_t, t, modules=named, record_adds=False)
    for handle in handles:
        handle.remove()
    blocks = []
    for step in trace.steps:
        module = blocks_by_name[step.layer]
        shape, tensors = outputs[step.layer]
        role = _role(step.layer)
        resnets = len(getattr(module, "resnets", []))
        attentions = getattr(module, "attentions", None)
        resample = ""
        if getattr(module, "downsamplers", None):
            resample = "down"
        elif getattr(module, "upsamplers", None):
            resample = "up"
        skips = tensors - 1 if role == "down" else (resnets if role == "up" else 0)
        blocks.append(
            BlockRecord(
                name=step.layer,
                role=role,
                block_type=type(module).__name__,
                out_shape=shape,
                parameters=step.parameters,
                attention=bool(attentions) and any(a is not None for a in attentions),
                resnets=resnets,
                skips=skips,
                resample=resample,
            )
        )
    # 3. blocks the input never reached (after a failure) still count their parameters
    reached = {block.name for block in blocks}
    for name, module in named:
        if name not in reached:
            blocks.append(
                BlockRecord(
                    name=name,
                    role=_role(name),
                    block_type=type(module).__name__,
                    out_shape=(),
                    parameters=sum(p.numel() for p in module.parameters()),
                    attention=bool(getattr(module, "attentions", None)),
                    resnets=len(getattr(module, "resnets", [])),
                    reached=False,
                )
            )
    return Anatomy(
        config=config,
        blocks=blocks,
        failure=trace.failure,
        total_parameters=trace.total_parameters,
        input_shape=tuple(input_shape),
        output_shape=trace.output_shape,
    )


def _role(name: str) -> str:
    for role in ("down", "up", "mid"):
        if name.startswith(role):
            return role
    if name.startswith("time"):
        return "time"
    if name == "conv_in":
        return "in"
    return "out"
