"""The tutorial's simple corruption: mix an image with uniform noise by an amount.

    corrupt(x, amount) = x * (1 - amount) + noise * amount,   noise ~ U[0, 1)

``amount = 0`` returns ``x`` unchanged; ``amount = 1`` returns pure noise. Because both ``x``
and the noise lie in [0, 1], so does the mix. This is section "一种简单的Corruption损坏过程"
of the tutorial; it is *not* the DDPM forward process (see ``noising.py``).
"""

from __future__ import annotations

import torch


def corrupt(
    x: torch.Tensor,
    amount: float | torch.Tensor,
    generator: torch.Generator | None = None,
    noise: torch.Tensor | None = None,
    validate: bool = True,
) -> torch.Tensor:
    """Corrupt ``x`` by mixing it with uniform noise according to ``amount``.

    Args:
        x (`torch.Tensor`, (B, C, H, W), in [0, 1]): the clean images.
        amount (`float` or `torch.Tensor` of shape (B,), each in [0, 1]): how much noise;
            one value for the whole batch or one per image.
        generator: draws the noise reproducibly; ``None`` uses the global generator.
        noise (`torch.Tensor`, like ``x``, optional): use this noise instead of drawing
            ``torch.rand`` (for showing the same noise at several amounts).
        validate: check ``amount`` (reads it back to the host). The training fast path passes
            ``False``: it draws ``amount`` in [0, 1) itself and must not wait for the device.

    Returns:
        `torch.Tensor`, (B, C, H, W): ``x * (1 - amount) + noise * amount``.

    Raises:
        ValueError: if ``x`` is not a 4-D float tensor, or an amount is outside [0, 1] or NaN.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        raise ValueError(f"x must be a float tensor of shape (B, C, H, W), got {_describe(x)}")
    amount = torch.as_tensor(amount, dtype=x.dtype, device=x.device)
    if amount.ndim == 0:
        amount = amount.expand(x.shape[0])
    if amount.ndim != 1 or amount.shape[0] != x.shape[0]:
        raise ValueError(f"amount must be a number or have shape ({x.shape[0]},), got {tuple(amount.shape)}")
    if validate and (torch.isnan(amount).any() or (amount < 0).any() or (amount > 1).any()):
        raise ValueError(f"amount must lie in [0, 1], got {amount.tolist()}")
    if noise is None:
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    elif noise.shape != x.shape:
        raise ValueError(f"noise must have the shape of x {tuple(x.shape)}, got {tuple(noise.shape)}")
    amount = amount.view(-1, 1, 1, 1)  # (B,) -> (B, 1, 1, 1) so it broadcasts over C, H, W
    return x * (1 - amount) + noise * amount


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return type(value).__name__
