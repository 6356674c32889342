"""The rts50 network: official state-dict layout, training-style forward parity, PrRoIPool."""

import json

import numpy as np
import pytest
import torch

from ltr_ext.admin.loading import load_network, load_state_dict_strict
from ltr_ext.models.rts import build_rts50
from ltr_ext.models.rts.prroi_pool import prroi_pool2d
from script_loading import load_script


@pytest.fixture(scope="module")
def official(shared_dir):
    folder = shared_dir / "fixtures" / "rts"
    module = load_script(shared_dir / "fixtures" / "synth_weights.py", "synth_weights")
    state = module.make_state_dict(str(folder / "state_dict_manifest.json"), 0)
    net = build_rts50()
    load_state_dict_strict(net, state)
    net.eval()
    manifest = json.loads((folder / "state_dict_manifest.json").read_text())["entries"]
    return net, state, manifest, dict(np.load(folder / "outputs.npz"))


def _close(ours, ref, factor):
    error = float((ours.detach() - torch.from_numpy(ref)).abs().max())
    assert error <= factor * np.abs(ref).max(), error


def _inputs(ref):
    names = ("train_imgs", "test_imgs", "train_masks", "test_masks", "train_bb", "train_label", "test_label")
    return [torch.from_numpy(ref[f"in_{n}"]) for n in names]


def test_state_dict_has_the_official_names_shapes_and_order(official):
    net, _, manifest, _ = official
    state = net.state_dict()
    assert list(state) == [e["name"] for e in manifest]
    assert all(list(state[e["name"]].shape) == e["shape"] for e in manifest)


def test_training_forward_reproduces_masks_and_all_classifier_iterates(official):
    net, _, _, ref = official
    with torch.no_grad():
        masks, scores = net(*_inputs(ref), num_refinement_iter=2)
    _close(masks, ref["out_mask_pred"], 1e-3)
    _close(torch.stack(scores), ref["out_clf_scores_all_iters"], 1e-3)
    decided = np.abs(ref["out_mask_pred"]) > 1e-3 * np.abs(ref["out_mask_pred"]).max()
    assert np.array_equal((masks.numpy() > 0)[decided], (ref["out_mask_pred"] > 0)[decided])


def test_learners_and_encoders_match_the_official_intermediates(official):
    net, _, _, ref = official
    train_imgs, test_imgs, train_masks, _, train_bb, _, _ = _inputs(ref)
    with torch.no_grad():
        layer3 = net.extract_backbone_features(train_imgs.flatten(0, 1))["layer3"]
        xc = net.extract_classification_feat(layer3).view(2, 1, 512, 6, 10)
        _close(net.classifier.filter_initializer(xc, train_bb), ref["dbg_clf_filter_init"], 1e-4)
        xs = net.extract_target_model_features(layer3).view(2, 1, 512, 12, 20)
        tau, _, losses = net.learn_segmentation_filter(xs, train_masks)
        _close(tau, ref["dbg_seg_filter_after_init_opt"], 1e-3)
        _close(torch.stack(losses), ref["dbg_seg_filter_init_opt_losses"], 1e-3)
        scores = torch.from_numpy(ref["out_clf_scores_all_iters"][-1])
        _close(net.clf_encoder(scores, with_weights=False), ref["dbg_encoded_clf_scores"], 1e-3)


def test_build_rts50_records_its_constructor_for_load_network(tmp_path, official):
    net, state, _, _ = official
    from ltr_ext.admin.checkpoint import save_checkpoint

    save_checkpoint(
        tmp_path / "RTSNet_ep0001.pth.tar",
        {"net": state, "constructor": build_rts50().constructor.to_dict(), "net_type": "RTSNet", "epoch": 1},
    )
    loaded, _ = load_network(tmp_path, clf_filter_size=4, fusion_type="add", backbone_pretrained=False)
    assert type(loaded).__name__ == "RTSNet"
    bare = tmp_path / "rts50.pth"
    torch.save(state, bare)
    assert type(load_network(bare, constructor=build_rts50)[0]).__name__ == "RTSNet"


def _brute_force_prroi(feature, roi, size, scale, samples=400):
    """Numerical integration of the bilinear interpolant (midpoint rule) over each bin."""
    h, w = feature.shape
    x0, y0, x1, y1 = (v * scale for v in roi)
    ph, pw = size
    out = np.zeros(size)
    for p in range(ph):
        for q in range(pw):
            ys = y0 + (y1 - y0) / ph * (p + (np.arange(samples) + 0.5) / samples)
            xs = x0 + (x1 - x0) / pw * (q + (np.arange(samples) + 0.5) / samples)
            wy = np.maximum(0, 1 - np.abs(ys[:, None] - np.arange(h)[None]))
            wx = np.maximum(0, 1 - np.abs(xs[:, None] - np.arange(w)[None]))
            out[p, q] = (wy @ feature @ wx.T).mean()
    return out


@pytest.mark.parametrize(
    "roi", [(2.0, 3.0, 20.0, 17.0), (-6.0, -4.0, 9.0, 7.0), (30.0, 25.0, 60.0, 50.0), (10.0, 10.0, 10.5, 10.4)]
)
def test_prroi_pool_is_the_exact_bin_integral(roi):
    feature = torch.randn(1, 1, 6, 8, dtype=torch.float64)
    ours = prroi_pool2d(feature, torch.tensor([[0.0, *roi]], dtype=torch.float64), (3, 2), 0.25)[0, 0]
    expected = _brute_force_prroi(feature[0, 0].numpy(), roi, (3, 2), 0.25)
    assert np.allclose(ours.numpy(), expected, atol=1e-4)


def test_prroi_pool_is_differentiable_and_zero_for_empty_rois():
    feature = torch.randn(2, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[1.0, 0.5, 0.5, 3.5, 4.0], [0.0, 2.0, 2.0, 2.0, 3.0]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda f: prroi_pool2d(f, rois, (2, 2), 1.0), (feature,))
    assert (prroi_pool2d(feature, rois, (2, 2), 1.0)[1] == 0).all()
