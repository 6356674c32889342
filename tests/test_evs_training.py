"""EVS training: the ICNet and Refiner actors, and both train settings end to end on generated CamVid."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr_ext.admin.checkpoint import read_checkpoint
from ltr_ext.run_training import main as run_training
from segmentation_plugins.evs.models import ICNetOutput, Refiner, build_icnet, cascade_loss, prepare_image
from segmentation_plugins.evs.training import ICNetActor, RefinerActor, icnet_input
from segmentation_plugins.synthetic import generate_camvid

TINY = dict(width=0.25, blocks=(1, 1, 1, 1), num_classes=4)  # actor tests: fast on two CPU cores
SIZE = (64, 48)  # (width, height) of the generated data and of the smoke runs
SMOKE = [
    "--set",
    "input_size=[64,48]",
    "--set",
    "crop_size=[64,48]",
    "--set",
    "batch_size=2",
    "--set",
    "max_epochs=1",
    "--set",
    "num_workers=0",
    "--set",
    "samples_per_epoch=2",
    "--set",
    "print_interval=1",
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def camvid_root(tmp_path_factory):
    return generate_camvid(
        tmp_path_factory.mktemp("evs") / "camvid", videos=2, frames=4, size=SIZE, seed=0, split=["train", "val"]
    )


@pytest.fixture
def camvid(workspace, camvid_root, monkeypatch):
    monkeypatch.setenv("LTR_CAMVID_DIR", str(camvid_root))
    return camvid_root


def _train(network: str, workspace, *extra: str) -> int:
    if not any(e.startswith("generated_videos=") for e in extra):
        extra = (*extra, "--set", "generated_videos=0")  # the Refiner's CamVid preset generates 8 videos
    return run_training(["evs", network, "--workspace", str(workspace), *SMOKE, *extra])


def _checkpoints(workspace, folder: str) -> list:
    return sorted((workspace / "checkpoints" / "ltr" / "evs" / folder).glob("*.pth.tar"))


# ----- settings end to end -----------------------------------------------------------------------
def test_icnet_settings_train_and_resume(camvid, workspace, capsys):
    assert _train("icnet", workspace) == 0
    (first,) = _checkpoints(workspace, "icnet_camvid_small")
    data = read_checkpoint(first, legacy=False)
    assert first.name == "ICNet_ep0001.pth.tar" and data["net_type"] == "ICNet"
    assert data["constructor"]["kwds"] == {"config": "small", "num_classes": 11}
    assert set(data["stats"]["train"]) == {"Loss/total", "Loss/1_16", "Loss/1_8", "Loss/1_4", "Stats/pixel_acc"}
    assert data["settings"]["preset"] == "camvid" and data["settings"]["optimizer"] == "adam"
    capsys.readouterr()
    # re-running with more epochs continues after epoch 1 instead of starting over
    assert _train("icnet", workspace, "--set", "max_epochs=2") == 0
    assert "resuming after epoch 1" in capsys.readouterr().out
    second = read_checkpoint(_checkpoints(workspace, "icnet_camvid_small")[-1], legacy=False)
    assert second["epoch"] == 2 and len(second["stats"]["train"]["Loss/total"]["history"]) == 2
    assert second["optimizer"]["state"]  # Adam moments carried over from epoch 1


def test_refiner_settings_train_from_the_icnet_checkpoint(camvid, workspace, capsys):
    assert _train("icnet", workspace) == 0
    icnet_path = _checkpoints(workspace, "icnet_camvid_small")[-1]
    # the generated street clips (at video rate) go through the data path as well
    assert _train("refiner", workspace, "--set", "generated_videos=1", "--set", "generated_frames=3") == 0
    (path,) = _checkpoints(workspace, "refiner_camvid_small_k1")
    data = read_checkpoint(path, legacy=False)
    assert data["net_type"] == "Refiner" and data["settings"]["icnet_source"] == str(icnet_path)
    assert {"Stats/warped_acc", "Stats/refined_acc", "Stats/inconsistent"} <= set(data["stats"]["train"])
    assert data["constructor"]["kwds"] == {"config": "small", "num_classes": 11, "uses_pwarped": False}
    capsys.readouterr()
    assert (
        _train(
            "refiner", workspace, "--set", "max_epochs=2", "--set", "generated_videos=1", "--set", "generated_frames=3"
        )
        == 0
    )
    assert "resuming after epoch 1" in capsys.readouterr().out


def test_refiner_triplets_with_pwarped_go_to_their_own_folder(camvid, workspace):
    assert _train("icnet", workspace) == 0
    assert (
        _train(
            "refiner",
            workspace,
            "--set",
            "frames_per_sample=3",
            "--set",
            "uses_pwarped=True",
            "--set",
            "train_max_frame_step=2",
        )
        == 0
    )
    assert [p.name for p in _checkpoints(workspace, "refiner_camvid_small_k2_pwarped")] == ["Refiner_ep0001.pth.tar"]


@pytest.mark.parametrize(
    "extra, message",
    [
        ((), "no ICNet checkpoint in "),
        (("--set", "icnet_checkpoint=/nonexistent/ICNet_ep0001.pth.tar"), "icnet_checkpoint /nonexistent"),
    ],
)
def test_refiner_refuses_without_an_icnet_checkpoint(camvid, workspace, capsys, extra, message):
    assert _train("refiner", workspace, *extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert not list(workspace.rglob("*.pth.tar"))


def test_refiner_refuses_an_icnet_of_another_configuration(camvid, workspace, capsys):
    assert _train("icnet", workspace, "--set", "icnet_config=standard") == 0
    path = _checkpoints(workspace, "icnet_camvid_standard")[-1]
    capsys.readouterr()
    assert _train("refiner", workspace, "--set", f"icnet_checkpoint={path}") == 2
    err = capsys.readouterr().err.strip()
    assert "not an ICNet 'small' with 11 classes" in err and "\n" not in err


def test_unknown_preset_is_a_one_line_error(camvid, workspace, capsys):
    assert _train("icnet", workspace, "--set", "preset=kitti") == 2
    err = capsys.readouterr().err.strip()
    assert "unknown EVS preset 'kitti'" in err and "camvid" in err and "cityscapes" in err and "\n" not in err


def test_cityscapes_preset_holds_the_reference_recipe(workspace):
    from ltr_ext.run_training import build_settings
    from segmentation_plugins.evs.training import apply_preset
    from segmentation_plugins.evs.training.train_settings.icnet import ICNET_PRESETS

    settings = build_settings("evs", "icnet", [("preset", "cityscapes")], str(workspace))
    apply_preset(settings, ICNET_PRESETS)
    assert (settings.icnet_config, settings.num_classes, settings.optimizer, settings.schedule) == (
        "standard",
        19,
        "sgd",
        "poly",
    )
    assert (settings.lr, settings.momentum, settings.weight_decay, settings.lr_power) == (0.01, 0.9, 1e-4, 0.9)
    assert (settings.batch_size, tuple(settings.crop_size), tuple(settings.scale_range)) == (
        16,
        (1024, 1024),
        (0.5, 2.0),
    )
    assert settings.max_epochs * (2975 // 16) >= 30000 and settings.class_weighting == "none"


# ----- actors ------------------------------------------------------------------------------------
class _FixedICNet(nn.Module):
    """Returns fixed cascade outputs and records its input."""

    def __init__(self, outputs: ICNetOutput) -> None:
        super().__init__()
        self.outputs, self.seen = outputs, None
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, image, with_aux=None):
        self.seen = image
        return self.outputs


def _hand_ce(logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean of -log softmax at the target class over the non-ignored pixels."""
    log_p = logits.log_softmax(1).permute(0, 2, 3, 1).reshape(-1, logits.shape[1])
    t = target.reshape(-1)
    valid = t != 255
    w = weights[t[valid]]
    return -(w * log_p[valid, t[valid]]).sum() / w.sum()


def test_icnet_actor_loss_is_the_weighted_cascade_of_hand_computed_cross_entropies():
    g = torch.Generator().manual_seed(0)
    label = torch.randint(0, 3, (2, 16, 16), generator=g)
    label[:, :2] = 255
    outputs = ICNetOutput(
        logits=torch.randn(2, 3, 8, 8, generator=g),
        aux=(torch.randn(2, 3, 2, 2, generator=g), torch.randn(2, 3, 4, 4, generator=g)),
    )
    weights = torch.tensor([1.0, 2.0, 0.5])
    frames = torch.randint(0, 256, (2, 1, 3, 16, 16), generator=g).float() / 255
    net = _FixedICNet(outputs)
    loss, stats = ICNetActor(net, weights)({"frames": frames, "label": label})
    # nearest downscaling of a 16x16 label to n x n reads every (16 / n)-th pixel
    terms = [
        _hand_ce(outputs.aux[0], label[:, ::8, ::8], weights),
        _hand_ce(outputs.aux[1], label[:, ::4, ::4], weights),
        _hand_ce(outputs.logits, label[:, ::2, ::2], weights),
    ]
    expected = 0.16 * terms[0] + 0.4 * terms[1] + 1.0 * terms[2]
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    assert stats["Loss/total"] == pytest.approx(float(expected.detach()), rel=1e-5)
    assert [stats["Loss/1_16"], stats["Loss/1_8"], stats["Loss/1_4"]] == pytest.approx(
        [float(t) for t in terms], rel=1e-5
    )
    up = F.interpolate(outputs.logits, size=(16, 16), mode="bilinear", align_corners=False).argmax(1)
    valid = label != 255
    assert stats["Stats/pixel_acc"] == pytest.approx(float((up == label)[valid].float().mean()))
    # the network saw what inference feeds ICNet: BGR, 0..255, mean subtracted
    rgb = (frames[1, 0] * 255).round().byte().permute(1, 2, 0).numpy()
    assert torch.allclose(net.seen[1:2], prepare_image(np.ascontiguousarray(rgb[..., ::-1])), atol=1e-4)


def test_icnet_actor_without_class_weights_equals_cascade_loss():
    torch.manual_seed(0)
    net = build_icnet(**TINY).train()
    frames = torch.rand(2, 1, 3, 64, 48)
    label = torch.randint(0, 4, (2, 64, 48))
    torch.manual_seed(1)
    loss, _ = ICNetActor(net)({"frames": frames, "label": label})
    expected = cascade_loss(net(icnet_input(frames[:, -1]), with_aux=True), label)
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)


def _refiner_actor(**kwargs):
    torch.manual_seed(0)
    icnet = build_icnet(**TINY)
    icnet.eval()
    refiner = Refiner.from_icnet(icnet).train()
    return RefinerActor(refiner, icnet, **kwargs), icnet, refiner


def _clip_batch(frames: int, flow=(0.0, 0.0)):
    g = torch.Generator().manual_seed(3)
    images = torch.randint(0, 256, (2, frames, 3, 64, 48), generator=g).float() / 255
    label = torch.randint(0, 4, (2, 64, 48), generator=g)
    label[:, :, :4] = 255
    flow_p = torch.tensor(flow).div(4).expand(2, frames - 1, 16, 12, 2).clone()
    flow_f = torch.tensor(flow).div(16).expand(2, frames - 1, 4, 3, 2).clone()
    return {"frames": images, "label": label, "flow_p": flow_p, "flow_f": flow_f}


@pytest.mark.parametrize("frames", [2, 3])
def test_refiner_actor_loss_is_the_cascade_loss_of_the_refiner_on_the_key_frame_features(frames):
    actor, icnet, refiner = _refiner_actor()
    data = _clip_batch(frames)  # zero flow: every warp is the identity
    loss, stats = actor(data)
    with torch.no_grad():
        features = icnet.low_level(icnet_input(data["frames"][:, 0]))
    expected = cascade_loss(refiner(icnet_input(data["frames"][:, -1]), features, with_aux=True), data["label"])
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    assert stats["Loss/total"] == pytest.approx(float(expected.detach()), rel=1e-5)
    assert stats["Stats/inconsistent"] == 0.0 and 0.0 <= stats["Stats/refined_acc"] <= 1.0
    with torch.no_grad():
        key_labels = icnet(icnet_input(data["frames"][:, 0]), with_aux=False).logits.argmax(1)
    valid = data["label"] != 255
    nearest = key_labels.repeat_interleave(4, 1).repeat_interleave(4, 2)
    assert stats["Stats/warped_acc"] == pytest.approx(float((nearest == data["label"])[valid].float().mean()))


def test_refiner_actor_warps_the_key_frame_features_along_the_flow():
    actor, icnet, _ = _refiner_actor()
    data = _clip_batch(2, flow=(16.0, 0.0))  # content moves one feature cell to the right
    features, probs, labels = actor.key_frame(data["frames"])
    warped = actor.propagate(features, probs, labels, data["flow_f"], data["flow_p"])
    assert torch.equal(warped["features"][..., 1:], features[..., :-1])
    assert torch.equal(warped["features"][..., 0], torch.zeros_like(features[..., 0]))  # entered from outside
    assert torch.equal(warped["probs"][..., 4:], probs[..., :-4])


def test_frozen_icnet_gets_no_gradient_and_stays_in_eval_mode():
    actor, icnet, refiner = _refiner_actor()
    actor.train(True)
    assert not icnet.training and refiner.training
    statistics = {k: v.clone() for k, v in icnet.state_dict().items()}
    loss, _ = actor(_clip_batch(2))
    loss.backward()
    assert all(p.grad is None and not p.requires_grad for p in icnet.parameters())
    assert all(p.grad is not None for p in refiner.parameters() if p.requires_grad)
    assert all(torch.equal(v, icnet.state_dict()[k]) for k, v in statistics.items())  # BN running stats too


def test_refiner_crop_after_the_warps_stays_on_the_feature_grid():
    actor, _, _ = _refiner_actor(crop=(32, 32))
    torch.manual_seed(5)
    loss, stats = actor(_clip_batch(2))
    assert torch.isfinite(loss) and stats["Loss/1_4"] > 0
    with pytest.raises(ValueError, match="multiples of 16"):
        _refiner_actor(crop=(30, 32))


def test_flow_clips_add_flows_on_both_grids_and_pickle(camvid_root):
    from segmentation_plugins.data import CamVidClips
    from segmentation_plugins.evs.training import FlowClips
    from segmentation_plugins.training import ClipTensors

    clips = FlowClips(ClipTensors(CamVidClips(camvid_root, "train", clip_length=3, max_frame_step=2)))
    sample = clips[0]
    assert sample["frames"].shape == (3, 3, 48, 64)
    assert sample["flow_p"].shape == (2, 12, 16, 2) and sample["flow_f"].shape == (2, 3, 4, 2)
    assert sample["flow_p"].abs().max() > 0  # the generated street moves
    copy = pickle.loads(pickle.dumps(clips))  # spawned loader workers get a pickled dataset: no cv2 object in it
    assert torch.equal(copy[0]["flow_p"], sample["flow_p"])


def test_refiner_loader_workers_start_after_opencv_stopped_its_threads(camvid, workspace):
    # a worker forked while OpenCV's thread pool is alive can hang in its first cv2 call
    import cv2

    from ltr_ext.run_training import build_settings
    from segmentation_plugins.evs.flow import FlowEstimator
    from segmentation_plugins.evs.training.train_settings import refiner

    assert _train("icnet", workspace) == 0
    previous = cv2.getNumThreads()
    try:
        noise = np.random.default_rng(0).integers(0, 256, (2, 352, 480), dtype=np.uint8)
        cv2.setNumThreads(2)
        FlowEstimator()(noise[0], noise[1])  # OpenCV's pool started in this process
        settings = build_settings(
            "evs",
            "refiner",
            [
                ("input_size", [64, 48]),
                ("crop_size", [64, 48]),
                ("batch_size", 2),
                ("num_workers", 1),
                ("generated_videos", 0),
            ],
            str(workspace),
        )
        _, loaders, _, _ = refiner.build(settings)
        assert cv2.getNumThreads() == 1
        batch = next(iter(loaders[0]))
        assert batch["flow_f"].shape == (2, 1, 3, 4, 2) and batch["flow_p"].shape == (2, 1, 12, 16, 2)
    finally:
        cv2.setNumThreads(previous)
