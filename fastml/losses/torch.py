"""PyTorch autograd functions and modules running fastml's fused loss kernels on CPU tensors.

The forward pass computes the loss and, when the logits need a gradient, the gradient in the
same pass (one read of logits and targets, no temporaries); the backward pass only scales the
stored gradient by the incoming one. Tensors are shared with NumPy, not copied (a
non-contiguous tensor is made contiguous once). CPU tensors only (float32 or float64); the
targets get no gradient.

- :func:`weighted_bce_with_logits` / :class:`WeightedBCEWithLogitsLoss`: torch's
  ``binary_cross_entropy_with_logits(input, target, pos_weight=w_pos)`` with an optional
  per-label weight of the negatives too.
- :func:`sigmoid_focal_loss` / :class:`FocalLoss`: torchvision's
  ``sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction="none")`` (same
  signature and default reduction), alpha also per label.

Requires torch (``pip install torch``; not a dependency of fastml).
"""

from __future__ import annotations

import torch

from fastml.losses._core import _focal_loss, _label_axis_shape, _weighted_bce

__all__ = ["weighted_bce_with_logits", "sigmoid_focal_loss", "WeightedBCEWithLogitsLoss",
           "FocalLoss"]


def _param(v):
    """A loss parameter as a NumPy value (tensors are detached, never differentiated)."""
    if isinstance(v, torch.Tensor):
        return v.detach().cpu().numpy()
    return v


def _check(logits: torch.Tensor, target: torch.Tensor) -> None:
    if not isinstance(logits, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise TypeError("logits and target must be torch tensors")
    if logits.device.type != "cpu" or target.device.type != "cpu":
        raise TypeError(f"fastml's torch losses run on CPU tensors, got {logits.device}")
    if logits.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"logits must be float32 or float64, got {logits.dtype}")


def _apply(logits, target, run, reduction, *per_label):
    """Run the fused loss on ``logits`` seen with the labels on the last axis: a 1-D tensor
    with per-label parameters of its length is one row of labels (as torch broadcasts
    ``pos_weight``); a ``reduction="none"`` result comes back in the input's shape."""
    shape = tuple(logits.shape)
    seen = _label_axis_shape(shape, *per_label)
    if seen == shape:
        return _FusedLoss.apply(logits, target, run, reduction)
    out = _FusedLoss.apply(logits.reshape(seen), target.reshape(seen), run, reduction)
    return out.reshape(shape) if reduction == "none" else out


class _FusedLoss(torch.autograd.Function):
    """Forward: loss and d loss / d logits in one kernel pass; backward: scale."""

    @staticmethod
    def forward(ctx, logits, target, run, reduction):
        z = logits.detach().numpy()
        y = target.detach().numpy()
        need_grad = bool(ctx.needs_input_grad[0])
        scale = 1.0 / max(z.size, 1) if reduction == "mean" else 1.0
        out = run(y, z, reduction, need_grad, scale)
        value, grad = (out if need_grad else (out, None))
        if reduction == "none":
            result = torch.from_numpy(value)
        else:
            result = torch.tensor(value, dtype=logits.dtype)
        if need_grad:
            ctx.save_for_backward(torch.from_numpy(grad))
        ctx.reduction = reduction
        return result

    @staticmethod
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        if ctx.reduction != "none" and grad_output.numel() == 1 and float(grad_output) == 1.0:
            g = grad  # the usual loss.backward(): no extra pass
        else:
            g = grad * grad_output
        return g, None, None, None


def weighted_bce_with_logits(
    logits: torch.Tensor,
    target: torch.Tensor,
    w_pos=None,
    w_neg=None,
    reduction: str = "mean",
    sample_weight=None,
) -> torch.Tensor:
    """Per-label weighted BCE from logits, differentiable w.r.t. ``logits``.

    Equal to ``torch.nn.functional.binary_cross_entropy_with_logits(logits, target,
    pos_weight=w_pos, reduction=reduction)`` when ``w_neg`` is None, computed by
    :func:`fastml.losses.weighted_bce`. ``w_pos``, ``w_neg``: a number or one value per
    label (last axis); ``sample_weight``: one value per row.

    Examples
    --------
    >>> import torch
    >>> from fastml.losses.torch import weighted_bce_with_logits
    >>> z = torch.tensor([[2.0, -1.0], [0.5, 3.0]], requires_grad=True)
    >>> y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> loss = weighted_bce_with_logits(z, y, w_pos=torch.tensor([2.0, 1.0]))
    >>> loss.backward()
    >>> round(loss.item(), 5), z.grad.double().numpy().round(4).tolist()
    (0.39745, [[-0.0596, 0.0672], [0.1556, -0.0119]])
    """
    _check(logits, target)
    wp, wn, sw = _param(w_pos), _param(w_neg), _param(sample_weight)

    def run(y, z, red, need_grad, scale):
        return _weighted_bce(y, z, wp, wn, red, sw, True, need_grad, False, scale)

    return _apply(logits, target, run, reduction, wp, wn)


def sigmoid_focal_loss(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    alpha=0.25,
    gamma: float = 2,
    reduction: str = "none",
) -> torch.Tensor:
    """torchvision's ``sigmoid_focal_loss`` (same signature and defaults, ``reduction="none"``)
    computed by :func:`fastml.losses.focal_loss`, differentiable w.r.t. ``inputs``.

    ``alpha``: a number (negative: no weighting) or one value per label (last axis).

    Examples
    --------
    >>> import torch
    >>> from fastml.losses.torch import sigmoid_focal_loss
    >>> z = torch.tensor([[2.0, -1.0], [0.5, 3.0]], requires_grad=True)
    >>> y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> loss = sigmoid_focal_loss(z, y, reduction="mean")
    >>> loss.backward()
    >>> round(loss.item(), 5), z.grad.shape
    (0.07513, torch.Size([2, 2]))
    """
    _check(inputs, targets)
    a = _param(alpha)

    def run(y, z, red, need_grad, scale):
        return _focal_loss(
            y, z, a, gamma, red, "exact", 1e-6, None, True, need_grad, False, scale
        )

    return _apply(inputs, targets, run, reduction, a)


class WeightedBCEWithLogitsLoss(torch.nn.Module):
    """Module form of :func:`weighted_bce_with_logits` (like ``torch.nn.BCEWithLogitsLoss``
    with ``pos_weight=w_pos``, plus per-label ``w_neg``).

    Examples
    --------
    >>> import torch
    >>> from fastml.losses.torch import WeightedBCEWithLogitsLoss
    >>> criterion = WeightedBCEWithLogitsLoss(w_pos=torch.tensor([3.0, 1.0]))
    >>> loss = criterion(torch.zeros(4, 2, requires_grad=True), torch.ones(4, 2))
    >>> round(loss.item(), 4)
    1.3863
    """

    def __init__(self, w_pos=None, w_neg=None, reduction: str = "mean"):
        super().__init__()
        self.w_pos = w_pos
        self.w_neg = w_neg
        self.reduction = reduction

    def forward(self, logits, target, sample_weight=None):
        return weighted_bce_with_logits(
            logits, target, self.w_pos, self.w_neg, self.reduction, sample_weight
        )


class FocalLoss(torch.nn.Module):
    """Module form of :func:`sigmoid_focal_loss` (default ``reduction="mean"``, as loss modules
    usually are).

    Examples
    --------
    >>> import torch
    >>> from fastml.losses.torch import FocalLoss
    >>> criterion = FocalLoss(alpha=0.25, gamma=2.0)
    >>> loss = criterion(torch.zeros(4, 2, requires_grad=True), torch.ones(4, 2))
    >>> round(loss.item(), 5)
    0.04332
    """

    def __init__(self, alpha=0.25, gamma: float = 2.0, reduction: str = "mean"):
        super().__init__()
        self.alpha = alpha
        self.gamma = gamma
        self.reduction = reduction

    def forward(self, logits, target):
        return sigmoid_focal_loss(logits, target, self.alpha, self.gamma, self.reduction)

