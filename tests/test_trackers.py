"""OpenCV baseline and multi-object behaviour (every registered tracker: test_every_registered_component.py)."""

import numpy as np

from pytracking_ext.evaluation.running import build_tracker, track_sequence
from pytracking_ext.evaluation.tracker_spec import TrackerSpec
from pytracking_ext.trackers.multiobject import MultiObjectWrapper, default_merge, object_trackers
from seqgen import moving_square_sequence


def test_mil_follows_a_moving_square(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=8)
    out = track_sequence(build_tracker(TrackerSpec("opencv_mil", "default"), seq), seq, progress=False)
    # MIL is randomised (unseedable from Python): it must follow the 21 px motion, roughly.
    moved = out.target_bbox[-1][0] - out.target_bbox[0][0]
    assert moved >= 10 and abs(out.target_bbox[-1][0] - seq.ground_truth_rect[-1][0]) <= 10


def test_mask_parameter_moves_the_initial_mask_with_the_box(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=6, with_masks=True)
    tracker = build_tracker(TrackerSpec("opencv_mil", "mask"), seq)
    assert tracker.predicts_segmentation_mask()
    out = track_sequence(tracker, seq, progress=False)
    last = out.segmentation[-1]
    ys, xs = np.nonzero(last)
    assert last.sum() == 14 * 14 and abs(xs.min() - out.target_bbox[-1][0]) <= 1


def test_default_merge_takes_argmax_above_threshold():
    a = np.array([[0.9, 0.2], [0.6, 0.1]])
    b = np.array([[0.1, 0.4], [0.7, 0.3]])
    merged = default_merge({"1": {"segmentation": a, "time": 1.0}, "3": {"segmentation": b, "time": 2.0}})
    assert merged["segmentation"].tolist() == [[1, 0], [3, 0]]
    assert merged["time"] == {"1": 1.0, "3": 2.0}


def test_wrapper_objects_can_start_late_and_be_removed(workspace, tmp_path):
    from pytracking_ext.api import VideoTracker
    from pytracking_ext.utils.io import imread_rgb

    seq = moving_square_sequence(tmp_path, frames=3, objects=2, with_masks=True)
    wrapper = build_tracker(TrackerSpec("opencv_mil", "mask"), seq)
    assert isinstance(wrapper, MultiObjectWrapper)
    tracker = VideoTracker.from_tracker(wrapper)
    frames = [imread_rgb(f) for f in seq.frames]
    tracker.add_object(frames[0], box=seq.ground_truth_rect["1"][0], obj_id=1)
    assert list(wrapper.trackers) == ["1"]
    tracker.add_object(frames[1], box=seq.ground_truth_rect["2"][1], obj_id=2)
    assert list(wrapper.trackers) == ["1", "2"] and set(tracker.last_output["target_bbox"]) == {"1", "2"}
    tracker.remove_object(1)
    assert list(tracker.track(frames[2])) == [2] and list(wrapper.trackers) == ["2"]


def test_object_trackers_are_the_wrappers_per_object_trackers_or_the_tracker_itself(workspace, tmp_path):
    seq = moving_square_sequence(tmp_path, frames=2, objects=2, with_masks=True)
    wrapper = build_tracker(TrackerSpec("opencv_mil", "mask"), seq)
    track_sequence(wrapper, seq, progress=False)
    singles = object_trackers(wrapper)
    assert singles == list(wrapper.trackers.values()) and len(singles) == 2
    assert object_trackers(singles[0]) == [singles[0]]


def test_opencv_baseline_refuses_a_box_it_would_never_return_from(tmp_path):
    # OpenCV's MIL loops forever in init() on boxes under 5 px wide or high: it must refuse them at once
    script = tmp_path / "tiny_box.py"
    script.write_text(
        "import numpy as np\n"
        "from pytracking_ext.errors import TrackerInputError\n"
        "from pytracking_ext.trackers import get_tracker_class, get_parameters\n"
        "tracker = get_tracker_class('opencv_mil')(get_parameters('opencv_mil', 'default'))\n"
        "image = np.zeros((60, 80, 3), np.uint8)\n"
        "for box in ([10, 10, 2, 2], [10, 10, 40, 1], [10, 10, 4, 4]):\n"
        "    try:\n"
        "        tracker.initialize(image, {'init_bbox': box})\n"
        "    except TrackerInputError as err:\n"
        "        assert 'too small' in str(err) and '5x5' in str(err), err\n"
        "    else:\n"
        "        raise SystemExit(f'{box} accepted')\n"
        "tracker.initialize(image, {'init_bbox': [10, 10, 5, 5]})\n"
        "print('ok')\n"
    )
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-500:]
