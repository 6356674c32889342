"""Decode throughput of the JPEG backends (jpeg4py/libjpeg-turbo vs OpenCV), measured in one run.

    python benchmarks/jpeg_decode.py [--frames 200]

Prints frames per second for each backend at 640x480 and 1280x720 and the ratio between them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from pytracking_ext.utils import jpeg
from pytracking_ext.utils.io import imread_rgb


def _write_frames(folder: Path, size: tuple[int, int], count: int) -> list[Path]:
    rng = np.random.default_rng(0)
    width, height = size
    base = cv2.GaussianBlur(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), (9, 9), 0)
    paths = []
    for i in range(count):
        path = folder / f"{width}x{height}_{i:05d}.jpg"
        cv2.imwrite(str(path), np.roll(base, 3 * i, axis=1), [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


def _fps(paths: list[Path], backend: str) -> float:
    import os

    os.environ[jpeg.BACKEND_VARIABLE] = backend
    jpeg.reset_backend()
    if jpeg.jpeg_backend()[0] != backend:
        return float("nan")
    imread_rgb(paths[0])  # warm-up
    start = time.perf_counter()
    for path in paths:
        imread_rgb(path)
    return len(paths) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'size':>10} {'opencv fps':>11} {'jpeg4py fps':>12} {'jpeg4py/opencv':>15}")
        for size in ((640, 480), (1280, 720)):
            paths = _write_frames(Path(tmp), size, args.frames)
            slow, fast = _fps(paths, "opencv"), _fps(paths, "jpeg4py")
            label = f"{size[0]}x{size[1]}"
            print(f"{label:>10} {slow:11.1f} {fast:12.1f} {fast / slow:15.2f}")


if __name__ == "__main__":
    main()
