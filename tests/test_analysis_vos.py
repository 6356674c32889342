"""J and F (DAVIS definitions) on hand-made masks, and against ``vos-benchmark``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pytracking_ext.analysis import vos_metrics as vm
from pytracking_ext.analysis.evaluate import evaluate_vos, group_specs, object_first_positions
from pytracking_ext.analysis.vos_categories import load_categories
from pytracking_ext.evaluation.data import Sequence
from pytracking_ext.evaluation.tracker_spec import trackerlist
from pytracking_ext.settings import env_settings
from pytracking_ext.utils.io import atomic_write_text, imwrite_indexed

H, W = 48, 64


def square(y, x, size, shape=(H, W)):
    mask = np.zeros(shape, bool)
    mask[y : y + size, x : x + size] = True
    return mask


def test_region_similarity_is_one_when_both_masks_are_empty():
    empty = np.zeros((H, W), bool)
    assert vm.region_similarity(empty, empty) == 1.0


def test_region_similarity_is_intersection_over_union():
    assert vm.region_similarity(square(0, 0, 10), square(0, 5, 10)) == pytest.approx(50 / 150)


def test_void_pixels_are_ignored_by_region_similarity():
    gt, pred = square(0, 0, 10), square(0, 0, 10) | square(20, 20, 5)
    assert vm.region_similarity(pred, gt, void=square(20, 20, 5)) == 1.0


def test_boundary_measure_special_cases():
    empty, obj = np.zeros((H, W), bool), square(10, 10, 8)
    assert vm.boundary_measure(empty, empty) == 1.0  # no boundary anywhere: P = R = 1
    assert vm.boundary_measure(empty, obj) == 0.0  # nothing predicted: P = 1, R = 0
    assert vm.boundary_measure(obj, empty) == 0.0  # nothing to find: P = 0, R = 1
    assert vm.boundary_measure(obj, obj) == 1.0


def test_boundary_measure_tolerates_shifts_within_the_diagonal_fraction():
    tol = vm.boundary_tolerance((H, W))
    assert tol == 1  # ceil(0.008 * 80)
    assert vm.boundary_measure(square(10, 11, 12), square(10, 10, 12)) == 1.0
    assert vm.boundary_measure(square(10, 14, 12), square(10, 10, 12)) < 1.0


def test_boundary_tolerance_is_eight_pixels_for_davis_480p():
    assert vm.boundary_tolerance((480, 854)) == 8


def test_boundary_map_follows_the_seg2bmap_rule_of_vos_benchmark():
    utils = pytest.importorskip("vos_benchmark.utils")
    rng = np.random.default_rng(0)
    for _ in range(20):
        mask = rng.random((17, 23)) > 0.6
        assert np.array_equal(vm.boundary_map(mask), utils._seg2bmap(mask.copy()))


def test_boundary_map_marks_no_pixel_of_a_full_mask_or_the_bottom_right_corner():
    assert not vm.boundary_map(np.ones((5, 6), bool)).any()
    corner = np.zeros((5, 6), bool)
    corner[-1, -1] = True
    assert not vm.boundary_map(corner)[-1, -1]


def test_disk_matches_scikit_image():
    morphology = pytest.importorskip("skimage.morphology")
    for radius in (1, 3, 8):
        assert np.array_equal(vm.disk(radius), morphology.disk(radius))


def test_recall_counts_values_strictly_above_one_half():
    assert vm.object_statistics([0.5, 0.6, 0.4, 1.0]).recall == 0.5


def test_decay_compares_first_and_last_of_four_overlapping_quarters():
    bins = vm.decay_bins(9)
    assert [(s.start, s.stop) for s in bins] == [(0, 3), (2, 5), (4, 7), (6, 9)]
    values = np.arange(9, dtype=float)
    assert vm.object_statistics(values).decay == pytest.approx(1.0 - 7.0)


def test_decay_indices_do_not_overflow_for_long_sequences():
    bins = vm.decay_bins(1000)
    assert bins[-1].stop == 1000 and bins[-1].start > 700


def test_statistics_ignore_unscored_frames():
    stats = vm.object_statistics([np.nan, 1.0, 0.0, np.nan])
    assert stats.mean == 0.5


def test_first_and_last_annotated_frames_are_not_scored():
    gts = [square(5, 5, 10).astype(np.uint8)] * 5
    preds = [np.zeros((H, W), np.uint8)] * 5
    (obj,) = vm.evaluate_objects("s", gts, preds, {"1": 0})
    assert np.isnan(obj.j[0]) and np.isnan(obj.j[-1]) and np.all(obj.j[1:-1] == 0.0)


def test_objects_starting_late_are_scored_only_after_their_first_frame():
    gts = [np.zeros((H, W), np.uint8)] * 2 + [square(5, 5, 10).astype(np.uint8) * 2] * 4
    (obj,) = vm.evaluate_objects("s", gts, gts, {"2": 2})
    assert np.isnan(obj.j[:3]).all() and np.all(obj.j[3:5] == 1.0) and np.isnan(obj.j[5])


def test_void_label_in_ground_truth_is_ignored():
    gt = square(5, 5, 10).astype(np.uint8)
    gt[30:40, 30:40] = vm.VOID_LABEL
    pred = square(5, 5, 10).astype(np.uint8)
    pred[30:40, 30:40] = 1
    (obj,) = vm.evaluate_objects("s", [gt] * 3, [pred] * 3, {"1": 0})
    assert obj.j[1] == 1.0 and obj.f[1] == 1.0


def test_dataset_scores_average_objects_not_sequences():
    a = vm.ObjectScores("s1", "1", np.array([np.nan, 1.0, np.nan]), np.array([np.nan, 1.0, np.nan]))
    b = vm.ObjectScores("s2", "1", np.array([np.nan, 0.0, np.nan]), np.array([np.nan, 0.0, np.nan]))
    c = vm.ObjectScores("s2", "2", np.array([np.nan, 0.0, np.nan]), np.array([np.nan, 0.5, np.nan]))
    scores = vm.dataset_scores([a, b, c])
    assert scores.j_mean == pytest.approx(100 / 3) and scores.f_mean == pytest.approx(50.0)
    assert scores.jf == pytest.approx((100 / 3 + 50) / 2)


def test_seen_unseen_overall_is_mean_of_four_values():
    nan = np.nan
    objs = [
        vm.ObjectScores("v1", "1", np.array([nan, 1.0, nan]), np.array([nan, 0.5, nan]), "cat"),
        vm.ObjectScores("v2", "1", np.array([nan, 0.2, nan]), np.array([nan, 0.4, nan]), "zebra"),
    ]
    su = vm.seen_unseen_scores(objs, {"cat"})
    assert (su.j_seen, su.f_seen) == pytest.approx((100.0, 50.0))
    assert (su.j_unseen, su.f_unseen) == pytest.approx((20.0, 40.0))
    assert su.overall == pytest.approx((100 + 50 + 20 + 40) / 4)


def test_seen_categories_come_from_the_train_split_meta(tmp_path):
    def meta(videos):
        return json.dumps(
            {
                "videos": {
                    v: {"objects": {o: {"category": c, "frames": []} for o, c in objs.items()}}
                    for v, objs in videos.items()
                }
            }
        )

    atomic_write_text(tmp_path / "2019" / "train" / "meta.json", meta({"t1": {"1": "cat"}}))
    atomic_write_text(tmp_path / "2019" / "valid_gt" / "meta.json", meta({"v1": {"1": "cat", "2": "zebra"}}))
    categories, seen = load_categories(tmp_path, "2019")
    assert seen == {"cat"} and categories[("v1", "2")] == "zebra"


def test_object_first_positions_come_from_init_data():
    seq = Sequence(
        "v",
        [f"{i:05d}.jpg" for i in range(6)],
        "YouTubeVOS",
        {"1": np.zeros((6, 4)), "2": np.zeros((6, 4))},
        ground_truth_seg=[f"{i}.png" for i in range(6)],
        init_data={0: {"object_ids": ["1"]}, 3: {"object_ids": ["2"]}},
        object_ids=["1", "2"],
        multiobj_mode=True,
    )
    assert object_first_positions(seq, list(range(6))) == {"1": 0, "2": 3}


# --- cross-check with vos-benchmark on generated PNG folders ---------------------------------


def _random_label_video(rng, frames, objects, shape=(H, W)):
    """Moving squares of random sizes; every object visible in every frame."""
    video = []
    pos = rng.integers(0, 20, (objects, 2))
    size = rng.integers(6, 14, objects)
    for _ in range(frames):
        label = np.zeros(shape, np.uint8)
        pos = np.clip(pos + rng.integers(-3, 4, pos.shape), 0, [shape[0] - 15, shape[1] - 15])
        for k in range(objects):
            label[pos[k, 0] : pos[k, 0] + size[k], pos[k, 1] : pos[k, 1] + size[k]] = k + 1
        video.append(label)
    return video


def _perturb(rng, label):
    """A prediction: the label shifted by a pixel or two, with a few flipped pixels."""
    shifted = np.roll(label, tuple(rng.integers(-2, 3, 2)), axis=(0, 1))
    noise = rng.random(label.shape) < 0.01
    shifted[noise] = rng.integers(0, label.max() + 1, noise.sum())
    return shifted


def _write_davis_like(tmp_path, settings, spec, videos, preds):
    sequences = []
    for name, video in videos.items():
        gt_paths = []
        for i, label in enumerate(video):
            path = tmp_path / "gt" / name / f"{i:05d}.png"
            imwrite_indexed(path, label)
            gt_paths.append(str(path))
            imwrite_indexed(tmp_path / "pred" / name / f"{i:05d}.png", preds[name][i])
            imwrite_indexed(spec.segmentation_dir(settings) / name / f"{i:05d}.png", preds[name][i])
        ids = [str(k) for k in range(1, int(video[0].max()) + 1)]
        sequences.append(
            Sequence(
                name,
                [f"/img/{name}/{i:05d}.jpg" for i in range(len(video))],
                "DAVIS",
                {k: np.zeros((len(video), 4)) for k in ids},
                ground_truth_seg=gt_paths,
                init_data={0: {"object_ids": ids}},
                object_ids=ids,
                multiobj_mode=True,
            )
        )
    return sequences


def test_j_and_f_match_vos_benchmark_per_object_and_globally(tmp_path, workspace):
    benchmark = pytest.importorskip("vos_benchmark.benchmark")
    rng = np.random.default_rng(5)
    videos = {"alpha": _random_label_video(rng, 7, 2), "beta": _random_label_video(rng, 6, 3)}
    preds = {n: [_perturb(rng, lab) for lab in v] for n, v in videos.items()}
    settings = env_settings()
    spec = trackerlist("mine", "default")[0]
    sequences = _write_davis_like(tmp_path, settings, spec, videos, preds)

    ours = evaluate_vos(sequences, group_specs([spec])[0], settings)
    all_j, all_f = [], []
    for name in videos:
        _, j, f = benchmark.VideoEvaluator(str(tmp_path / "gt"), str(tmp_path / "pred"))(name)
        for obj in (o for o in ours.vos_objects if o.sequence == name):
            assert obj.j_stats.mean * 100 == pytest.approx(j[int(obj.object_id)], abs=1e-6)
            assert obj.f_stats.mean * 100 == pytest.approx(f[int(obj.object_id)], abs=1e-6)
        all_j += list(j.values())
        all_f += list(f.values())
    assert ours.vos.j_mean == pytest.approx(np.mean(all_j), abs=1e-6)
    assert ours.vos.f_mean == pytest.approx(np.mean(all_f), abs=1e-6)


def test_vos_benchmark_skips_frames_before_an_object_is_first_seen_while_davis_scores_them(tmp_path, workspace):
    """Known difference: vos-benchmark adds an object to its list only once it appears in a
    ground truth or predicted mask of a scored frame, so earlier frames where both masks are empty
    are not averaged; the DAVIS rule scores them with J = F = 1."""
    benchmark = pytest.importorskip("vos_benchmark.benchmark")
    obj = square(10, 10, 10).astype(np.uint8)
    empty = np.zeros((H, W), np.uint8)
    video = [obj, empty, empty, obj, obj, obj]  # hidden in positions 1 and 2
    half = obj.copy()
    half[10:15] = 0  # J = 0.5 where the object is visible
    preds = [obj, empty, empty, half, half, obj]
    settings = env_settings()
    spec = trackerlist("mine", "default")[0]
    sequences = _write_davis_like(tmp_path, settings, spec, {"gamma": video}, {"gamma": preds})
    ours = evaluate_vos(sequences, group_specs([spec])[0], settings).vos_objects[0]
    _, j, _ = benchmark.VideoEvaluator(str(tmp_path / "gt"), str(tmp_path / "pred"))("gamma")
    assert ours.j_stats.mean == pytest.approx((1 + 1 + 0.5 + 0.5) / 4)
    assert j[1] / 100 == pytest.approx(0.5)


def test_runs_are_averaged_frame_by_frame_per_object(tmp_path, workspace):
    settings = env_settings()
    specs = trackerlist("mine", "default", range(2))
    label = square(5, 5, 10).astype(np.uint8)
    videos = {"delta": [label] * 4}
    _write_davis_like(tmp_path, settings, specs[0], videos, {"delta": [label] * 4})
    sequences = _write_davis_like(tmp_path / "b", settings, specs[1], videos, {"delta": [label * 0] * 4})
    result = evaluate_vos(sequences, group_specs(specs)[0], settings)
    (obj,) = result.vos_objects
    assert np.array_equal(obj.j[1:3], [0.5, 0.5]) and result.vos.j_mean == pytest.approx(50.0)


def test_frames_listed_without_mask_still_use_the_png_next_to_the_others(tmp_path):
    from pytracking_ext.analysis.evaluate import annotated_positions

    for i in range(3):
        imwrite_indexed(tmp_path / f"{i:05d}.png", np.zeros((4, 4), np.uint8))
    seq = Sequence(
        "v",
        [f"/img/{i:05d}.jpg" for i in range(4)],
        "DAVIS",
        {"1": np.zeros((4, 4))},
        ground_truth_seg=[str(tmp_path / "00000.png"), None, str(tmp_path / "00002.png"), None],
        object_ids=["1"],
        multiobj_mode=True,
    )
    assert annotated_positions(seq) == [0, 1, 2]


def test_davis2016_binary_ground_truth_255_is_the_object_not_void(tmp_path, workspace):
    settings = env_settings()
    spec = trackerlist("mine", "default")[0]
    gt = square(5, 5, 10).astype(np.uint8) * 255
    pred = square(5, 5, 10).astype(np.uint8)
    pred[5:10] = 0  # half of the object
    sequences = _write_davis_like(tmp_path, settings, spec, {"eps": [gt] * 4}, {"eps": [pred] * 4})
    sequences[0].object_ids = ["1"]
    sequences[0].init_data = {0: {"object_ids": ["1"]}}
    result = evaluate_vos(sequences, group_specs([spec])[0], settings)
    assert result.vos.j_mean == pytest.approx(50.0)
