"""Memory and time per frame over a long generated video, through the public API (docs/api.md).

    python benchmarks/long_video.py [--frames 5000] [--objects 3] [--size 480x270] [--every 500]
                                    [--tracker rts] [--param rts_small] [--threads 1] [--set KEY=VALUE]

Frames are generated on the fly (nothing is stored: a textured background and ``--objects``
textured discs on periodic paths, so the video is equally hard all along), the objects start on
frame 0 from their masks, and :class:`pytracking_ext.VideoTracker` tracks them. Every ``--every``
frames one row is printed: frames done, resident memory (``VmRSS`` of ``/proc/self/status``), the
mean wall and CPU time (this process) per frame over the row's window (on a shared machine the
wall time follows the load, the CPU time much less), and the tracker's online state (bytes of
arrays and tensors, number of container items; :func:`pytracking_ext.trackers.base.state_footprint`).
The first window is the warm-up; the last line gives last / first-after-warm-up for memory, wall
and CPU time (goal of issue 21: memory within 5 %, time within 10 %) and the state.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from pytracking_ext.cli import add_set_argument
from pytracking_ext.errors import PytrackingError

#: Frames of one full period of the objects' paths (all of them come back to where they started).
PERIOD = 240


def parse_size(text: str) -> tuple[int, int]:
    """``"WxH"`` -> ``(W, H)`` (argparse type)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size: expected WxH such as 480x270, got '{text}'") from None
    if width < 32 or height < 32:
        raise argparse.ArgumentTypeError(f"--size: at least 32x32, got '{text}'")
    return width, height


class MovingDiscs:
    """``objects`` textured discs on periodic paths over a fixed cluttered background (seeded).

    Appearance comes from the synthetic benchmarks' generator (``pytracking_ext.synthetic.appearance``:
    saturated striped objects on a muted multi-scale background), used in memory only.
    """

    def __init__(self, size: tuple[int, int], objects: int, seed: int = 0) -> None:
        from pytracking_ext.synthetic.appearance import background_texture, object_texture, random_family

        rng = np.random.default_rng(seed)
        self.width, self.height = size
        self.side = max(8, min(self.width // (2 * objects + 1), self.height // 4))
        self.background = background_texture(rng, self.height, self.width)
        self.textures = [object_texture(rng, random_family(rng), self.side) for _ in range(objects)]
        yy, xx = np.mgrid[0 : self.side, 0 : self.side]
        centre = (self.side - 1) / 2
        self.disc = (yy - centre) ** 2 + (xx - centre) ** 2 <= (self.side / 2) ** 2
        # each object keeps to its own vertical band, so the objects never cover each other
        self.bands = np.linspace(0, self.width - self.side, objects + 1)
        self.phases = rng.uniform(0, 2 * np.pi, size=(objects, 2))

    def positions(self, t: int) -> list[tuple[int, int]]:
        """Top-left ``(x, y)`` of every object on frame ``t``."""
        out = []
        for i, (px, py) in enumerate(self.phases):
            left, right = self.bands[i], self.bands[i + 1]
            x = left + (right - left) * 0.5 * (1 + np.sin(2 * np.pi * t / PERIOD + px))
            y = (self.height - self.side) * 0.5 * (1 + np.sin(4 * np.pi * t / PERIOD + py))
            out.append((int(round(x)), int(round(y))))
        return out

    def frame(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``t`` (a new RGB array) and its label image."""
        image = self.background.copy()
        label = np.zeros((self.height, self.width), np.uint8)
        for i, (x, y) in enumerate(self.positions(t)):
            image[y : y + self.side, x : x + self.side][self.disc] = self.textures[i][self.disc]
            label[y : y + self.side, x : x + self.side][self.disc] = i + 1
        return image, label


def resident_mib() -> float:
    """Resident memory of this process (``VmRSS``), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        return float("nan")


def run(args: argparse.Namespace) -> list[dict]:
    """Track the generated video and print one row per window; returns the rows."""
    import torch

    from pytracking_ext import VideoTracker
    from pytracking_ext.trackers.base import state_footprint

    torch.set_num_threads(args.threads)
    video = MovingDiscs(args.size, args.objects)
    tracker = VideoTracker(args.tracker, args.param, **dict(args.assignments))
    first, label = video.frame(0)
    for i in range(args.objects):
        tracker.add_object(first, mask=label == i + 1, obj_id=i + 1)
    print(
        f"{args.tracker}/{args.param}, {args.objects} objects, {args.size[0]}x{args.size[1]}, "
        f"{args.frames} frames, {args.threads} torch thread(s)"
    )
    print(
        f"{'frames':>7} {'RSS MiB':>9} {'ms/frame':>9} {'CPU ms/frame':>13} {'state KiB':>10} "
        f"{'state items':>12} {'lost':>5}"
    )
    rows: list[dict] = []
    window_time, window_cpu, lost = 0.0, 0.0, 0
    for index in range(args.frames):
        # frame 0 is the array the objects were added on: track() returns its result without tracking it twice
        frame = first if index == 0 else video.frame(index)[0]
        start, start_cpu = time.perf_counter(), time.process_time()
        result = tracker.track(frame)
        window_time += time.perf_counter() - start
        window_cpu += time.process_time() - start_cpu
        lost += sum(r.lost for r in result.values())
        done = index + 1
        if done % args.every == 0 or done == args.frames:
            count = done - (rows[-1]["frames"] if rows else 0)
            state_bytes, state_items = state_footprint(tracker)
            row = {
                "frames": done,
                "rss_mib": resident_mib(),
                "ms_per_frame": 1000 * window_time / count,
                "cpu_ms_per_frame": 1000 * window_cpu / count,
                "state_kib": state_bytes / 1024,
                "state_items": state_items,
                "lost": lost,
            }
            rows.append(row)
            print(
                f"{done:>7} {row['rss_mib']:>9.1f} {row['ms_per_frame']:>9.1f} {row['cpu_ms_per_frame']:>13.1f} "
                f"{row['state_kib']:>10.1f} "
                f"{state_items:>12} {lost:>5}",
                flush=True,
            )
            window_time, window_cpu, lost = 0.0, 0.0, 0
    if len(rows) >= 3:
        base, last = rows[1], rows[-1]
        print(
            f"last / first after warm-up (rows {base['frames']} and {last['frames']}): "
            f"memory {last['rss_mib'] / base['rss_mib']:.3f}, time {last['ms_per_frame'] / base['ms_per_frame']:.3f}, "
            f"CPU time {last['cpu_ms_per_frame'] / base['cpu_ms_per_frame']:.3f}, "
            f"state bytes {last['state_kib'] / base['state_kib']:.3f}, "
            f"state items {last['state_items'] / base['state_items']:.3f}"
        )
    else:
        print("too few rows for the ratios (need 3: warm-up, first, last); lower --every")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--objects", type=int, default=3)
    parser.add_argument("--size", type=parse_size, default=(480, 270), metavar="WxH")
    parser.add_argument("--every", type=int, default=None, help="frames per row (default: frames / 10)")
    parser.add_argument("--tracker", default="rts")
    parser.add_argument("--param", default="rts_small")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    add_set_argument(parser, help="override a parameter of the parameter set (repeatable)")
    args = parser.parse_args(argv)
    if args.frames < 1 or args.objects < 1 or not 1 <= args.objects <= 255:
        parser.error("--frames must be positive and --objects within 1..255")
    args.every = args.every or max(1, args.frames // 10)
    try:
        run(args)
    except PytrackingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
