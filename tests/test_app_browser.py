"""The web page in a real browser: headless Chromium (Debian's package) driven by Playwright.

Upload a generated video, draw a box with two clicks on the first frame, track with the OpenCV
baseline (the fastest registered tracker; the page's default stays RTS rts_small), and check that the
overlay video appears and that the downloaded boxes equal ``run_video``'s on the same input.
Skips, with the reason, where Chromium or Playwright is missing (scripts/setup.sh test installs both).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest

from seqgen import write_square_video

CHROMIUM = Path(os.environ.get("PYTRACKING_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_video(path: Path, frames: int = 10, size=(120, 160)) -> None:
    write_square_video(path, frames, size, side=28, start=(30, 40), step=4, seed=3)


@pytest.fixture
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: scripts/setup.sh test installs Debian's chromium (needs root and apt-get)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install -e '.[test]')")
    pytest.importorskip("gradio", reason="gradio not installed (pip install -e '.[app]')")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def server(tmp_path, workspace):
    port = _free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1", GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(REPO_ROOT))
    log = open(tmp_path / "server.log", "w")
    args = [sys.executable, "-m", "pytracking_ext.app", "--port", str(port), "--workdir", str(tmp_path / "jobs")]
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the page did not start: {(tmp_path / 'server.log').read_text()[-2000:]}")
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_page_tracks_an_uploaded_video_like_run_video(browser, server, tmp_path, capsys):
    video = tmp_path / "square.mp4"
    _write_video(video)
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    page.set_default_timeout(30_000)
    page.goto(server)
    page.locator("#upload input[type=file]").set_input_files(str(video))
    page.locator("#status", has_text="Opened square.mp4").wait_for()

    # Draw a box: two clicks on opposite corners of the square, in image pixels scaled to the screen.
    image = page.locator("#first-frame img")
    image.wait_for()
    bounds = image.bounding_box()
    natural = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    scale_x, scale_y = bounds["width"] / natural[0], bounds["height"] / natural[1]
    for x, y in [(30, 40), (58, 68)]:
        page.mouse.click(bounds["x"] + (x + 0.5) * scale_x, bounds["y"] + (y + 0.5) * scale_y)
        page.wait_for_timeout(300)
    page.locator("#status", has_text="Object 1: box").wait_for()

    # The page's default is RTS rts_small; the fastest tracker shows the path works.
    page.locator("#tracker input").fill("opencv_mil")
    page.get_by_role("option", name="opencv_mil").click()
    page.locator("#param input").wait_for()
    page.wait_for_function("() => document.querySelector('#param input').value === 'default'")
    page.locator("#track").click()
    page.locator("#status", has_text="Tracked 10 frames").wait_for(timeout=60_000)
    page.locator("#overlay video").wait_for()
    assert page.locator("#overlay video").get_attribute("src")

    link = page.locator("#download a").first
    href = link.get_attribute("href")
    archive = zipfile.ZipFile(io.BytesIO(urllib.request.urlopen(urllib.parse.urljoin(server, href)).read()))
    assert {"boxes.txt", "time.txt", "overlay.mp4"} <= set(archive.namelist())
    page_boxes = np.loadtxt(io.StringIO(archive.read("boxes.txt").decode()), delimiter="\t")

    screenshot = tmp_path / "page_after_tracking.png"
    page.screenshot(path=str(screenshot), full_page=True)
    with capsys.disabled():
        print(f"\nscreenshot: {screenshot}")

    from pytracking_ext.run_video import main as run_video_main

    init = ",".join(f"{v:g}" for v in page_boxes[0])
    out = tmp_path / "run_video"
    assert run_video_main(["opencv_mil", "default", "--input", str(video), "--init-box", init, "--out", str(out)]) == 0
    np.testing.assert_array_equal(page_boxes, np.loadtxt(out / "boxes.txt", delimiter="\t"))
    assert abs(page_boxes[0][0] - 30) <= 1 and abs(page_boxes[0][2] - 28) <= 1
