"""One training step's forward, loss and backward, captured once as a CUDA graph and replayed.

A batch of 128 digits through these small models is a few hundred small kernels; launched one
by one from Python, the GPU waits on the CPU most of the time. A CUDA graph records the kernels
once and launches them all with one call. The recipe is PyTorch's "whole-network capture":

1. warm up a few iterations on a side stream (cuDNN picks its algorithms, the allocator settles);
2. set every ``.grad`` to None and capture ``loss_fn()`` and ``loss.backward()`` (and the gradient
   clip): the backward pass then *writes* fresh gradient tensors that belong to the graph;
3. every step: the caller refills the fixed input buffers that ``loss_fn`` reads, ``replay()``
   recomputes the loss and overwrites the same gradient tensors, and the caller's (fused)
   optimizer reads them. Nothing may set the gradients to None afterwards.

The optimizer and the EMA stay outside the graph, so the learning-rate schedule is a plain
Python float and the optimizer is the ordinary one (its fused kernel is one launch anyway).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

WARMUP_ITERATIONS = 3  # PyTorch's documented minimum for capturing a backward pass is a few


class GraphedBackward:
    """``loss_fn()`` + ``backward()`` (+ clip) as a CUDA graph.

    Args:
        loss_fn: computes the scalar loss from fixed device buffers that the caller refills
            before each ``replay()``; it must not read anything back to the host.
        params: the parameters whose gradients the backward pass writes.
        grad_clip: clip the gradients' global L2 norm to this inside the graph (None: no clip).
    """

    def __init__(self, loss_fn: Callable[[], torch.Tensor], params: list[nn.Parameter], grad_clip: float | None):
        device = params[0].device
        # 1. warm-up on a side stream; these gradients are thrown away (no optimizer step)
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(WARMUP_ITERATIONS):
                _set_grads_to_none(params)
                loss_fn().backward()
        torch.cuda.current_stream(device).wait_stream(side)
        # 2. capture: with no .grad tensors, backward allocates them from the graph's memory pool
        _set_grads_to_none(params)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.loss = loss_fn()
            self.loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(params, grad_clip, foreach=True)

    def replay(self) -> torch.Tensor:
        """Run the captured step on the current buffers; returns the loss tensor (overwritten next replay)."""
        self.graph.replay()
        return self.loss


def _set_grads_to_none(params: list[nn.Parameter]) -> None:
    for param in params:
        param.grad = None
