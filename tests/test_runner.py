"""The dataset runner: result layout, resume, failures, bad input, multi-object, worker processes."""

from pathlib import Path

import numpy as np
import pytest

from pytracking_ext.errors import TrackerInputError
from pytracking_ext.evaluation.data import SequenceList
from pytracking_ext.evaluation.running import build_tracker, run_dataset, run_sequence, track_sequence
from pytracking_ext.evaluation.tracker_spec import TrackerSpec
from pytracking_ext.settings import env_settings
from pytracking_ext.utils.io import imread_indexed, imwrite_rgb
from seqgen import moving_square_sequence

MIL = TrackerSpec("opencv_mil", "default")
MIL_MASK = TrackerSpec("opencv_mil", "mask")


def test_box_time_and_score_files_follow_pytracking_layout(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=5)
    summary = run_dataset(SequenceList([seq]), [MIL])
    results = workspace / "tracking_results" / "opencv_mil" / "default"
    boxes = np.loadtxt(results / "seq.txt", delimiter="\t")
    assert boxes.shape == (5, 4) and summary.done == ["opencv_mil_default/seq"]
    assert np.allclose(boxes[0], seq.ground_truth_rect[0])
    assert np.loadtxt(results / "seq_time.txt").shape == (5,)
    assert np.loadtxt(results / "seq_object_presence_scores.txt")[0] == 1.0


def test_boxes_are_floats_by_default_and_ints_on_request(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=3)
    seq.ground_truth_rect[0] = [5.6, 10.4, 14.2, 13.9]
    seq.init_data[0]["bbox"] = [5.6, 10.4, 14.2, 13.9]
    run_dataset([seq], [MIL])
    run_dataset([seq], [TrackerSpec("opencv_mil", "default", run_id=1)], int_boxes=True)
    results = workspace / "tracking_results" / "opencv_mil"
    assert (results / "default" / "seq.txt").read_text().splitlines()[0] == "5.60\t10.40\t14.20\t13.90"
    assert (results / "default_001" / "seq.txt").read_text().splitlines()[0] == "5\t10\t14\t13"


def test_finished_sequences_are_skipped_and_overwrite_reruns(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=3)
    run_dataset([seq], [MIL])
    again = run_dataset([seq], [MIL])
    assert again.skipped == ["opencv_mil_default/seq"] and not again.done
    assert run_dataset([seq], [MIL], overwrite=True).done


def test_interrupted_run_without_box_file_is_redone(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=3)
    results = workspace / "tracking_results" / "opencv_mil" / "default"
    results.mkdir(parents=True)
    (results / "seq_time.txt").write_text("0.1\n")  # left by a run killed before the box file
    (results / ".seq.txt.abc.tmp").write_text("1\t2\t")
    assert run_dataset([seq], [MIL]).done


def test_failing_sequence_is_reported_and_others_go_on(workspace, tmp_path):
    good = moving_square_sequence(tmp_path, name="good", frames=3)
    bad = moving_square_sequence(tmp_path, name="bad", frames=3)
    Path(bad.frames[1]).write_bytes(b"not a jpeg")
    summary = run_dataset([bad, good], [MIL])
    assert summary.exit_code == 1 and "good" in summary.done[0]
    message = summary.failed["opencv_mil_default/bad"]
    assert "ImageReadError" in message and "00001.jpg" in message
    error_file = workspace / "tracking_results" / "opencv_mil" / "default" / "bad.error.txt"
    assert "Traceback" in error_file.read_text()


def test_error_file_is_removed_once_the_sequence_succeeds(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=3)
    image = Path(seq.frames[2]).read_bytes()
    Path(seq.frames[2]).write_bytes(b"")
    run_dataset([seq], [MIL])
    Path(seq.frames[2]).write_bytes(image)
    assert run_dataset([seq], [MIL]).done
    assert not (workspace / "tracking_results" / "opencv_mil" / "default" / "seq.error.txt").exists()


def test_frames_of_different_sizes_are_rejected_naming_the_frame(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=3)
    imwrite_rgb(seq.frames[2], np.zeros((30, 30, 3), np.uint8))
    status, message = run_sequence(seq, MIL)
    assert status == "failed" and "00002.jpg" in message and "30x30" in message


def test_init_box_outside_the_image_is_rejected(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=2)
    seq.init_data[0]["bbox"] = [500.0, 500.0, 10.0, 10.0]
    status, message = run_sequence(seq, MIL)
    assert status == "failed" and "outside the 80x64 image" in message


@pytest.mark.parametrize("box", [[1.0, 2.0, 0.0, 5.0], [float("nan"), 1.0, 4.0, 4.0]])
def test_zero_size_or_nan_init_box_is_rejected(workspace, tmp_path, box):
    seq = moving_square_sequence(tmp_path, frames=2)
    seq.init_data[0]["bbox"] = box
    status, message = run_sequence(seq, MIL)
    assert status == "failed" and "positive width and height" in message


def test_debug_mode_propagates_errors(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=2)
    seq.init_data[0]["bbox"] = [500.0, 500.0, 10.0, 10.0]
    with pytest.raises(TrackerInputError):
        run_sequence(seq, MIL, debug=1)


def test_multi_object_sequence_writes_per_object_files_and_label_pngs(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=4, objects=2, with_masks=True)
    summary = run_dataset([seq], [MIL_MASK])
    assert summary.done, summary.failed
    results = workspace / "tracking_results" / "opencv_mil" / "mask"
    assert np.loadtxt(results / "seq_1.txt").shape == (4, 4)
    assert np.loadtxt(results / "seq_2_time.txt").shape == (4,)
    masks = workspace / "segmentation_results" / "opencv_mil" / "mask" / "seq"
    labels = imread_indexed(masks / "00003.png")
    assert set(np.unique(labels)) <= {0, 1, 2} and (labels == 2).sum() > 50


def test_mask_tracker_is_rerun_when_a_png_is_missing(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=3, objects=2, with_masks=True)
    run_dataset([seq], [MIL_MASK])
    (workspace / "segmentation_results" / "opencv_mil" / "mask" / "seq" / "00001.png").unlink()
    assert run_dataset([seq], [MIL_MASK]).done


def test_dropped_leading_frames_get_empty_masks(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=3, objects=2, with_masks=True)
    seq.dropped_frames = [str(tmp_path / "seq" / "early.jpg")]
    run_dataset([seq], [MIL_MASK])
    early = imread_indexed(workspace / "segmentation_results" / "opencv_mil" / "mask" / "seq" / "early.png")
    assert early.shape == (64, 80) and early.max() == 0


def test_tracker_without_target_bbox_fails_clearly(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=2)
    tracker = build_tracker(MIL, seq)
    tracker.track = lambda image, info: {}
    with pytest.raises(TrackerInputError, match="no 'target_bbox'"):
        track_sequence(tracker, seq, progress=False)


def test_build_tracker_takes_given_parameters_instead_of_the_module(tmp_path):
    from pytracking_ext.trackers import get_parameters

    params = get_parameters("opencv_mil", "default")
    params.marker = "given"
    tracker = build_tracker(MIL, moving_square_sequence(tmp_path, frames=2), params=params)
    assert tracker.params.marker == "given" and tracker.params.run_id is None


def test_track_receives_previous_output(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=3)
    tracker = build_tracker(MIL, seq)
    seen = []
    original = tracker.track

    def spy(image, info):
        seen.append(dict(info["previous_output"]))
        return original(image, info)

    tracker.track = spy
    track_sequence(tracker, seq, progress=False)
    assert seen[0]["target_bbox"] == seq.init_data[0]["bbox"] and "time" in seen[1]


def test_worker_processes_give_the_same_files(workspace, tmp_path):
    seqs = [moving_square_sequence(tmp_path, name=f"s{i}", frames=3, seed=i) for i in range(2)]
    summary = run_dataset(seqs, [MIL], threads=2)
    assert sorted(summary.done) == ["opencv_mil_default/s0", "opencv_mil_default/s1"]
    results = Path(env_settings().results_path) / "opencv_mil" / "default"
    assert (results / "s0.txt").is_file() and (results / "s1.txt").is_file()
