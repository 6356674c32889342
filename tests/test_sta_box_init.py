"""RTS box-only initialisation with the release's STA network (docs/rts.md C.10): key layout, strict
loading of official-style checkpoints, the forward's outputs, and the crop/paste/threshold rules."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from ltr_ext.admin.checkpoint import CheckpointError, save_checkpoint
from ltr_ext.admin.loading import StateDictMismatch, load_network
from ltr_ext.models.rts.sta_net import (
    OFFICIAL_STA_CONSTRUCTOR,
    STANet,
    build_sta_net,
)
from pytracking_ext.trackers.params import TrackerParams
from pytracking_ext.trackers.rts.box_init import BoxInitError, box_to_mask, sta_mask

OFFICIAL_MODULE, OFFICIAL_NAME = OFFICIAL_STA_CONSTRUCTOR.rsplit(".", 1)
# what a training script for sta.pth.tar would pass (RTS's box-init branch settings; docs/rts.md C.10)
RECORD_KWDS = {
    "filter_size": 3,
    "num_filters": 16,
    "optim_iter": 5,
    "backbone_pretrained": True,
    "out_feature_dim": 512,
    "frozen_backbone_layers": ["conv1", "bn1", "layer1"],
    "label_encoder_dims": (16, 32, 64, 128),
    "use_bn_in_label_enc": False,
    "clf_feat_blocks": 0,
    "final_conv": True,
    "backbone_type": "mrcnn",
}
SMALL_PATCH = (48, 80)  # the release crops 480 x 832; a ResNet-50 at that size is too slow for a unit test


def _record() -> dict:
    return {"fun_module": OFFICIAL_MODULE, "fun_name": OFFICIAL_NAME, "args": [], "kwds": dict(RECORD_KWDS)}


@pytest.fixture(scope="module")
def synthetic_state() -> dict[str, torch.Tensor]:
    """Weights with the official key layout: our constructor's state dict, distinct random values."""
    torch.manual_seed(0)
    net = build_sta_net()
    generator = torch.Generator().manual_seed(1)
    return {
        k: torch.rand(v.shape, generator=generator) if v.is_floating_point() else v.clone()
        for k, v in net.state_dict().items()
    }


@pytest.fixture(scope="module")
def sta_file(synthetic_state, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sta") / "sta.safetensors"
    return save_checkpoint(path, {"net": synthetic_state, "constructor": _record()})


def _save_ltr_pickle(path: Path, state: dict[str, torch.Tensor], monkeypatch) -> Path:
    """Write a file as LTR's trainer does: the record is an ``ltr.admin.model_constructor.NetConstructor``
    object (a stand-in class under that name, gone again before the file is read)."""
    names = ["ltr", "ltr.admin", "ltr.admin.model_constructor"]
    for name in names:
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    cls = type("NetConstructor", (), {"__module__": names[-1], "__qualname__": "NetConstructor"})
    sys.modules[names[-1]].NetConstructor = cls
    record = cls()
    record.fun_module, record.fun_name, record.args, record.kwds = OFFICIAL_MODULE, OFFICIAL_NAME, (), RECORD_KWDS
    torch.save({"epoch": 50, "net_type": "STANet", "net": state, "constructor": record}, path)
    for name in names:
        monkeypatch.delitem(sys.modules, name)
    return path


def test_ltr_pickle_with_official_sta_record_loads_strictly(synthetic_state, tmp_path, monkeypatch):
    path = _save_ltr_pickle(tmp_path / "STANet_ep0050.pth.tar", synthetic_state, monkeypatch)
    net, data = load_network(path)
    assert isinstance(net, STANet) and data["epoch"] == 50
    assert net.constructor.name == OFFICIAL_STA_CONSTRUCTOR
    loaded = net.state_dict()
    assert set(loaded) == set(synthetic_state)
    key = "label_encoder.res3.conv1.weight"
    assert torch.equal(loaded[key], synthetic_state[key])


def test_safetensors_with_official_sta_record_loads_strictly(synthetic_state, sta_file):
    net, _ = load_network(sta_file)
    key = "target_model_segm.filter_optimizer.residual_module.filter_reg"
    assert isinstance(net, STANet) and torch.equal(net.state_dict()[key], synthetic_state[key])


def test_renamed_key_fails_naming_it(synthetic_state, tmp_path):
    state = dict(synthetic_state)
    state["box_label_encoder.res3.conv1.weight"] = state.pop("label_encoder.res3.conv1.weight")
    path = save_checkpoint(tmp_path / "renamed.safetensors", {"net": state, "constructor": _record()})
    with pytest.raises(StateDictMismatch) as info:
        load_network(path)
    assert info.value.missing == ["label_encoder.res3.conv1.weight"]
    assert info.value.unexpected == ["box_label_encoder.res3.conv1.weight"]
    assert "\n" not in str(info.value)


def test_missing_key_fails_naming_it(synthetic_state, tmp_path):
    state = dict(synthetic_state)
    del state["target_model_segm.filter_optimizer.residual_module.filter_reg"]
    path = save_checkpoint(tmp_path / "missing.safetensors", {"net": state, "constructor": _record()})
    with pytest.raises(StateDictMismatch, match=r"missing keys \(1\): target_model_segm\.filter_optimizer"):
        load_network(path)


def test_record_of_an_unsupported_sta_architecture_is_refused_naming_the_argument(tmp_path):
    record = {**_record(), "kwds": {**RECORD_KWDS, "backbone_type": "imagenet"}}
    path = save_checkpoint(tmp_path / "other.pth.tar", {"net": {}, "constructor": record})
    with pytest.raises(CheckpointError, match=r"other\.pth\.tar: .*backbone_type='imagenet'") as info:
        load_network(path)
    assert "\n" not in str(info.value)


def test_forward_gives_coarse_and_refined_masks_at_patch_size(synthetic_state):
    net = build_sta_net().eval()
    images = torch.rand(1, 1, 3, *SMALL_PATCH) * 255
    boxes = torch.tensor([[[20.0, 12.0, 30.0, 20.0]]])
    with torch.no_grad():
        coarse, refined = net(images, boxes)
    assert coarse.shape == refined.shape == (1, 1, *SMALL_PATCH)
    assert torch.isfinite(refined).all() and not torch.equal(coarse, refined)


class _StubSTA(nn.Module):
    """Returns the given (coarse, refined) score functions of the box it receives; records its inputs."""

    def __init__(self, coarse, refined) -> None:
        super().__init__()
        self.coarse, self.refined, self.calls = coarse, refined, []

    def forward(self, images, boxes):
        self.calls.append((images.shape, boxes.clone()))
        self.images = images.clone()
        return self.coarse(images, boxes), self.refined(images, boxes)


def _constant(value):
    return lambda images, boxes: torch.full((1, 1, *images.shape[-2:]), value)


def _inside_box(images, boxes):
    """+10 inside ``boxes[0, 0]`` (x, y, w, h in crop pixels), -10 elsewhere."""
    x, y, w, h = boxes[0, 0].tolist()
    rows = torch.arange(images.shape[-2], dtype=torch.float32)[:, None]
    cols = torch.arange(images.shape[-1], dtype=torch.float32)[None, :]
    inside = (rows >= y) & (rows < y + h) & (cols >= x) & (cols < x + w)
    return torch.where(inside, 10.0, -10.0)[None, None]


def _image(height=120, width=160) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)


def test_sta_mask_uses_the_refined_output_and_is_zero_outside_the_box():
    net = _StubSTA(coarse=_constant(-10.0), refined=_constant(10.0))
    box = [30.7, 20.2, 50.9, 40.5]
    mask = sta_mask(net, _image(), box, sample_size=SMALL_PATCH)
    expected = np.zeros((120, 160), np.uint8)
    expected[20:60, 30:80] = 1  # the release truncates: x0 = int(x), x1 = x0 + int(w)
    np.testing.assert_array_equal(mask, expected)
    ((shape, _),) = net.calls
    assert tuple(shape) == (1, 1, 3, *SMALL_PATCH)


def test_sta_mask_ignores_the_coarse_output():
    net = _StubSTA(coarse=_constant(10.0), refined=_constant(-10.0))
    assert not sta_mask(net, _image(), [30.0, 20.0, 50.0, 40.0], sample_size=SMALL_PATCH).any()


def test_sta_mask_feeds_the_release_raw_rgb_patch_unless_told_to_normalise():
    image = np.empty((120, 160, 3), np.uint8)
    image[:] = (10, 20, 30)
    net = _StubSTA(coarse=_constant(0.0), refined=_constant(1.0))
    sta_mask(net, image, [30.0, 20.0, 50.0, 40.0], sample_size=SMALL_PATCH)
    assert net.images[0, 0, :, 5, 7].tolist() == [10.0, 20.0, 30.0]  # RGB 0-255, no mean removed
    sta_mask(net, image, [30.0, 20.0, 50.0, 40.0], sample_size=SMALL_PATCH, preprocess=lambda x: x.flip(1) - 5)
    assert net.images[0, 0, :, 5, 7].tolist() == [25.0, 15.0, 5.0]


def test_sta_box_in_crop_maps_back_onto_the_image_box():
    # the release's crop size (a stub network, so cheap): scores inside the crop box cover the image box
    net = _StubSTA(coarse=_constant(0.0), refined=_inside_box)
    box = [40.0, 30.0, 60.0, 30.0]
    mask = sta_mask(net, _image(), box)
    ((shape, crop_box),) = net.calls
    assert tuple(shape[-2:]) == (480, 832)
    # the crop's area is prod(4 * box size): the box covers a sixteenth of it
    assert float(crop_box[0, 0, 2] * crop_box[0, 0, 3]) == pytest.approx(480 * 832 / 16, rel=0.01)
    ys, xs = np.nonzero(mask)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (40, 99, 30, 59)


def test_sta_without_sta_net_parameter_is_a_one_line_error():
    with pytest.raises(BoxInitError, match=r"box_init_method='sta' needs the parameter sta_net: .*sta\.pth\.tar") as e:
        box_to_mask(_image(), [30.0, 20.0, 50.0, 40.0], "sta", TrackerParams(use_gpu=False))
    assert "\n" not in str(e.value) and "RTS (Box)" in str(e.value)


def test_sta_with_a_missing_file_names_the_parameter_and_the_source(tmp_path):
    params = TrackerParams(use_gpu=False, sta_net=str(tmp_path / "sta.pth.tar"))
    with pytest.raises(BoxInitError, match=r"parameter sta_net: .*sta\.pth\.tar: STA weights not found") as e:
        box_to_mask(_image(), [30.0, 20.0, 50.0, 40.0], "sta", params)
    assert "\n" not in str(e.value) and "model zoo" in str(e.value)


def test_sta_method_loads_the_sta_net_file_and_masks_inside_the_box(sta_file):
    params = TrackerParams(use_gpu=False, sta_net=str(sta_file), sta_image_sample_size=SMALL_PATCH)
    box = [30.0, 20.0, 50.0, 40.0]
    mask = box_to_mask(_image(), box, "sta", params)
    assert mask.dtype == np.uint8 and mask.shape == (120, 160)
    outside = np.ones_like(mask, dtype=bool)
    outside[20:60, 30:80] = False
    assert not mask[outside].any()
