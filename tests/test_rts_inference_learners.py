"""Inference forms of the RTS learners: closed-form steps and the GEMM convolution equal the autograd/oneDNN ones."""

import pytest
import torch
import torch.nn.functional as F

from ltr_ext.models.rts.gemm_conv import gemm_conv2d, gemm_conv2d_weight
from ltr_ext.models.rts.optim import (
    apply_filter,
    classification_problem,
    hinge_steepest_descent,
    linear_steepest_descent,
    segmentation_problem,
    steepest_descent,
)

CASES = [(2, 8, 7, 9, 1, 4), (3, 5, 6, 6, 1, 3), (1, 4, 5, 11, 3, 3), (2, 6, 4, 4, 2, 4)]


@pytest.mark.parametrize("n, c, h, w, out_ch, k", CASES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_gemm_conv2d_equals_conv2d(n, c, h, w, out_ch, k, channels_last):
    torch.manual_seed(0)
    x, weight = torch.randn(n, c, h, w), torch.randn(out_ch, c, k, k)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(
        gemm_conv2d(x, weight, k // 2), F.conv2d(x, weight, padding=k // 2), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("n, c, h, w, out_ch, k", CASES)
def test_gemm_conv2d_weight_equals_the_convolution_weight_gradient(n, c, h, w, out_ch, k):
    torch.manual_seed(0)
    x = torch.randn(n, c, h, w)
    out_size = F.conv2d(x, torch.zeros(out_ch, c, k, k), padding=k // 2).shape
    grad_out = torch.randn(out_size)
    expected = torch.nn.grad.conv2d_weight(x, (out_ch, c, k, k), grad_out, padding=k // 2)
    torch.testing.assert_close(gemm_conv2d_weight(x, grad_out, k, k // 2), expected, rtol=1e-5, atol=1e-5)


def _classification_case(seq: int):
    torch.manual_seed(1)
    features = torch.randn(4, seq, 6, 9, 11)
    label = torch.rand(4, seq, 10, 12) ** 4  # mostly below the hinge threshold, a few target cells
    weights = torch.rand(4, 1, 1, 1) + 0.1
    return torch.randn(seq, 6, 4, 4) * 0.1, features, label, weights / weights.sum()


@pytest.mark.parametrize("seq", [1, 2])
def test_hinge_steepest_descent_equals_the_autograd_steps(seq):
    kappa, features, label, sample_weights = _classification_case(seq)
    residuals, jvp = classification_problem(features, label, sample_weights, 0.01)
    expected, expected_iterates, expected_losses = steepest_descent(kappa, residuals, jvp, 5)
    with torch.no_grad():
        ours, iterates, losses = hinge_steepest_descent(kappa, features, label, sample_weights, 0.01, 5)
    torch.testing.assert_close(ours, expected.detach(), rtol=1e-4, atol=1e-6)
    assert len(iterates) == len(expected_iterates) == 6
    torch.testing.assert_close(torch.stack(losses), torch.stack(expected_losses).detach(), rtol=1e-4, atol=1e-7)


def test_single_filter_scores_take_the_gemm_path_only_without_autograd(monkeypatch):
    import ltr_ext.models.rts.optim as optim

    calls = []
    monkeypatch.setattr(optim, "gemm_conv2d", lambda *args: calls.append(1) or gemm_conv2d(*args))
    kappa, features, _, _ = _classification_case(1)
    with torch.no_grad():
        fast = apply_filter(features, kappa, 2)
    assert len(calls) == 1
    reference = apply_filter(features, kappa, 2)
    assert len(calls) == 1
    torch.testing.assert_close(fast, reference, rtol=1e-5, atol=1e-5)


def test_linear_steepest_descent_equals_the_autograd_steps():
    torch.manual_seed(2)
    features, encoding = torch.randn(3, 1, 8, 7, 9), torch.randn(3, 1, 4, 7, 9)
    sample_weights, tau = torch.rand(3, 1, 4, 7, 9), torch.randn(1, 4, 8, 3, 3) * 0.1
    reg = torch.tensor([0.05])
    residuals, jvp = segmentation_problem(features, encoding, sample_weights, reg)
    expected, _, expected_losses = steepest_descent(tau, residuals, jvp, 4)
    with torch.no_grad():
        ours, _, losses = linear_steepest_descent(tau, features, encoding, sample_weights, reg, 4)
    torch.testing.assert_close(ours, expected.detach(), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(torch.stack(losses), torch.stack(expected_losses).detach(), rtol=1e-4, atol=1e-7)
