"""RTS network modules reproduce the official intermediates with seed-0 synthetic weights."""

import numpy as np
import pytest
import torch

from ltr_ext.admin.loading import load_state_dict_strict
from ltr_ext.models.backbone import resnet50_mrcnn
from ltr_ext.models.rts.features import InstanceL2Norm, feature_extractor, norm_scale
from ltr_ext.models.rts.label_encoder import label_encoder, score_encoder
from script_loading import load_script


@pytest.fixture(scope="module")
def official(shared_dir):
    module = load_script(shared_dir / "fixtures" / "synth_weights.py", "synth_weights")
    state = module.make_state_dict(str(shared_dir / "fixtures" / "rts" / "state_dict_manifest.json"), 0)
    return state, dict(np.load(shared_dir / "fixtures" / "rts" / "outputs.npz"))


def _sub(state, prefix):
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def _close(ours, ref, factor=1e-4):
    error = float((ours - torch.from_numpy(ref)).abs().max())
    assert error <= factor * np.abs(ref).max(), error


@pytest.fixture(scope="module")
def layer3(official):
    state, ref = official
    backbone = resnet50_mrcnn(["layer1", "layer2", "layer3", "layer4"])
    load_state_dict_strict(backbone, _sub(state, "feature_extractor."))
    backbone.eval()
    with torch.inference_mode():
        return {part: backbone(torch.from_numpy(ref[f"in_{part}_imgs"]).flatten(0, 1)) for part in ("train", "test")}


def test_backbone_layers_match(official, layer3):
    _, ref = official
    for part in ("train", "test"):
        for i in range(1, 5):
            _close(layer3[part][f"layer{i}"].mean((2, 3)), ref[f"dbg_{part}_backbone_layer{i}_chmean"])
    for i in range(1, 5):
        _close(layer3["test"][f"layer{i}"][:, :8], ref[f"dbg_test_backbone_layer{i}_first8ch"])


def test_segmentation_and_classifier_features_match(official, layer3):
    state, ref = official
    seg, clf = feature_extractor(), feature_extractor(stride=2)
    load_state_dict_strict(seg, _sub(state, "target_model.feature_extractor."))
    load_state_dict_strict(clf, _sub(state, "classifier.feature_extractor."))
    with torch.inference_mode():
        for part in ("train", "test"):
            x_s = seg(layer3[part]["layer3"]).view(2, 1, 512, 12, 20)
            _close(x_s[:, :, :8], ref[f"dbg_{part}_tm_feat_first8ch"])
        _close(x_s.mean((3, 4)), ref["dbg_test_tm_feat_chmean"])
        x_c = clf(layer3["test"]["layer3"]).view(2, 1, 512, 6, 10)
        _close(x_c[:, :, :8], ref["dbg_test_clf_feat_first8ch"])
        _close(x_c.mean((3, 4)), ref["dbg_test_clf_feat_chmean"])


def test_label_encoder_and_sample_weights_match(official):
    state, ref = official
    encoder = label_encoder()
    load_state_dict_strict(encoder, _sub(state, "label_encoder."))
    with torch.inference_mode():
        encoding, weights = encoder(torch.from_numpy(ref["in_train_masks"]))
    _close(encoding, ref["dbg_train_label_enc"], 1e-5)
    _close(weights, ref["dbg_train_sample_w"], 1e-5)


def test_score_encoder_keeps_the_spatial_size(official):
    state, _ = official
    encoder = score_encoder()
    load_state_dict_strict(encoder, _sub(state, "clf_encoder."))
    out = encoder(torch.rand(2, 1, 7, 11), with_weights=False)
    assert out.shape == (2, 1, 16, 7, 11) and (out >= 0).all()


def test_instance_l2_norm_fixes_each_samples_energy():
    x = torch.randn(3, 8, 5, 4) * torch.tensor([1.0, 10.0, 100.0]).view(3, 1, 1, 1)
    y = InstanceL2Norm(norm_scale())(x)
    energy = (y**2).sum((1, 2, 3))
    assert torch.allclose(energy, torch.full((3,), norm_scale() ** 2 * 8 * 5 * 4), rtol=1e-4)
