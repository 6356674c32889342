"""Lovász hinge / binary Lovász-Softmax: checked against the Lovász extension computed by integration."""

from __future__ import annotations

import pytest
import torch

from ltr_ext.models.loss.lovasz import jaccard_loss_gradient, lovasz_hinge, lovasz_softmax_binary

IGNORE = 255


# --- brute-force reference, independent of the sorting formula ---------------------------------------


def jaccard_set_loss(mispredicted: set[int], positives: set[int]) -> float:
    """Jaccard loss when exactly ``mispredicted`` is wrong: 1 - |P \\ M| / |P ∪ M| = |M| / |P ∪ M|."""
    union = positives | mispredicted
    return len(mispredicted) / len(union) if union else 0.0


def lovasz_extension_by_integration(x: list[float], positives: set[int]) -> float:
    """∫_0^max(x) f({i : x_i >= t}) dt for x >= 0, summed exactly over the constant pieces of the integrand."""
    total, previous = 0.0, 0.0
    for level in sorted({v for v in x if v > 0}):
        superlevel = {i for i, v in enumerate(x) if v >= level}
        total += (level - previous) * jaccard_set_loss(superlevel, positives)
        previous = level
    return total


def reference_hinge(logits: torch.Tensor, labels: torch.Tensor) -> float:
    errors = (1.0 - logits * (2.0 * labels - 1.0)).clamp(min=0).reshape(-1)
    return lovasz_extension_by_integration(errors.tolist(), positive_indices(labels))


def reference_softmax(probabilities: torch.Tensor, labels: torch.Tensor) -> float:
    errors = (labels - probabilities).abs().reshape(-1)
    return lovasz_extension_by_integration(errors.tolist(), positive_indices(labels))


def positive_indices(labels: torch.Tensor) -> set[int]:
    return {i for i, v in enumerate(labels.reshape(-1).tolist()) if v == 1}


# --- generated data ------------------------------------------------------------------------------------


def make_mask(shape: tuple[int, ...], seed: int, kind: str = "random") -> torch.Tensor:
    if kind == "background":
        return torch.zeros(shape, dtype=torch.float64)
    if kind == "foreground":
        return torch.ones(shape, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g, dtype=torch.float64) < 0.4).to(torch.float64)


def make_logits(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(1000 + seed)
    return 1.5 * torch.randn(shape, generator=g, dtype=torch.float64)


def make_probabilities(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(2000 + seed)
    return torch.rand(shape, generator=g, dtype=torch.float64)


CASES = [(shape, seed, "random") for shape in [(3, 4), (5, 5)] for seed in range(4)]
CASES += [(shape, 0, kind) for shape in [(3, 4), (5, 5)] for kind in ("background", "foreground")]


# --- the gradient itself -------------------------------------------------------------------------------


def test_jaccard_gradient_matches_hand_computed_example():
    # p = 2; intersections 1,1,0,0; unions 2,3,3,4; Jaccard losses 1/2, 2/3, 1, 1.
    gradient = jaccard_loss_gradient(torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64))
    expected = torch.tensor([1 / 2, 2 / 3 - 1 / 2, 1 - 2 / 3, 0.0], dtype=torch.float64)
    torch.testing.assert_close(gradient, expected)


def test_jaccard_gradient_without_positives_puts_all_weight_on_the_largest_error():
    gradient = jaccard_loss_gradient(torch.zeros(5))
    torch.testing.assert_close(gradient, torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0]))


# --- agreement with the brute-force Lovász extension --------------------------------------------------


@pytest.mark.parametrize("shape,seed,kind", CASES)
def test_hinge_equals_lovasz_extension_by_integration(shape, seed, kind):
    labels = make_mask(shape, seed, kind)
    logits = make_logits(shape, seed)
    loss = lovasz_hinge(logits[None], labels[None])
    assert loss.item() == pytest.approx(reference_hinge(logits, labels), abs=1e-5)


@pytest.mark.parametrize("shape,seed,kind", CASES)
def test_softmax_binary_equals_lovasz_extension_by_integration(shape, seed, kind):
    labels = make_mask(shape, seed, kind)
    probabilities = make_probabilities(shape, seed)
    loss = lovasz_softmax_binary(probabilities[None], labels[None])
    assert loss.item() == pytest.approx(reference_softmax(probabilities, labels), abs=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_tied_errors_give_the_lovasz_extension_whatever_the_sort_order(seed):
    g = torch.Generator().manual_seed(seed)
    labels = make_mask((4, 4), seed)
    # Few distinct values, so many pixels share an error and the sort breaks ties arbitrarily.
    probabilities = torch.randint(0, 3, (4, 4), generator=g).to(torch.float64) / 2
    logits = torch.randint(-2, 3, (4, 4), generator=g).to(torch.float64) / 2
    assert lovasz_softmax_binary(probabilities[None], labels[None]).item() == pytest.approx(
        reference_softmax(probabilities, labels), abs=1e-5
    )
    assert lovasz_hinge(logits[None], labels[None]).item() == pytest.approx(reference_hinge(logits, labels), abs=1e-5)


def test_float32_inputs_agree_with_the_reference():
    labels = make_mask((5, 5), 7)
    logits = make_logits((5, 5), 7)
    loss = lovasz_hinge(logits[None].float(), labels[None].float())
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(reference_hinge(logits.float().double(), labels), abs=1e-5)


# --- batching ------------------------------------------------------------------------------------------


def batch(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    labels = torch.stack([make_mask((4, 5), seed), make_mask((4, 5), seed + 1), make_mask((4, 5), 0, "background")])
    return labels, make_logits((3, 4, 5), seed), make_probabilities((3, 4, 5), seed)


@pytest.mark.parametrize("loss_fn", [lovasz_hinge, lovasz_softmax_binary])
def test_per_image_is_the_mean_of_single_image_losses(loss_fn):
    labels, logits, probabilities = batch(3)
    inputs = logits if loss_fn is lovasz_hinge else probabilities
    singles = [loss_fn(x[None], y[None], per_image=True) for x, y in zip(inputs, labels)]
    torch.testing.assert_close(loss_fn(inputs, labels, per_image=True), torch.stack(singles).mean())


@pytest.mark.parametrize("loss_fn", [lovasz_hinge, lovasz_softmax_binary])
def test_whole_batch_is_the_loss_of_the_flattened_batch(loss_fn):
    labels, logits, probabilities = batch(4)
    inputs = logits if loss_fn is lovasz_hinge else probabilities
    flattened = loss_fn(inputs.reshape(1, -1, 5), labels.reshape(1, -1, 5), per_image=True)
    torch.testing.assert_close(loss_fn(inputs, labels, per_image=False), flattened)


def test_softmax_binary_defaults_to_the_whole_batch():
    labels, _, probabilities = batch(5)
    torch.testing.assert_close(
        lovasz_softmax_binary(probabilities, labels), lovasz_softmax_binary(probabilities, labels, per_image=False)
    )


def test_hinge_defaults_to_per_image():
    labels, logits, _ = batch(6)
    torch.testing.assert_close(lovasz_hinge(logits, labels), lovasz_hinge(logits, labels, per_image=True))


# --- perfect predictions -------------------------------------------------------------------------------


@pytest.mark.parametrize("per_image", [True, False])
def test_hinge_is_zero_for_logits_beyond_the_margin_with_the_right_sign(per_image):
    labels, _, _ = batch(7)
    logits = 5.0 * (2.0 * labels - 1.0)
    assert lovasz_hinge(logits, labels, per_image=per_image).item() == 0.0


@pytest.mark.parametrize("per_image", [True, False])
def test_softmax_binary_is_zero_when_probabilities_equal_labels(per_image):
    labels, _, _ = batch(8)
    assert lovasz_softmax_binary(labels.clone(), labels, per_image=per_image).item() == 0.0


# --- gradients -----------------------------------------------------------------------------------------


def distinct_errors(seed: int, n: int) -> torch.Tensor:
    """Errors 0.3 apart in random order: no ties and none near a kink, so the loss is smooth there."""
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=g).to(torch.float64) * 0.3


@pytest.mark.parametrize("per_image", [True, False])
def test_hinge_gradient_passes_gradcheck(per_image):
    labels = make_mask((2, 2, 3), 11)
    errors = (distinct_errors(11, 12) - 1.65).reshape(2, 2, 3)  # -1.65 .. 1.65, never 0
    logits = ((1.0 - errors) * (2.0 * labels - 1.0)).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: lovasz_hinge(x, labels, per_image=per_image), (logits,))


@pytest.mark.parametrize("per_image", [True, False])
def test_softmax_binary_gradient_passes_gradcheck(per_image):
    labels = make_mask((2, 2, 3), 12)
    errors = (distinct_errors(12, 12) / 4 + 0.05).reshape(2, 2, 3)  # 0.05 .. 0.875, never 0
    probabilities = torch.where(labels == 1, 1.0 - errors, errors).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: lovasz_softmax_binary(x, labels, per_image=per_image), (probabilities,))


# --- ignored pixels ------------------------------------------------------------------------------------


def with_ignored_pixels(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    labels, _, _ = batch(seed)
    g = torch.Generator().manual_seed(seed)
    ignored = torch.rand(labels.shape, generator=g) < 0.3
    return labels.long().masked_fill(ignored, IGNORE), ignored


@pytest.mark.parametrize("per_image", [True, False])
@pytest.mark.parametrize("loss_fn", [lovasz_hinge, lovasz_softmax_binary])
def test_values_at_ignored_pixels_do_not_change_the_loss(loss_fn, per_image):
    labels, ignored = with_ignored_pixels(9)
    _, logits, probabilities = batch(9)
    inputs = logits if loss_fn is lovasz_hinge else probabilities
    changed = torch.where(ignored, 1.0 - inputs * 3.0, inputs)
    torch.testing.assert_close(
        loss_fn(changed, labels, per_image=per_image, ignore=IGNORE),
        loss_fn(inputs, labels, per_image=per_image, ignore=IGNORE),
    )


@pytest.mark.parametrize("loss_fn", [lovasz_hinge, lovasz_softmax_binary])
def test_ignored_pixels_are_left_out_of_the_loss(loss_fn):
    labels, ignored = with_ignored_pixels(10)
    _, logits, probabilities = batch(10)
    inputs = logits if loss_fn is lovasz_hinge else probabilities
    kept = ~ignored
    without = loss_fn(inputs[kept].reshape(1, 1, -1), labels[kept].reshape(1, 1, -1).double(), per_image=False)
    torch.testing.assert_close(loss_fn(inputs, labels, per_image=False, ignore=IGNORE), without)


@pytest.mark.parametrize("per_image", [True, False])
@pytest.mark.parametrize("loss_fn", [lovasz_hinge, lovasz_softmax_binary])
def test_all_pixels_ignored_gives_zero_that_still_backpropagates(loss_fn, per_image):
    inputs = make_probabilities((2, 3, 3), 13).requires_grad_()
    labels = torch.full((2, 3, 3), IGNORE)
    loss = loss_fn(inputs, labels, per_image=per_image, ignore=IGNORE)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(inputs.grad, torch.zeros_like(inputs))
