"""Issue 22, the thesis' own protocols and switches: EVS output upsampling and thesis scoring, LMANet
concatenation fusion and stage epochs, RTS ablation switches and their sweep."""

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from parameter.evs import OPERATING_POINTS, operating_point
from pytracking_ext.errors import PytrackingError
from pytracking_ext.trackers import TrackerParams, get_parameters
from pytracking_ext.utils.io import imread_rgb
from script_loading import load_script
from segmentation_plugins.evaluation.distance import keyframe_distances
from segmentation_plugins.evaluation.protocols import protocol_clip_length
from segmentation_plugins.evs.pipeline import PipelineConfig
from segmentation_plugins.evs.pipeline.upsampling import bilinear_labels, nearest_labels
from segmentation_plugins.registry import build_segmenter
from segmentation_plugins.run_segmentation import main
from segmentation_plugins.synthetic import generate_camvid

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# CPU-sized EVS with seeded random networks (11 CamVid classes)
TINY_EVS = ["random_weights=True", "icnet_config='small'", "use_gpu=False", "num_classes=11"]


@pytest.fixture(scope="module")
def camvid_root(tmp_path_factory):
    """One 18-frame CamVid-layout run: long enough for a clip of S = 17 frames."""
    root = tmp_path_factory.mktemp("camvid")
    return generate_camvid(root, videos=1, frames=18, size=(64, 48), seed=1, split="val")


def run_evs(root, out, point: str, *extra: str) -> dict:
    sets = [arg for value in TINY_EVS for arg in ("--set", value)]
    argv = ["evs", point, "--dataset", "camvid", "--root", str(root), "--out", str(out), "--no-progress", *sets]
    assert main([*argv, *extra]) == 0
    return json.loads((out / "results.json").read_text())


# --- EVS output upsampling (docs/evs.md §2.5) ---


def test_output_upsampling_defaults_to_bilinear_in_the_pipeline_and_every_operating_point():
    assert PipelineConfig().output_upsampling == "bilinear"
    assert "'bilinear' (default" in PipelineConfig.docs()["output_upsampling"]
    assert {operating_point(name).output_upsampling for name in OPERATING_POINTS} == {"bilinear"}


def test_default_output_is_the_argmax_of_the_bilinearly_upsampled_probabilities():
    params = operating_point("evs07")
    for key, value in (("random_weights", True), ("icnet_config", "small"), ("use_gpu", False), ("threaded", False)):
        setattr(params, key, value)
    frame = np.random.default_rng(0).integers(0, 256, (96, 192, 3), dtype=np.uint8)
    with build_segmenter("evs", params) as segmenter:
        output = next(iter(segmenter.segment_video([frame])))
    probabilities = output.probabilities
    labels = probabilities.argmax(0).to(torch.uint8).numpy()
    np.testing.assert_array_equal(output.labels, bilinear_labels(labels, probabilities, frame.shape[:2]))
    assert (output.labels != nearest_labels(labels, probabilities, frame.shape[:2])).any()  # the choice shows


# --- EVS thesis scoring protocol (thesis ch. 3, docs/evs.md §2.5) ---


def test_keyframe_distances_count_frames_since_the_last_key_frame():
    infos = [{"keyframe": False}, {"keyframe": True}, {"keyframe": False}, {"keyframe": False}, {"keyframe": True}]
    assert keyframe_distances(infos) == [None, 0, 1, 2, 0]
    assert keyframe_distances([{}, {"mode": "x"}]) == [None, None]  # methods without key frames


@pytest.mark.parametrize("point, interval", [("evs01", 1), ("evs05", 3), ("evs14", 17)])
def test_thesis_mode_scores_the_frame_s_minus_1_after_the_clips_key_frame(camvid_root, tmp_path, point, interval):
    assert OPERATING_POINTS[point].keyframe_interval == interval
    result = run_evs(camvid_root, tmp_path / "out", point, "--mode", "thesis", "--max-videos", "2")
    assert result["mode"] == "thesis" and result["clip_length"] == interval
    assert (result["scored_frames"], result["frames"]) == (2, 2 * interval)  # two clips of S frames
    assert result["keyframes"] == 2  # each clip's first frame only
    assert result["scored_by_distance"] == {str(interval - 1): 2}
    assert result["miou_by_distance"][str(interval - 1)] == pytest.approx(result["miou"])


def test_thesis_mode_clip_length_follows_s_not_the_clip_length_option(camvid_root, tmp_path):
    result = run_evs(camvid_root, tmp_path / "out", "evs05", "--mode", "thesis", "--clip-length", "7")
    assert result["clip_length"] == 3 and result["scored_frames"] == 18 - 2  # every frame with 2 predecessors
    assert result["scored_by_distance"] == {"2": 16}


def test_stream_mode_reports_miou_at_every_keyframe_distance(camvid_root, tmp_path):
    result = run_evs(camvid_root, tmp_path / "out", "evs05")
    assert result["scored_by_distance"] == {"0": 6, "1": 6, "2": 6}  # 18 frames, a key frame every 3
    assert all(0 <= value <= 100 for value in result["miou_by_distance"].values())


def test_thesis_mode_refuses_a_parameter_set_without_a_keyframe_interval():
    with pytest.raises(PytrackingError, match="--mode thesis needs a key-frame method: lite0 ") as info:
        protocol_clip_length("thesis", 4, TrackerParams(name="lite0"))
    assert "\n" not in str(info.value)
    assert protocol_clip_length("clip", 4, TrackerParams(name="lite0")) == 4


# --- LMANet fusion (thesis Table 4.3) and stage epochs (thesis 4.3.5) ---

LMANET_TINY = [
    *("--set", "input_size=(64,48)", "--set", "batch_size=2", "--set", "num_workers=0"),
    *("--set", "pretrained_backbone=False", "--set", "generated_videos=0", "--set", "memory_size=2"),
    *("--set", "window=3", "--set", "train_max_frame_step=2"),
]


@pytest.fixture(scope="module")
def camvid_train(tmp_path_factory):
    root = tmp_path_factory.mktemp("camvid_train")
    return generate_camvid(root, videos=2, frames=5, size=(64, 48), seed=3, split="train")


def train_lmanet(workspace, *extra: str, epochs: int | None = 1) -> int:
    """``run_training lmanet lite0_camvid`` at toy size; ``epochs=None``: the preset's stage epochs."""
    from ltr_ext.run_training import main as run_training

    budget = [] if epochs is None else ["--set", f"max_epochs={epochs}"]
    return run_training(["lmanet", "lite0_camvid", "--workspace", str(workspace), *LMANET_TINY, *budget, *extra])


def test_concat_fusion_feeds_the_decoder_the_same_shape_as_the_gated_fusion():
    from segmentation_plugins.lmanet import build_lmanet
    from segmentation_plugins.lmanet.models.fusion import ConcatFusion, GatedFusion

    torch.manual_seed(0)
    clip = torch.rand(1, 3, 3, 48, 64)
    shapes = {}
    for fusion, kind in (("gated", GatedFusion), ("concat", ConcatFusion)):
        net = build_lmanet("erfnet", memory_size=2, window=3, num_classes=11, fusion=fusion).eval()
        assert type(net.memory_fusion) is kind
        with torch.no_grad():
            shapes[fusion] = tuple(net.forward_clip(clip).shape)
    assert shapes["concat"] == shapes["gated"] == (1, 11, 48, 64)
    keys = build_lmanet("erfnet", memory_size=2, window=3, num_classes=11, fusion="concat").state_dict()
    assert {k.split(".")[1] for k in keys if k.startswith("memory_fusion.")} == {"bn1", "bn2"}  # no learned mixing


def test_fusion_names_are_checked():
    from segmentation_plugins.lmanet import build_lmanet
    from segmentation_plugins.lmanet.models.fusion import ConcatFusion, UnknownFusionError

    with pytest.raises(UnknownFusionError, match="unknown LMANet fusion 'sum'; known: concat, gated"):
        build_lmanet("erfnet", memory_size=2, window=3, num_classes=11, fusion="sum")
    with pytest.raises(ValueError, match="decoder reads 2048: use fusion='gated'"):
        ConcatFusion(2048, 2048)  # PSPNet: its pyramid pooling reads 2048 channels


def test_concat_fusion_trains_a_stage_and_its_checkpoint_rebuilds_the_concat_fusion(
    camvid_train, workspace, monkeypatch
):
    from ltr_ext.admin.checkpoint import latest_checkpoint
    from ltr_ext.admin.loading import load_network
    from segmentation_plugins.lmanet.models.fusion import ConcatFusion

    monkeypatch.setenv("LTR_CAMVID_DIR", str(camvid_train))
    assert train_lmanet(workspace) == 0
    assert train_lmanet(workspace, "--set", "stage=1", "--set", "fusion='concat'") == 0
    folder = workspace / "checkpoints" / "ltr" / "lmanet"
    assert latest_checkpoint(folder / "lite0_camvid_stage1_S2_P3") is None  # the gated run's folder stays free
    path = latest_checkpoint(folder / "lite0_camvid_stage1_S2_P3_concat")
    net, _ = load_network(path)  # rebuilt from the checkpoint's constructor record, loaded strictly
    assert type(net.memory_fusion) is ConcatFusion
    fresh = ConcatFusion(64, 128)
    assert not torch.equal(net.memory_fusion.bn1.weight, fresh.bn1.weight)  # one epoch of steps moved it


def test_cityscapes_presets_train_stage_1_for_the_thesis_20_to_50_epochs():
    from segmentation_plugins.lmanet.training.presets import PRESETS

    for name in ("erfnet_cityscapes", "pspnet_cityscapes"):
        assert 20 <= PRESETS[name]["stage1_epochs"] <= 50 < PRESETS[name]["stage2_epochs"], name
    small = PRESETS["lite0_camvid"]
    assert small["single_epochs"] == small["stage1_epochs"] == small["stage2_epochs"] == 20


def test_each_stage_trains_its_own_epoch_count_unless_max_epochs_is_set(camvid_train, workspace, monkeypatch):
    import segmentation_plugins.lmanet.training.recipe as recipe

    epochs = []

    class Recorder:  # the trainer, minus the training: records the epochs it was asked for
        def __init__(self, *args, **kwargs):
            pass

        def train(self, max_epochs):
            epochs.append(max_epochs)

    monkeypatch.setenv("LTR_CAMVID_DIR", str(camvid_train))
    assert train_lmanet(workspace) == 0  # a real single-frame checkpoint for stage 1 to start from
    monkeypatch.setattr(recipe, "LTRTrainer", Recorder)
    assert train_lmanet(workspace, "--set", "single_epochs=5", epochs=None) == 0
    assert train_lmanet(workspace, "--set", "stage=1", "--set", "stage1_epochs=7", epochs=None) == 0
    assert train_lmanet(workspace, "--set", "stage=1", "--set", "stage1_epochs=7", epochs=3) == 0
    assert epochs == [5, 7, 3]


# --- RTS ablation switches (thesis Tables 5.1, 5.2, 5.9) ---


def _rts_batch(seed: int = 0) -> dict[str, torch.Tensor]:
    """Frames-first RTS training batch (1 train + 2 test frames, 2 sequences) of a square on noise."""
    from rts_batches import square_batch

    return square_batch(seq=2, n_test=2, seed=seed)


def _masks(net, batch) -> torch.Tensor:
    with torch.no_grad():
        masks, _ = net(
            *(batch[k] for k in ("train_images", "test_images", "train_masks", "test_masks")),
            batch["train_anno"],
            batch["train_label"],
        )
    return masks


@pytest.mark.parametrize("conditioning", [True, False])
def test_without_instance_conditioning_the_masks_ignore_the_instance_scores(conditioning):
    from ltr_ext.models.rts import build_rts_small

    torch.manual_seed(0)
    net = build_rts_small(backbone="resnet18", feature_dim=16, instance_conditioning=conditioning).eval()
    batch = _rts_batch()
    before = _masks(net, batch)
    with torch.no_grad():
        for p in net.clf_encoder.parameters():  # another score encoder: other instance input to the decoder
            p.add_(torch.randn_like(p))
    assert torch.equal(before, _masks(net, batch)) is not conditioning


def test_instance_conditioning_switch_is_recorded_for_the_checkpoint():
    from ltr_ext.models.rts import build_rts_small

    net = build_rts_small(backbone="resnet18", feature_dim=16)
    assert net.instance_conditioning  # the release's network by default
    net.set_instance_conditioning(False)
    assert net.instance_conditioning is False
    assert net.constructor.get().instance_conditioning is False  # what load_network rebuilds


def test_eta_10_gives_the_release_loss_weights_and_eq_5_4_averages_over_n_iter():
    from ltr_ext.actors import RTSLossWeights

    assert RTSLossWeights.from_eta(10.0, iterates=6) == RTSLossWeights()  # 10 Lovasz + 100 per iterate
    literal = RTSLossWeights.from_eta(10.0, iterates=6, average_iterates=True)
    assert (literal.test_init_clf, literal.test_iter_clf, literal.test_clf) == (20.0, 80.0, 20.0)  # 100 / N_iter
    none = RTSLossWeights.from_eta(0.0, iterates=6)
    assert none.segm == 10.0 and none.test_init_clf == none.test_iter_clf == none.test_clf == 0.0
    with pytest.raises(ValueError, match="eta must be >= 0"):
        RTSLossWeights.from_eta(-1.0, iterates=6)


def test_train_settings_turn_eta_into_loss_weights():
    from types import SimpleNamespace

    from ltr_ext.models.rts import build_rts_small
    from ltr_ext.train_settings.rts._recipe import ABLATION_DEFAULTS, loss_weights

    net = build_rts_small(backbone="resnet18", feature_dim=16)
    release = loss_weights(SimpleNamespace(segm_bce_weight=0.0), net)  # settings without the new keys
    assert release == loss_weights(SimpleNamespace(segm_bce_weight=0.0, **ABLATION_DEFAULTS), net)
    assert (release.test_clf, release.test_iter_clf) == (100.0, 400.0)
    small = loss_weights(SimpleNamespace(segm_bce_weight=10.0, clf_loss_eta=0.4), net)
    assert (small.test_clf, small.test_iter_clf, small.segm_bce) == pytest.approx((4.0, 16.0, 10.0))


def test_training_without_conditioning_trains_and_records_an_unconditioned_network(monkeypatch):
    from types import SimpleNamespace

    import ltr_ext.train_settings.rts._recipe as recipe
    from ltr_ext.models.rts import build_rts_small

    trained = []

    class Recorder:  # the trainer, minus the epochs: keeps what it was given
        def __init__(self, actor, loaders, optimizer, settings, scheduler):
            trained.append(actor)

        def train(self, max_epochs):
            pass

    monkeypatch.setattr(recipe, "LTRTrainer", Recorder)
    net = build_rts_small(backbone="resnet18", feature_dim=16)
    settings = SimpleNamespace(
        segm_bce_weight=0.0, num_refinement_iter=2, lr_milestones=(5,), max_epochs=1, instance_conditioning=False
    )
    recipe.train(settings, net, [], recipe.parameter_groups(net, 1e-4, 1e-3, 1e-3))
    actor = trained[0]
    assert actor.net is net and net.instance_conditioning is False
    assert net.constructor.kwds["instance_conditioning"] is False  # what its checkpoints record
    loss, _ = actor(_rts_batch())  # one step of the unconditioned network trains
    loss.backward()
    assert next(net.decoder.parameters()).grad is not None
    assert all(p.grad is None for p in net.clf_encoder.parameters())  # the score encoder is out of the loop


SWEEP = Path(__file__).resolve().parents[1] / "benchmarks" / "rts_ablation_sweep.py"


def test_ablation_sweep_smoke_run_writes_one_table(tmp_path):
    out = tmp_path / "table.md"
    command = [sys.executable, str(SWEEP), "--frames", "5", "--sequences", "1", "--davis", "", "--generated", "1"]
    command += ["--rows", "release", "no_conditioning_inference", "--thresholds", "0.03", "--threads", "1"]
    done = subprocess.run(command + ["--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[0].strip("| ") for row in rows] == ["release", "no_conditioning_inference", "t_sc=0.03"]
    assert all("generated 1 x 5" in row for row in rows)
    # the last column: the share of frames per update case, 4 frames after the first
    assert all(row.rstrip(" |").split(" | ")[-1].endswith("%") for row in rows)


def test_ablation_sweep_scores_each_seed_as_its_own_data_set(tmp_path):
    out = tmp_path / "table.md"
    command = [sys.executable, str(SWEEP), "--frames", "3", "--sequences", "1", "--davis", "", "--generated", "1"]
    command += ["--rows", "release", "--seed", "3", "4", "--threads", "1", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line for line in out.read_text().splitlines() if line.startswith("| release ")]
    assert [row.split(" | ")[2] for row in rows] == ["generated 1 x 3, seed 3", "generated 1 x 3, seed 4"]


def _quality_module():
    return load_script(SWEEP.parent / "rts_small_quality.py", "rts_small_quality")


class _CaseTracker:
    def __init__(self, cases):
        self.cases, self.diagnostics = iter(cases), {}

    def step(self):
        self.diagnostics = {"update_case": next(self.cases)}


def test_quality_benchmark_counts_each_objects_update_case_per_frame():
    quality = _quality_module()
    one, two = _CaseTracker(["both_ok_use_seg_box", "clf_lost_seg_ok_no_update"]), _CaseTracker(["x", "x"])
    wrapper = type("Wrapper", (), {"trackers": {"1": one, "2": two}})()
    counts = Counter()
    count = quality.case_counter(wrapper, counts)
    for index in range(2):
        one.step(), two.step()
        count(index, None, {})
    assert counts == Counter({"x": 2, "both_ok_use_seg_box": 1, "clf_lost_seg_ok_no_update": 1})
    assert quality.case_fractions(counts) == "x 50%, both_ok_use_seg_box 25%, clf_lost_seg_ok_no_update 25%"


def test_quality_benchmark_counts_the_instance_flags_beside_the_cases():
    quality = _quality_module()
    tracker = _CaseTracker([None])
    tracker.diagnostics = {"update_case": "both_ok_use_seg_box", "clf_flag": "hard_negative"}
    wrapper = type("Wrapper", (), {"trackers": {"1": tracker}})()
    cases, flags = Counter(), Counter()
    quality.chained(quality.case_counter(wrapper, cases), quality.case_counter(wrapper, flags, "clf_flag"))(0, None, {})
    assert cases == Counter({"both_ok_use_seg_box": 1}) and flags == Counter({"hard_negative": 1})


def test_quality_benchmark_sets_the_crop_of_rts_parameter_sets_only():
    quality = _quality_module()
    assert quality.crop_size("288x160") == (288, 160)
    with pytest.raises(argparse.ArgumentTypeError, match="multiples of 32"):
        quality.crop_size("300x160")
    params = get_parameters("rts", "rts_small")
    quality.set_crop((288, 160))(params)
    assert tuple(params.image_sample_size) == (160, 288) and tuple(params.clf_image_sample_size) == (160, 288)
    other = TrackerParams(debug=0)
    quality.set_crop((288, 160))(other)
    assert not other.has("image_sample_size")


def test_quality_benchmark_scores_one_pair_of_generated_sets_per_seed(tmp_path):
    quality = _quality_module()
    sets = quality.benchmark_sets(None, 1, 3, (5, 6), 1, tmp_path)
    assert list(sets) == [
        "generated 1 x 3, seed 5",
        "generated with 1 look-alike distractors, 1 x 3, seed 5",
        "generated 1 x 3, seed 6",
        "generated with 1 look-alike distractors, 1 x 3, seed 6",
    ]
    first_frames = [imread_rgb(seqs[0].frames[0]) for seqs in sets.values()]
    assert not np.array_equal(first_frames[0], first_frames[2])  # the seeds give other videos


def test_quality_benchmark_tells_drift_from_loss():
    quality = _quality_module()
    gt = np.zeros((10, 10), bool)
    gt[2:5, 2:5] = True
    elsewhere = np.zeros_like(gt)
    elsewhere[6:9, 6:9] = True
    assert quality.mask_outcome(elsewhere, gt) == "drifted"
    assert quality.mask_outcome(np.zeros_like(gt), gt) == "lost"
    assert quality.mask_outcome(gt | elsewhere, gt) == "on_target"  # half on the target
    assert quality.mask_outcome(elsewhere, np.zeros_like(gt)) is None  # target not visible: not scored


def test_quality_benchmark_traces_a_sequence_frame_by_frame():
    quality = _quality_module()
    tracker = _CaseTracker([None])
    tracker.diagnostics = {"update_case": "clf_lost_seg_ok_no_update", "clf_flag": "not_found"}
    decisions = {}
    quality.decision_log(tracker, decisions)(3, None, {})
    lines = quality.trace_lines("moto", [(3, 0.456, 1000, 400), (4, 0.0, 50, 0)], decisions)
    assert lines == [
        "moto frame 3: J 0.46, target 1000 px, mask 400 px, clf_lost_seg_ok_no_update, not_found",
        "moto frame 4: J 0.00, target 50 px, mask 0 px, None, None",
    ]


def test_quality_benchmark_sets_rts_parameters_and_names_an_unknown_one():
    quality = _quality_module()
    params = get_parameters("rts", "rts_small")
    quality.set_values([("strict_force_seg", False)])(params)
    assert params.strict_force_seg is False
    with pytest.raises(SystemExit, match="'no_such_key' is not a parameter"):
        quality.set_values([("no_such_key", 1)])(get_parameters("rts", "rts_small"))
    other = TrackerParams(debug=0)
    quality.set_values([("strict_force_seg", False)])(other)
    assert not other.has("strict_force_seg")


def test_quality_benchmark_reports_no_cases_for_trackers_without_them():
    quality = _quality_module()
    counts = Counter()
    quality.case_counter(object(), counts)(0, None, {})
    assert quality.case_fractions(counts) == "-"


def test_ablation_sweep_names_a_missing_trained_network(tmp_path):
    command = [sys.executable, str(SWEEP), "--trained", f"eta0={tmp_path / 'none.pth'}", "--generated", "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("error: --trained eta0: network file")


@pytest.mark.parametrize("override", [{"clf_loss_eta": 0}, {"clf_loss_eta": 0.4}, {"instance_conditioning": False}])
def test_ablation_settings_once_declared_accept_their_overrides(override):
    from ltr_ext.admin.settings import Settings
    from ltr_ext.train_settings.rts._recipe import ABLATION_DEFAULTS

    settings = Settings(**override)
    with settings.declaring():
        settings.defaults(**ABLATION_DEFAULTS)  # the line each RTS settings module adds (issue 22 report)
        settings.check_overrides()
    assert {key: getattr(settings, key) for key in override} == override
