"""End to end: the pose editor in a real headless Chromium (Debian's `chromium`, driven by Playwright).

Loads the shared photo through the page's file chooser, checks that an unreadable file shows as a
message, drags the left wrist with the mouse (hover shows the joint's name, the forearm follows,
undo works), renders with the real warp renderer and checks that the output changed around that
arm and hardly anywhere else, evaluates (AKD, MKR) and saves a screenshot.
"""
from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import video_frame

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path(os.environ.get("REPOSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RENDERER = "warp"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install playwright)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server_url():
    pytest.importorskip("flask", reason="the editor needs flask (pip install flask)")
    from engines.renderer import RENDERERS
    from realtime.app.editor import EditorOptions, EditorService, create_app
    from realtime.app.editor.app import serve

    if RENDERER not in RENDERERS:
        pytest.skip(f"the {RENDERER} renderer is not registered in engines.renderer.RENDERERS")
    service = EditorService(EditorOptions(renderer=RENDERER))
    server = serve(create_app(service.options, service=service), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}/"
    server.shutdown()
    thread.join(5)
    service.close()


def _save_small_png(src: Path, dst: Path) -> None:
    """A 256-colour (dithered) copy of a screenshot: about 90 KB instead of 400 KB, for the README."""
    from PIL import Image

    with Image.open(src) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE,
                                           dither=Image.Dither.FLOYDSTEINBERG)
    small.save(dst, optimize=True)


def _image_of(page, selector: str) -> np.ndarray:
    src = page.get_attribute(selector, "src")
    assert src and src.startswith("data:image/"), src
    img = cv2.imdecode(np.frombuffer(base64.b64decode(src.partition(",")[2]), np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def _joint(page, name: str) -> tuple[float, float]:
    c = page.locator(f'#svg-ref circle[data-name="{name}"]')
    return float(c.get_attribute("cx")), float(c.get_attribute("cy"))


def _screen_of(page, xy: tuple[float, float]) -> tuple[float, float]:
    """Image pixel -> page coordinates, through the SVG's own transform."""
    return tuple(page.evaluate(
        """([x, y]) => { const svg = document.getElementById('svg-ref');
             const p = svg.createSVGPoint(); p.x = x; p.y = y;
             const q = p.matrixTransform(svg.getScreenCTM()); return [q.x, q.y]; }""", list(xy)))


def _drag(page, start_px, end_px, steps: int = 12) -> None:
    sx, sy = _screen_of(page, start_px)
    ex, ey = _screen_of(page, end_px)
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(ex, ey, steps=steps)
    page.mouse.up()


def _drop_file(page, selector: str, path: Path) -> None:
    """Drop a file on an element as a user dragging it from the desktop would (a DataTransfer)."""
    page.evaluate(
        """([sel, b64, name]) => {
             const bin = atob(b64); const bytes = new Uint8Array(bin.length);
             for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
             const dt = new DataTransfer();
             dt.items.add(new File([bytes], name, { type: "image/jpeg" }));
             const zone = document.querySelector(sel);
             for (const type of ["dragenter", "dragover", "drop"])
               zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
           }""", [selector, base64.b64encode(path.read_bytes()).decode(), path.name])


# Waits use selectors, not wait_for_function: the page's Content-Security-Policy forbids eval.
def _wait_idle(page) -> None:
    page.wait_for_selector("body[data-busy='0']", state="attached", timeout=60_000)


def test_drag_wrist_render_evaluate(browser, server_url, media_dir, tmp_path):
    page = browser.new_page(viewport={"width": 1500, "height": 760})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server_url)
    page.wait_for_selector("body[data-ready='1']", state="attached")
    assert RENDERER in page.inner_text("#renderer-name")

    # an unreadable file shows a message on the page, not a broken state
    page.set_input_files("#file-reference", files=[{"name": "notes.jpg", "mimeType": "image/jpeg",
                                                    "buffer": b"these are not pixels"}])
    page.wait_for_selector("#message.error:not([hidden])")
    assert "not a readable image" in page.inner_text("#message")
    assert page.is_disabled("#btn-render")
    # so does a photo without a person
    y, x = np.mgrid[0:240, 0:320]
    empty = cv2.imencode(".png", np.dstack([x % 256, y % 256, (x + y) % 256]).astype(np.uint8))[1].tobytes()
    page.set_input_files("#file-reference", files=[{"name": "wall.png", "mimeType": "image/png", "buffer": empty}])
    page.wait_for_selector("#message.error:has-text('no person found')")
    assert page.is_disabled("#btn-render")

    # the photo, dropped on the page, with its skeleton
    _drop_file(page, "#drop", media_dir / "pose.jpg")
    page.wait_for_selector('#svg-ref circle[data-name="left_wrist"]')
    _wait_idle(page)
    assert page.locator("#svg-ref circle[data-name]").count() == 33
    wrist0, elbow = _joint(page, "left_wrist"), _joint(page, "left_elbow")
    shoulder = _joint(page, "left_shoulder")

    page.click("#btn-render")
    page.wait_for_selector("body[data-renders='1']", state="attached", timeout=60_000)
    _wait_idle(page)
    before = _image_of(page, "#img-out")
    h, w = before.shape[:2]

    # hovering a joint names it
    page.mouse.move(*_screen_of(page, wrist0))
    page.wait_for_selector("#joint-label:not([hidden])")
    assert page.inner_text("#joint-label") == "left wrist"

    # drag the left wrist up: the forearm follows, undo puts it back, drag again
    target = (wrist0[0] - 0.05 * w, wrist0[1] - 0.22 * h)
    _drag(page, wrist0, target)
    moved = _joint(page, "left_wrist")
    assert np.hypot(moved[0] - target[0], moved[1] - target[1]) < 0.01 * w, (moved, target)
    bone = page.locator('#svg-ref line[data-bone="left_elbow-left_wrist"]')
    assert abs(float(bone.get_attribute("x2")) - moved[0]) < 0.5
    assert abs(float(bone.get_attribute("y2")) - moved[1]) < 0.5
    assert _joint(page, "left_elbow") == elbow
    page.click("#btn-undo")
    assert np.allclose(_joint(page, "left_wrist"), wrist0, atol=0.5)
    _drag(page, wrist0, target)
    dragged = _joint(page, "left_wrist")
    # arrow keys nudge the joint last touched (Shift: 10 px); a run of nudges is one undo step
    assert page.locator('#svg-ref circle.selected[data-name="left_wrist"]').count() == 1
    for _ in range(3):
        page.keyboard.press("Shift+ArrowUp")
    page.keyboard.press("ArrowLeft")
    assert np.allclose(_joint(page, "left_wrist"), (dragged[0] - 1, dragged[1] - 30), atol=0.01)
    page.keyboard.press("Control+z")
    assert np.allclose(_joint(page, "left_wrist"), dragged, atol=0.01)
    moved = dragged

    page.click("#btn-render")
    page.wait_for_selector("body[data-renders='2']", state="attached", timeout=60_000)
    _wait_idle(page)
    after = _image_of(page, "#img-out")
    assert after.shape == before.shape

    # the output changed around the left arm and hardly elsewhere
    changed = np.abs(after.astype(np.int16) - before.astype(np.int16)).max(axis=2) > 40
    arm = np.zeros_like(changed)
    pts = np.array([shoulder, elbow, wrist0, moved], np.float32)
    pad = 0.06 * max(w, h)
    x0, y0 = np.maximum(pts.min(0) - pad, 0).astype(int)
    x1, y1 = np.minimum(pts.max(0) + pad, [w, h]).astype(int)
    arm[y0:y1, x0:x1] = True
    inside = changed[arm].mean()
    outside = changed[~arm].mean()
    assert changed[arm].sum() > 500, "the output hardly changed around the dragged arm"
    assert inside > 10 * outside, (inside, outside)
    assert outside < 0.01, outside
    right_arm = [_joint(page, n) for n in ("right_shoulder", "right_elbow", "right_wrist")]
    rx0, ry0 = np.maximum(np.min(right_arm, 0) - pad, 0).astype(int)
    rx1, ry1 = np.minimum(np.max(right_arm, 0) + pad, [w, h]).astype(int)
    assert changed[ry0:ry1, rx0:rx1].mean() < 0.01

    # evaluate: AKD and MKR shown, found skeleton drawn on the output
    page.click("#btn-evaluate")
    page.wait_for_selector("#metrics[data-mkr]", state="attached", timeout=60_000)
    _wait_idle(page)
    text = page.inner_text("#metrics")
    assert "AKD" in text and "MKR" in text
    mkr = float(page.get_attribute("#metrics", "data-mkr"))
    assert 0.0 <= mkr <= 1.0
    assert page.locator("#svg-out g.target line").count() > 5

    # the screenshot of the edited arm, its render and the evaluation
    shot = tmp_path / "editor.png"
    page.mouse.move(0, 0)
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("REPOSE_EDITOR_SCREENSHOT"):     # refreshes docs/editor.png
        _save_small_png(shot, Path(os.environ["REPOSE_EDITOR_SCREENSHOT"]))

    # downloads: the output as a lossless PNG, the pose as OpenPose JSON
    with page.expect_download() as dl:
        page.click("#btn-png")
    png = cv2.imread(dl.value.path(), cv2.IMREAD_COLOR)
    assert png is not None and png.shape == after.shape
    assert np.abs(png.astype(np.int16) - after.astype(np.int16)).mean() < 3     # JPEG view vs PNG
    with page.expect_download() as dl:
        page.click("#btn-openpose")
    op = json.loads(Path(dl.value.path()).read_text())
    assert dl.value.suggested_filename == "pose_keypoints.json"
    flat = op["people"][0]["pose_keypoints_2d"]
    assert len(flat) == 54 and np.allclose(flat[7 * 3: 7 * 3 + 2], moved, atol=0.05)   # COCO-18 7 = left wrist
    # ... and the saved pose loads back (after a reset)
    page.click("#btn-reset")
    assert np.allclose(_joint(page, "left_wrist"), wrist0, atol=0.5)
    page.set_input_files("#file-pose", dl.value.path())
    page.wait_for_selector("#message.info:has-text('Pose loaded')", timeout=60_000)
    _wait_idle(page)
    assert np.allclose(_joint(page, "left_wrist"), moved, atol=0.05)

    # pose from another photo (a frame of pose_1.mp4), fitted to this person; Reset brings the photo's own pose back
    frame = video_frame(media_dir / "pose_1.mp4", 30)
    other = tmp_path / "other.jpg"
    cv2.imwrite(str(other), frame)
    rest_wrist = wrist0
    page.set_input_files("#file-other", str(other))
    page.wait_for_selector("#message.info:has-text('fitted')", timeout=60_000)
    _wait_idle(page)
    took = _joint(page, "left_wrist")
    assert np.hypot(took[0] - moved[0], took[1] - moved[1]) > 5
    assert page.locator("#stage-out.stale").count() == 1          # the output no longer matches the pose
    page.click("#btn-reset")
    assert np.allclose(_joint(page, "left_wrist"), rest_wrist, atol=0.5)
    page.click("#btn-undo")                                        # undo the reset: the other photo's pose
    assert np.allclose(_joint(page, "left_wrist"), took, atol=0.5)
    page.click("#btn-render")
    page.wait_for_selector("body[data-renders='3']", state="attached", timeout=60_000)
    _wait_idle(page)

    shot = tmp_path / "editor_final.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert not errors, errors
    page.close()


def test_face_and_hand_preview(browser, server_url, media_dir, tmp_path):
    """The photo's Face Mesh and hand landmarks drawn over it, the line saying what follows a driver;
    the marks move with the nose when it is dragged, and hide with the checkbox."""
    page = browser.new_page(viewport={"width": 1500, "height": 760})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server_url)
    page.wait_for_selector("body[data-ready='1']", state="attached")
    page.set_input_files("#file-reference", str(media_dir / "webcam_still.jpg"))
    page.wait_for_selector("#svg-ref g.features circle", state="attached", timeout=60_000)
    _wait_idle(page)
    assert page.locator("#svg-ref g.features circle").count() == 478
    text = page.inner_text("#features")
    assert "face: follows the driver's expression" in text, text
    assert "left hand: fingers follow" in text, text
    assert page.locator("#svg-ref g.features g.moving line").count() == 20
    shot = tmp_path / "features.png"
    page.mouse.move(0, 0)
    page.screenshot(path=str(shot))
    if os.environ.get("REPOSE_FEATURES_SCREENSHOT"):     # refreshes docs/editor_features.png
        _save_small_png(shot, Path(os.environ["REPOSE_FEATURES_SCREENSHOT"]))
    first = page.locator("#svg-ref g.features circle").first
    before = float(first.get_attribute("cx"))
    nose = _joint(page, "nose")
    _drag(page, nose, (nose[0] + 40, nose[1]))
    after = float(page.locator("#svg-ref g.features circle").first.get_attribute("cx"))
    assert after == pytest.approx(before + 40, abs=3)
    page.uncheck("#chk-features")
    assert page.locator("#svg-ref g.features").count() == 0
    assert not errors, errors
