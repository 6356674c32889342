"""The runner drives trackers through the public API (issue 21: one way to drive a tracker)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from pytracking_ext.api import VideoTracker
from pytracking_ext.evaluation.running import track_sequence
from pytracking_ext.trackers.base import BaseTracker
from seqgen import moving_square_sequence


class AllObjectsTracker(BaseTracker):
    """A 'default'-mode tracker: takes every object itself, reports the boxes it was given."""

    multiobj_mode = "default"
    calls: list[tuple[str, dict]] = []

    def __init__(self, params=None) -> None:
        super().__init__(params)
        self.boxes: OrderedDict[str, list[float]] = OrderedDict()

    def initialize(self, image, info):
        type(self).calls.append(("initialize", dict(info)))
        self.boxes = OrderedDict((oid, list(info["init_bbox"][oid])) for oid in info["init_object_ids"])
        return {"target_bbox": OrderedDict(self.boxes)}

    def track(self, image, info):
        type(self).calls.append(("track", dict(info)))
        for oid in info.get("init_object_ids") or []:
            self.boxes[oid] = list(info["init_bbox"][oid])
        return {"target_bbox": OrderedDict(self.boxes)}


def _late_second_object(tmp_path):
    """Two squares; object 2 is annotated only from frame 2 on (a YouTube-VOS late object)."""
    seq = moving_square_sequence(tmp_path, frames=4, objects=2)
    first = {"bbox": OrderedDict([("1", list(seq.ground_truth_rect["1"][0]))]), "object_ids": ["1"]}
    late = {"bbox": OrderedDict([("2", list(seq.ground_truth_rect["2"][2]))]), "object_ids": ["2"]}
    seq.init_data = {0: first, 2: late}
    return seq


def test_the_runner_starts_objects_and_tracks_frames_through_video_tracker(tmp_path, monkeypatch):
    seen = []
    for name in ("start_objects", "track"):
        original = getattr(VideoTracker, name)

        def spy(self, frame, *args, _name=name, _original=original):
            seen.append(_name)
            return _original(self, frame, *args)

        monkeypatch.setattr(VideoTracker, name, spy)
    seq = _late_second_object(tmp_path)
    track_sequence(AllObjectsTracker(), seq, progress=False)
    assert seen == ["start_objects", "track", "start_objects", "track"]


def test_a_default_mode_tracker_gets_the_sequences_init_info_unchanged(tmp_path):
    AllObjectsTracker.calls = []
    seq = moving_square_sequence(tmp_path, frames=2, objects=2)
    track_sequence(AllObjectsTracker(), seq, progress=False)
    kind, info = AllObjectsTracker.calls[0]
    assert kind == "initialize" and info["init_object_ids"] == ["1", "2"]  # both objects in one call
    assert info["sequence_object_ids"] == ["1", "2"]


def test_a_late_object_starts_on_its_frame_with_the_others_tracked_once(tmp_path):
    AllObjectsTracker.calls = []
    seq = _late_second_object(tmp_path)
    output = track_sequence(AllObjectsTracker(), seq, progress=False)
    assert [list(b) for b in output.target_bbox] == [["1"], ["1"], ["1", "2"], ["1", "2"]]
    assert [kind for kind, _ in AllObjectsTracker.calls] == ["initialize", "track", "track", "track"]
    late_call = AllObjectsTracker.calls[2][1]
    assert late_call["init_object_ids"] == ["2"] and "previous_output" in late_call


def test_every_runner_frame_carries_the_trackers_time(tmp_path):
    seq = moving_square_sequence(tmp_path, frames=3, objects=2)
    output = track_sequence(AllObjectsTracker(), seq, progress=False)
    assert len(output.time) == 3 and all(t >= 0 for t in output.time)
    assert np.allclose(output.target_bbox[0]["1"], seq.ground_truth_rect["1"][0])
