"""Gauss-Newton steepest descent for the few-shot learners of RTS (docs/rts.md A.3, A.4).

Each step takes the gradient ``g = J^T r`` of ``0.5 * ||r||^2`` (autograd, one backward) and the
step length ``alpha = ||g||^2 / ||J g||^2`` per sequence, where ``J g`` has a closed form for both
residuals (no double backward): the target model is linear in the filter, and the hinge's slope is
known. Sums run over every dimension except the sequence one (dim 0 of the filter, dim 1 of the
residuals), as in the reference. Without gradients (the tracker), :func:`linear_steepest_descent`
and :func:`hinge_steepest_descent` take the same steps with ``g`` in closed form too (no autograd).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .gemm_conv import gemm_conv2d, gemm_conv2d_weight

Residuals = Callable[[torch.Tensor], list[torch.Tensor]]


def _gemm_path(features: torch.Tensor, weights: torch.Tensor) -> bool:
    """One single-output filter on one sequence, on the CPU, without autograd: see :mod:`.gemm_conv`."""
    return (
        weights.dim() == 4 and features.shape[1] == 1 and features.device.type == "cpu" and not torch.is_grad_enabled()
    )


def apply_filter(features: torch.Tensor, weights: torch.Tensor, padding: int) -> torch.Tensor:
    """``(n, seq, C, h, w)`` x ``(seq, [K,] C, k, k)`` -> ``(n, seq, [K,] h', w')`` (one bank per sequence)."""
    n, seq = features.shape[:2]
    if _gemm_path(features, weights):
        return gemm_conv2d(features[:, 0], weights, padding)
    single = weights.dim() == 4
    bank = weights.unsqueeze(1) if single else weights
    out = F.conv2d(
        features.reshape(n, -1, *features.shape[-2:]), bank.reshape(-1, *bank.shape[-3:]), padding=padding, groups=seq
    )
    out = out.view(n, seq, bank.shape[1], *out.shape[-2:])
    return out[:, :, 0] if single else out


def filter_gradient(
    features: torch.Tensor, grad_out: torch.Tensor, weights: torch.Tensor, padding: int
) -> torch.Tensor:
    """Gradient w.r.t. ``weights`` of ``sum(grad_out * apply_filter(features, weights, padding))``."""
    if _gemm_path(features, weights):
        return gemm_conv2d_weight(features[:, 0], grad_out, weights.shape[-1], padding).view_as(weights)
    n, seq = features.shape[:2]
    out_channels = seq * (1 if weights.dim() == 4 else weights.shape[1])
    grad = torch.nn.grad.conv2d_weight(
        features.reshape(n, -1, *features.shape[-2:]),
        (out_channels, *weights.shape[-3:]),
        grad_out.reshape(n, -1, *grad_out.shape[-2:]),
        padding=padding,
        groups=seq,
    )
    return grad.view_as(weights)


def steepest_descent(
    weights: torch.Tensor,
    residuals: Residuals,
    jvp: Callable[[torch.Tensor, torch.Tensor], list[torch.Tensor]],
    num_iter: int,
    create_graph: bool = False,
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """``num_iter`` steps from ``weights``; returns (final, all iterates incl. the start, losses).

    Losses (for logging) are the mean squared residual over all parts together, at every iterate
    (the reference's numbers are ``sum of r^2 over both parts / total element count``).
    """
    iterates, losses = [weights], []
    for _ in range(num_iter):
        with torch.enable_grad():
            w = weights if weights.requires_grad else weights.detach().requires_grad_(True)
            parts = residuals(w)
            objective = 0.5 * sum((r * r).sum() for r in parts)
            (grad,) = torch.autograd.grad(objective, w, create_graph=create_graph)
        losses.append(_mean_square(parts))
        jg = jvp(w.detach() if not create_graph else w, grad)
        numerator = (grad * grad).flatten(1).sum(1)
        denominator = sum((h * h).transpose(0, 1).flatten(1).sum(1) for h in jg)
        alpha = numerator / denominator.clamp(min=1e-8)
        weights = weights - alpha.view(-1, *([1] * (weights.dim() - 1))) * grad
        iterates.append(weights)
    losses.append(_mean_square(residuals(weights.detach())))
    return weights, iterates, losses


def _mean_square(parts: list[torch.Tensor]) -> torch.Tensor:
    return sum((r.detach() ** 2).sum() for r in parts) / sum(r.numel() for r in parts)


def segmentation_problem(
    features: torch.Tensor, label_encoding: torch.Tensor, sample_weights: torch.Tensor | None, filter_reg: torch.Tensor
):
    """Residuals and ``J g`` of the segmentation learner: ``sw * (T_tau(x) - E(y))`` and ``reg * tau``."""
    sw = sample_weights if sample_weights is not None else torch.tensor((1.0 / features.shape[0]) ** 0.5)

    def residuals(tau: torch.Tensor) -> list[torch.Tensor]:
        data = sw * (apply_filter(features, tau, tau.shape[-1] // 2) - label_encoding)
        return [data, filter_reg * tau.reshape(1, tau.shape[0], -1)]

    def jvp(tau: torch.Tensor, g: torch.Tensor) -> list[torch.Tensor]:
        return [sw * apply_filter(features, g, g.shape[-1] // 2), filter_reg * g.reshape(1, g.shape[0], -1)]

    return residuals, jvp


def _regularised_loss(data: torch.Tensor, weights: torch.Tensor, reg2: float | torch.Tensor) -> torch.Tensor:
    """The logged loss of a closed-form step: ``(||r||^2 + reg^2 ||w||^2) / (r.numel() + w.numel())``."""
    return ((data**2).sum() + reg2 * (weights**2).sum()) / (data.numel() + weights.numel())


def _closed_form_step(
    weights: torch.Tensor, grad: torch.Tensor, jg: torch.Tensor, reg2: float | torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Step length ``alpha = ||g||^2 / (||J_data g||^2 + reg^2 ||g||^2)`` per sequence and the next filter."""
    numerator = (grad * grad).flatten(1).sum(1)
    denominator = (jg * jg).transpose(0, 1).flatten(1).sum(1) + reg2 * numerator
    alpha = numerator / denominator.clamp(min=1e-8)
    return alpha, weights - alpha.view(-1, *([1] * (weights.dim() - 1))) * grad


def linear_steepest_descent(
    weights: torch.Tensor,
    features: torch.Tensor,
    label_encoding: torch.Tensor,
    sample_weights: torch.Tensor | None,
    filter_reg: torch.Tensor,
    num_iter: int,
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """:func:`steepest_descent` on the segmentation problem without autograd (inference only).

    The data residual is affine in the filter, so the gradient is a weight-gradient convolution and
    the next residual is ``r - alpha * J g``: two convolutions per step instead of four (forward,
    backward, ``J g`` and the logged loss). Same iterates up to float rounding.
    """
    n = features.shape[0]
    k = weights.shape[-1]
    sw = sample_weights if sample_weights is not None else torch.tensor((1.0 / n) ** 0.5, device=features.device)
    reg2 = filter_reg.detach().reshape(()) ** 2
    if bool((weights == 0).all()):
        data = -sw * label_encoding  # zero filter: skip the convolution
    else:
        data = sw * (apply_filter(features, weights, k // 2) - label_encoding)
    data = data.expand(label_encoding.shape) if data.shape != label_encoding.shape else data
    iterates, losses = [weights], []
    for _ in range(num_iter):
        losses.append(_regularised_loss(data, weights, reg2))
        grad = filter_gradient(features, sw * data, weights, k // 2) + reg2 * weights
        jg = sw * apply_filter(features, grad, k // 2)
        alpha, weights = _closed_form_step(weights, grad, jg, reg2)
        data = data - alpha.view(1, -1, *([1] * (data.dim() - 2))) * jg
        iterates.append(weights)
    losses.append(_regularised_loss(data, weights, reg2))
    return weights, iterates, losses


def hinge_mask(label: torch.Tensor, threshold: float = 0.05, leak: float = 0.1) -> torch.Tensor:
    return ((label > threshold).to(label.dtype) + leak).clamp(max=1.0)


def classification_problem(
    features: torch.Tensor,
    label: torch.Tensor,
    sample_weights: torch.Tensor | None,
    filter_reg: float = 0.01,
    threshold: float = 0.05,
    leak: float = 0.1,
):
    """DiMP's hinge residual: scores pass where the label is a target, are leaky-clipped elsewhere."""
    sw_sqrt = sample_weights.sqrt() if sample_weights is not None else torch.tensor((1.0 / features.shape[0]) ** 0.5)
    m = hinge_mask(label, threshold, leak)

    def scores(kappa: torch.Tensor) -> torch.Tensor:
        return apply_filter(features, kappa, kappa.shape[-1] // 2)

    def residuals(kappa: torch.Tensor) -> list[torch.Tensor]:
        s = scores(kappa)
        activated = (1 - m) / 2 * s.abs() + (1 + m) / 2 * s
        return [sw_sqrt * (activated - m * label), filter_reg * kappa.reshape(1, kappa.shape[0], -1)]

    def jvp(kappa: torch.Tensor, g: torch.Tensor) -> list[torch.Tensor]:
        slope = (1 - m) / 2 * torch.sign(scores(kappa)) + (1 + m) / 2
        return [
            sw_sqrt * slope * apply_filter(features, g, g.shape[-1] // 2),
            filter_reg * g.reshape(1, g.shape[0], -1),
        ]

    return residuals, jvp


def hinge_steepest_descent(
    weights: torch.Tensor,
    features: torch.Tensor,
    label: torch.Tensor,
    sample_weights: torch.Tensor | None,
    filter_reg: float,
    num_iter: int,
    threshold: float = 0.05,
    leak: float = 0.1,
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """:func:`steepest_descent` on :func:`classification_problem` without autograd (inference only).

    The hinge residual is piecewise linear in the scores, so ``J^T r`` is a weight-gradient
    convolution of ``slope * r`` (``slope`` = the hinge's derivative, 0 at a zero score as autograd
    has it) and ``J g`` reuses the iteration's scores: three convolutions per step instead of
    four. The scores are recomputed from the filter every step, as the reference does.
    """
    n = features.shape[0]
    k = weights.shape[-1]
    sw = sample_weights.sqrt() if sample_weights is not None else torch.tensor((1.0 / n) ** 0.5, device=features.device)
    m = hinge_mask(label, threshold, leak)
    negative, positive = (1 - m) / 2, (1 + m) / 2
    target = m * label
    reg2 = float(filter_reg) ** 2

    def residual_and_slope(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = apply_filter(features, w, k // 2)
        return sw * (negative * s.abs() + positive * s - target), negative * torch.sign(s) + positive

    iterates, losses = [weights], []
    for _ in range(num_iter):
        data, slope = residual_and_slope(weights)
        losses.append(_regularised_loss(data, weights, reg2))
        grad = filter_gradient(features, sw * slope * data, weights, k // 2) + reg2 * weights
        jg = sw * slope * apply_filter(features, grad, k // 2)
        _, weights = _closed_form_step(weights, grad, jg, reg2)
        iterates.append(weights)
    losses.append(_regularised_loss(residual_and_slope(weights)[0], weights, reg2))
    return weights, iterates, losses
