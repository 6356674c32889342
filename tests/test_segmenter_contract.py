"""The video segmenter contract and the segmenter registry."""

import numpy as np
import pytest

from pytracking_ext.errors import UnknownNameError
from segmentation_plugins.registry import SEGMENTERS, segmenter_parameter_names, segmenter_parameters
from segmentation_plugins.segmenter import FrameSegmenter, SegmentationOutput, check_frame


class _Counting(FrameSegmenter):
    """Labels every pixel with the number of frames seen since the last reset."""

    num_classes = 10

    def __init__(self):
        self.seen = 0

    def reset(self):
        self.seen = 0

    def segment(self, frame):
        self.seen += 1
        return SegmentationOutput(np.full(frame.shape[:2], self.seen, np.uint8))


def _frames(n):
    return [np.zeros((4, 6, 3), np.uint8) for _ in range(n)]


def test_segment_video_yields_one_output_per_frame_in_order():
    outputs = list(_Counting().segment_video(_frames(3)))
    assert [int(o.labels[0, 0]) for o in outputs] == [1, 2, 3]


def test_segment_clip_starts_from_a_fresh_state_and_returns_the_last_frame():
    segmenter = _Counting()
    list(segmenter.segment_video(_frames(5)))
    assert int(segmenter.segment_clip(_frames(3)).labels[0, 0]) == 3


def test_segment_clip_refuses_an_empty_clip():
    with pytest.raises(ValueError, match="at least one frame"):
        _Counting().segment_clip([])


@pytest.mark.parametrize("bad", [np.zeros((4, 6), np.uint8), np.zeros((4, 6, 3), np.float32), [[1, 2, 3]]])
def test_check_frame_names_what_is_wrong(bad):
    with pytest.raises(ValueError, match="expected an H x W x 3 uint8 RGB image"):
        check_frame(bad)


def test_registry_lists_the_plugins_and_their_parameter_sets():
    assert {"evs", "lmanet"} <= set(SEGMENTERS.names())
    assert "evs07" in segmenter_parameter_names("evs")
    assert segmenter_parameters("evs", "evs07").keyframe_interval == 5


def test_unknown_segmenter_and_parameter_names_list_the_known_ones():
    with pytest.raises(UnknownNameError, match="known segmenters: .*evs"):
        segmenter_parameters("nope", "x")
    with pytest.raises(UnknownNameError, match="unknown parameter 'nope' for segmenter 'evs'.*evs01"):
        segmenter_parameters("evs", "nope")
