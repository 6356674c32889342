"""RTS training: the hinge loss, the actor (docs/rts.md B.7/B.8) and both train settings end to end."""

from __future__ import annotations

import pytest
import torch

from ltr_ext.actors import RTSActor, RTSLossWeights
from ltr_ext.data.processing_utils import gaussian_label_function
from ltr_ext.models.loss.lovasz import lovasz_softmax_binary
from ltr_ext.models.loss.target_classification import lbhinge
from ltr_ext.models.rts import build_rts_small
from ltr_ext.run_training import main as run_training
from rts_batches import H, W
from rts_batches import square_batch as _batch


class _FixedNet(torch.nn.Module):
    """Returns the same mask logits and classifier scores whatever the input."""

    def __init__(self, segm, scores) -> None:
        super().__init__()
        self.outputs = (segm, scores)

    def forward(self, *args, **kwargs):
        return self.outputs


def _fixed_outputs():
    segm = torch.randn(3, 2, H, W)
    scores = [torch.randn(3, 2, H // 32 + 1, W // 32 + 1) for _ in range(6)]
    return segm, scores, _FixedNet(segm, scores)


@pytest.fixture(scope="module")
def small_net():
    torch.manual_seed(0)
    return build_rts_small(backbone="resnet18", feature_dim=16)


def test_lbhinge_penalises_only_positive_scores_on_background():
    label = torch.tensor([[0.0, 0.01, 0.5, 1.0]])
    assert lbhinge(torch.tensor([[-3.0, -1.0, 0.5, 1.0]]), label) == 0
    # background cells: relu(score)^2; target cells: (score - label)^2; mean over 4 cells
    value = lbhinge(torch.tensor([[2.0, -1.0, 0.0, 3.0]]), label)
    assert value == pytest.approx((4.0 + 0.0 + 0.25 + 4.0) / 4)


def test_actor_loss_is_ten_lovasz_plus_hundred_per_classifier_iterate():
    data = _batch()
    segm, scores, net = _fixed_outputs()
    loss, stats = RTSActor(net)(data)
    expected = 10 * lovasz_softmax_binary(
        torch.sigmoid(segm).flatten(0, 1), data["test_masks"].flatten(0, 1)
    ) + 100 * sum(lbhinge(s, data["test_label"]) for s in scores)
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    assert stats["Loss/total"] == pytest.approx(float(expected), rel=1e-5)


def test_loss_weights_scale_their_terms():
    data = _batch()
    segm, scores, net = _fixed_outputs()
    _, stats = RTSActor(net, loss_weight=RTSLossWeights(segm=1.0, test_clf=0, test_init_clf=0, test_iter_clf=0))(data)
    assert stats["Loss/total"] == pytest.approx(stats["Loss/segm"], rel=1e-6)


def test_actor_keeps_batchnorm_in_eval_mode_while_training(small_net):
    actor = RTSActor(small_net)
    actor.train(True)
    assert not any(m.training for m in small_net.modules())
    RTSActor(small_net, disable_all_bn=False).train(True)
    assert small_net.training
    small_net.eval()


def test_training_step_reaches_every_learned_part_through_the_unrolled_learners(small_net):
    small_net.zero_grad()
    loss, stats = RTSActor(small_net)(_batch())
    assert torch.isfinite(loss)
    loss.backward()
    reached = {
        name.split(".")[0] for name, p in small_net.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0
    }
    assert {"target_model", "label_encoder", "clf_encoder", "classifier", "feature_extractor", "decoder"} <= reached
    # the regulariser only enters through the steepest-descent iterates
    assert small_net.target_model.filter_reg.grad.abs().sum() > 0
    assert set(stats) >= {"Loss/segm", "Loss/clf_final", "Stats/IoU", "Stats/clf_peak_acc", "Stats/clf_peak_dist"}


def test_a_few_steps_lower_the_loss_on_one_batch(small_net):
    torch.manual_seed(1)
    net = build_rts_small(backbone="resnet18", feature_dim=16)
    actor = RTSActor(net)
    actor.train(True)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    data = _batch(seed=3)
    losses = []
    for _ in range(6):
        loss, _ = actor(data)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]


SMALL_RUN = [
    "--set",
    "backbone='resnet18'",
    "--set",
    "pretrained_backbone=False",
    "--set",
    "feature_dim=16",
    "--set",
    "samples_per_epoch=2",
    "--set",
    "val_samples_per_epoch=1",
    "--set",
    "batch_size=1",
    "--set",
    "generated_sequences=2",
    "--set",
    "generated_frames=12",
    "--set",
    "output_sz=(96,64)",
    "--set",
    "num_workers=0",
]


def test_rts_small_settings_train_on_generated_videos_and_resume(workspace, capsys):
    assert run_training(["rts", "rts_small", *SMALL_RUN, "--set", "max_epochs=1"]) == 0
    folder = workspace / "checkpoints" / "ltr" / "rts" / "rts_small"
    assert [p.name for p in folder.glob("*.pth.tar")] == ["RTSNet_ep0001.pth.tar"]
    assert run_training(["rts", "rts_small", *SMALL_RUN, "--set", "max_epochs=2"]) == 0
    assert "resuming after epoch 1" in capsys.readouterr().out
    assert (folder / "RTSNet_ep0002.pth.tar").is_file()


def test_rts_small_adds_real_clips_given_by_path(workspace, shared_dir):
    clips = shared_dir / "data" / "davis2016"
    args = [
        "rts",
        "rts_small",
        *SMALL_RUN,
        "--set",
        "max_epochs=1",
        "--set",
        f"real_clips=['{clips}']",
        "--set",
        "real_clip_sequences=['blackswan']",
        "--set",
        "real_clip_weight=100.0",
    ]
    assert run_training(args) == 0


def test_rts50_settings_name_the_missing_dataset_folder(workspace, capsys):
    assert run_training(["rts", "rts50", "--set", "max_epochs=1"]) == 2
    assert "LTR_" in capsys.readouterr().err


def test_rts50_settings_train_on_the_four_release_datasets(workspace, tmp_path, monkeypatch):
    from pytracking_ext.synthetic import generate

    roots = {
        fmt: generate(fmt, tmp_path / fmt, num_sequences=2, num_frames=12, seed=5, progress=False)
        for fmt in ("youtubevos", "davis", "got10k", "lasot")
    }
    for folder in (roots["lasot"] / "airplane").iterdir():  # generated names are LaSOT test names
        folder.rename(folder.with_name(folder.name.replace("airplane-", "airplane-10")))
    masks = tmp_path / "masks"
    (masks / "got10k_masks").mkdir(parents=True)
    (masks / "lasot_masks").mkdir()
    for name, fmt in (
        ("YOUTUBEVOS_DIR", "youtubevos"),
        ("DAVIS_DIR", "davis"),
        ("GOT10K_DIR", "got10k"),
        ("LASOT_DIR", "lasot"),
    ):
        monkeypatch.setenv(f"LTR_{name}", str(roots[fmt]))
    monkeypatch.setenv("LTR_PREGENERATED_MASKS", str(masks))
    args = [
        "rts",
        "rts50",
        "--set",
        "max_epochs=1",
        "--set",
        "samples_per_epoch=1",
        "--set",
        "batch_size=1",
        "--set",
        "num_workers=0",
        "--set",
        "output_sz=(64,32)",
    ]
    assert run_training(args) == 0
    assert (workspace / "checkpoints" / "ltr" / "rts" / "rts50" / "RTSNet_ep0001.pth.tar").is_file()


def test_cross_entropy_term_is_added_only_when_weighted():
    data = _batch()
    segm, scores, net = _fixed_outputs()
    _, plain = RTSActor(net)(data)
    _, with_bce = RTSActor(net, loss_weight=RTSLossWeights(segm_bce=2.0))(data)
    assert "Loss/segm_bce" not in plain
    bce = torch.nn.functional.binary_cross_entropy_with_logits(segm, data["test_masks"])
    assert with_bce["Loss/total"] == pytest.approx(plain["Loss/total"] + 2.0 * float(bce), rel=1e-5)


def test_small_network_scores_at_stride_16_with_clf_stride_1():
    torch.manual_seed(0)
    net = build_rts_small(backbone="resnet18", feature_dim=16, clf_stride=1)
    data = _batch(seq=1)
    data["train_label"] = gaussian_label_function(data["train_anno"], 0.05, 4, (W // 16, H // 16), (W, H)).view(
        1, 1, H // 16 + 1, W // 16 + 1
    )
    with torch.no_grad():
        _, scores = net(
            data["train_images"],
            data["test_images"],
            data["train_masks"],
            data["test_masks"],
            data["train_anno"],
            data["train_label"],
        )
    assert scores[-1].shape[-2:] == (H // 16 + 1, W // 16 + 1)


def test_export_keeps_weights_and_constructor_and_drops_the_optimiser(workspace, tmp_path, capsys):
    from ltr_ext.admin.export import main as export
    from ltr_ext.admin.loading import load_network

    assert run_training(["rts", "rts_small", *SMALL_RUN, "--set", "max_epochs=1"]) == 0
    source = workspace / "checkpoints" / "ltr" / "rts" / "rts_small" / "RTSNet_ep0001.pth.tar"
    out = tmp_path / "shipped.pth.tar"
    assert export([str(source), str(out)]) == 0
    data = torch.load(out, weights_only=True)
    assert "optimizer" not in data and data["net_info"]["train_settings"] == "rts_small"
    net, _ = load_network(out)
    trained = torch.load(source, weights_only=True)["net"]
    assert all(torch.equal(v, trained[k]) for k, v in net.state_dict().items())
    assert export([str(tmp_path / "missing.pth.tar"), str(out)]) == 2
    assert "not found" in capsys.readouterr().err


def test_lwl_parts_are_copied_strictly_and_the_rest_keeps_its_init(tmp_path):
    from ltr_ext.admin.checkpoint import save_checkpoint
    from ltr_ext.train_settings.rts import LWL_PARTS, load_lwl_parts

    torch.manual_seed(1)
    source = build_rts_small(backbone="resnet18", feature_dim=16)
    lwl = {k: v for k, v in source.state_dict().items() if k.split(".")[0] in LWL_PARTS}
    save_checkpoint(tmp_path / "lwl.pth.tar", {"net": lwl})
    torch.manual_seed(2)
    net = build_rts_small(backbone="resnet18", feature_dim=16)
    classifier_before = net.classifier.feature_extractor[0].weight.clone()
    load_lwl_parts(net, tmp_path / "lwl.pth.tar")
    assert all(torch.equal(net.state_dict()[k], v) for k, v in lwl.items())
    assert torch.equal(net.classifier.feature_extractor[0].weight, classifier_before)
    del lwl["decoder.project.conv2.bias"]
    save_checkpoint(tmp_path / "broken.pth.tar", {"net": lwl})
    with pytest.raises(Exception, match="project.conv2.bias"):
        load_lwl_parts(net, tmp_path / "broken.pth.tar")
