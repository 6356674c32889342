"""A TraX server that runs any registered tracker for the VOT toolkit.

Behaviour follows PyTracking's VOT2020 integration: networks are loaded before the handshake,
mask trackers ask for mask regions (the init mask is padded/cropped to the image and its box taken
with the inclusive extent), box trackers ask for rectangles or polygons (a polygon becomes a box),
images arrive as file paths and are read as RGB, ``track`` gets ``previous_output``, and masks are
reported as full-size ``uint8``. The tracker is driven through the public API (docs/api.md), so a
lost object (presence score below ``presence_threshold``) is reported as an empty region. With
``multiobject`` the VOTS protocol is served: the objects of an initialisation get ids ``'1'..'K'``
in the order received and run through the multi-object wrapper; objects announced on later frames
get the next ids.

libtrax never reads the client directly: a :class:`ClientRelay` thread does, and hands it complete,
well-formed messages only. End of input, a malformed message, a client that stopped reading and
Ctrl-C each end the session at once with one line (see :class:`ClientRelay` for why).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from importlib import metadata
from typing import Any

import numpy as np

from ..api import VideoTracker
from ..errors import SettingsError, TrackerInputError
from ..evaluation.running import build_tracker
from ..evaluation.tracker_spec import TrackerSpec
from ..utils.io import imread_rgb
from .regions import decode_init_region, init_info
from .relay import ClientRelay, ClientStreams, RelayedHandle

#: Oldest vot-trax whose ``Server`` takes ``multiobject`` and whose requests carry object lists.
MIN_TRAX_VERSION = (4, 0)
#: Image channel served (PyTracking trackers are RGB only).
CHANNEL = "color"


def require_trax():
    """Import the ``trax`` module of ``vot-trax``, failing with an install hint when absent or too old."""
    try:
        version = metadata.version("vot-trax")
    except metadata.PackageNotFoundError:
        raise SettingsError("the VOT integration needs the 'vot-trax' package: pip install 'vot-trax>=4.0'") from None
    numbers = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if numbers < MIN_TRAX_VERSION:
        raise SettingsError(f"vot-trax {version} is too old for the VOT integration: pip install 'vot-trax>=4.0'")
    import trax

    return trax


def build_vot_tracker(name: str, param: str, multiobject: bool = False):
    """The registered tracker ``name``/``param``, with its networks already loaded."""
    tracker = build_tracker(TrackerSpec(name, param), multiobject=multiobject)
    tracker.initialize_features()
    return tracker


def region_formats(tracker) -> list[str]:
    """TraX region formats to request: masks for mask trackers, else rectangles and polygons."""
    return ["mask"] if tracker.predicts_segmentation_mask() else ["rectangle", "polygon"]


class VotSession:
    """Answers TraX requests with one tracker through the public API (:class:`~pytracking_ext.VideoTracker`).

    INITIALIZE restarts it with the received objects, FRAME tracks (starting the objects a VOTS
    frame announces). A lost object (docs/api.md) is reported as an empty region.
    """

    def __init__(self, tracker, multiobject: bool = False, conversion: str | None = None) -> None:
        self.tracker = tracker
        self.multiobject = multiobject
        params = getattr(tracker, "params", None)
        self.conversion = conversion or (params.get("vot_anno_conversion_type", "union") if params else "union")
        self.video = VideoTracker.from_tracker(tracker, multiobject=multiobject, load_networks=False)
        self.predicts_mask = self.video.predicts_mask
        self.object_ids: list[str] | None = None
        self.started = False

    def initialize(self, image_path: str, objects: list[tuple[Any, dict]]) -> list[tuple[Any, dict]]:
        """Start tracking the ``(region, properties)`` objects on the frame at ``image_path``."""
        image = imread_rgb(image_path)
        shape = image.shape[:2]
        if not objects:
            raise TrackerInputError("the VOT toolkit sent an initialisation without any object")
        if not self.multiobject and len(objects) != 1:
            raise TrackerInputError(f"the VOT toolkit sent {len(objects)} objects; serve with --multiobject for VOTS")
        regions = [decode_init_region(region, (shape[1], shape[0]), self.conversion) for region, _ in objects]
        self.video.reset()
        ids = list(range(1, len(regions) + 1))
        self._add(image, regions, ids)
        self.object_ids = [str(i) for i in ids] if self.multiobject else None
        self.started = True
        return self._regions(self.video.track(image), shape)

    def frame(self, image_path: str, objects: list[tuple[Any, dict]] | None = None) -> list[tuple[Any, dict]]:
        """Track on the frame at ``image_path``; ``objects`` are objects that start on this frame."""
        if not self.started:
            raise TrackerInputError("the VOT toolkit sent a frame before any initialisation")
        if objects and not self.multiobject:
            return self.initialize(image_path, objects)
        image = imread_rgb(image_path)
        shape = image.shape[:2]
        if objects:
            first = len(self.object_ids) + 1
            new_ids = list(range(first, first + len(objects)))
            regions = [decode_init_region(region, (shape[1], shape[0]), self.conversion) for region, _ in objects]
            self._add(image, regions, new_ids)
            self.object_ids = self.object_ids + [str(i) for i in new_ids]
        return self._regions(self.video.track(image), shape)

    def _add(self, image, regions: list, ids: list[int]) -> None:
        """Start ``regions`` on ``image``; where masks overlap the later object wins (one label per pixel, as DAVIS)."""
        masks = [r.mask for r in regions]
        if len(regions) > 1 and all(m is not None for m in masks):
            label = init_info(regions, [str(i) for i in ids], image.shape[:2])["init_mask"]
            masks = [label == oid for oid in ids]
        for oid, region, mask in zip(ids, regions, masks):
            self.video.add_object(image, mask=mask, box=region.bbox, obj_id=oid)

    def _regions(self, result, shape: tuple[int, int]) -> list[tuple[Any, dict]]:
        """TraX ``(region, properties)`` pairs, one per object in id order; ``confidence`` = presence score."""
        from trax import Mask, Rectangle

        regions = []
        for oid in sorted(result):
            obj = result[oid]
            if self.predicts_mask:
                region = Mask.create(np.ascontiguousarray(obj.mask.astype(np.uint8)))
            else:
                region = Rectangle.create(*(obj.box if obj.box is not None else (0.0, 0.0, 0.0, 0.0)))
            score = 1.0 if obj.score is None else obj.score
            regions.append((region, {"confidence": f"{float(score):.6f}"}))
        return regions


def _image_path(request) -> str:
    image = (request.image or {}).get(CHANNEL)
    if image is None:
        raise TrackerInputError(f"the VOT toolkit sent no '{CHANNEL}' image")
    return image.path()


def serve_requests(handle, session: VotSession) -> int:
    """Answer requests from ``handle`` (``wait()``/``status()``, as ``trax.Server``) until QUIT.

    Returns the number of frames answered (initialisations included).
    """
    answered = 0
    while True:
        request = handle.wait()
        if request.type == "quit":
            return answered
        if request.type == "initialize":
            regions = session.initialize(_image_path(request), request.objects)
        elif request.type == "frame":
            regions = session.frame(_image_path(request), request.objects)
        else:
            raise TrackerInputError(f"unexpected TraX request '{request.type}'")
        handle.status(regions)
        answered += 1


@contextlib.contextmanager
def _environment(**values: str | None) -> Iterator[None]:
    """Set (or with ``None`` remove) environment variables inside the block."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)


def _say_goodbye(server, err: BaseException) -> None:
    """Send the client a quit naming ``err`` (it may be gone already: nothing to do then)."""
    reason = "interrupted" if isinstance(err, KeyboardInterrupt) else str(err).splitlines()[0] if str(err) else ""
    with contextlib.suppress(Exception):
        server.quit(reason=reason or type(err).__name__)


def serve(name: str, param: str, multiobject: bool = False, log: bool = False) -> int:
    """Serve tracker ``name``/``param`` over TraX on stdin/stdout (or ``TRAX_SOCKET``) until the client quits.

    Returns the number of frames answered. Raises :class:`ClientGone` when the client leaves without
    quitting, :class:`TraxProtocolError` on a malformed message and ``KeyboardInterrupt`` on Ctrl-C.
    """
    trax = require_trax()
    tracker = build_vot_tracker(name, param, multiobject)
    session = VotSession(tracker, multiobject)
    streams = ClientStreams.open()
    try:
        # Stray prints must not reach the protocol stream the C library writes to.
        with contextlib.redirect_stdout(sys.stderr), ClientRelay(streams).running() as relay:
            with _environment(TRAX_SOCKET=None, TRAX_IN=str(relay.library_input), TRAX_OUT=str(streams.output)):
                server = trax.Server(
                    region_formats(tracker),
                    [trax.Image.PATH],
                    [CHANNEL],
                    tracker_name=f"{name}_{param}",
                    tracker_family="pytracking_ext",
                    log=log,
                    multiobject=multiobject,
                )
            return _serve_session(server, RelayedHandle(server.__enter__(), relay, trax.TraxException), session)
    finally:
        streams.close()


def _serve_session(server, handle: RelayedHandle, session: VotSession) -> int:
    """Answer requests until the client quits; on failure tell the client why (without trax's traceback)."""
    try:
        answered = serve_requests(handle, session)
    except BaseException as err:
        _say_goodbye(server, err)
        raise
    server.__exit__(None, None, None)
    return answered
