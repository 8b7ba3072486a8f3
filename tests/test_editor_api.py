"""The pose editor's JSON API through Flask's test client: real MediaPipe on the shared photo,
bad uploads, oversize bodies, wrong content types, path traversal attempts, and the CLI's guards.

The renderer here is a small test double that follows the Renderer protocol (it paints the target
skeleton over the reference), so these tests do not depend on the warp renderer; the browser test
(tests/test_editor_browser.py) uses the real one.
"""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

flask = pytest.importorskip("flask", reason="the editor needs flask (pip install flask)")

from realtime.app.cli import main as cli_main  # noqa: E402
from realtime.app.editor import EditorOptions, EditorService, create_app  # noqa: E402
from realtime.app.editor.app import host_name  # noqa: E402
from realtime.pose import Pose  # noqa: E402
from tests.conftest import video_frame  # noqa: E402

class PaintRenderer:
    """Renderer-protocol test double: the reference with the target's wrists and elbows painted."""

    name = "paint"

    def __init__(self) -> None:
        self.reference: np.ndarray | None = None
        self._rest: Pose | None = None
        self.prepared = 0

    def prepare(self, reference_bgr: np.ndarray, reference_pose: Pose | None = None) -> None:
        self.reference = reference_bgr.copy()
        self._rest = reference_pose
        self.prepared += 1

    @property
    def rest_pose(self) -> Pose:
        return self._rest

    def render(self, target: Pose) -> np.ndarray:
        out = self.reference.copy()
        for name in ("left_wrist", "right_wrist", "left_elbow", "right_elbow"):
            x, y = target[name]
            cv2.circle(out, (int(x), int(y)), 6, (0, 0, 255), -1)
        return out

    def close(self) -> None:
        self.reference = None


def shift_retarget(source: Pose, reference: Pose, mirror: bool = False) -> Pose:
    """Test retargeter: the source pose moved so its hip centre lands on the reference's."""
    src = source.flipped() if mirror else source
    hips = lambda p: (p["left_hip"] + p["right_hip"]) / 2  # noqa: E731
    return src.transformed(1.0, tuple(hips(reference) - hips(src)), width=reference.width,
                           height=reference.height)


@pytest.fixture(scope="module")
def service():
    svc = EditorService(EditorOptions(renderer="paint", max_pixels=4_000_000), renderer=PaintRenderer(),
                        retarget=shift_retarget)
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def client(service):
    app = create_app(EditorOptions(max_upload_bytes=2 * 2**20, max_pixels=4_000_000), service=service)
    app.testing = True
    c = app.test_client()
    c.environ_base["HTTP_ORIGIN"] = "http://localhost"   # what a browser sends from the editor's page
    return c


@pytest.fixture(scope="module")
def photo(media_dir) -> bytes:
    return (media_dir / "pose.jpg").read_bytes()


@pytest.fixture(scope="module")
def estimated(client, photo) -> dict:
    r = client.post("/api/estimate", data={"image": (io.BytesIO(photo), "pose.jpg", "image/jpeg")},
                    content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def upload(client, data: bytes, name: str = "x.jpg", ctype: str = "image/jpeg", url: str = "/api/estimate",
           **form):
    return client.post(url, data={"image": (io.BytesIO(data), name, ctype), **form},
                       content_type="multipart/form-data")


def encode(img: np.ndarray, ext: str = ".png") -> bytes:
    ok, buf = cv2.imencode(ext, img)
    assert ok
    return buf.tobytes()


def decode_data_url(url: str) -> np.ndarray:
    head, _, b64 = url.partition(",")
    assert head.startswith("data:image/")
    img = cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def moved(pose: dict, name: str, dx: float, dy: float) -> dict:
    p = json.loads(json.dumps(pose))
    i = p["names"].index(name)
    p["keypoints"][i][0] += dx
    p["keypoints"][i][1] += dy
    return p


# -- page and static files ----------------------------------------------------------------------
def test_page_and_static_files(client):
    r = client.get("/")
    assert r.status_code == 200 and b"/static/editor.js" in r.data
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    js = client.get("/static/editor.js")
    assert js.status_code == 200 and "javascript" in js.mimetype and b"/api/render" in js.data
    assert client.get("/static/editor.css").status_code == 200


@pytest.mark.parametrize("path", [
    "/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/..%2f..%2feditor%2fapp.py",
    "/static/%2e%2e%2f%2e%2e%2fpose.py", "/static/..%5capp.py", "/static//etc/passwd", "/static/%2fetc%2fpasswd",
    "/static/....//app.py", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/api/../app.py",
    "/static/%252e%252e/app.py", "/static/.%00./app.py", "/app.py", "/realtime/app/editor/app.py",
])
def test_path_traversal_serves_nothing_outside_static(client, path):
    r = client.get(path, follow_redirects=True)    # werkzeug may first redirect "//" to "/"
    assert r.status_code in (400, 404), (path, r.status_code)
    assert b"def create_app" not in r.data and b"root:" not in r.data and b"import" not in r.data
    if r.status_code == 404:
        assert "error" in r.get_json()


def test_api_errors_are_json(client):
    r = client.get("/api/render")            # wrong method
    assert r.status_code == 405 and "error" in r.get_json()
    r = client.get("/api/nothing")
    assert r.status_code == 404 and "error" in r.get_json()


def test_info_lists_the_editing_layout(client):
    info = client.get("/api/info").get_json()
    assert info["renderer"] == "paint" and info["layout"] == "mediapipe33"
    assert len(info["names"]) == 33 and ["left_elbow", "left_wrist"] in info["bones"]
    assert info["max_upload_bytes"] == 2 * 2**20


def test_loopback_only_unless_allowed(service):
    strict = create_app(EditorOptions(), service=service).test_client()
    assert strict.get("/api/info", headers={"Host": "evil.example"}).status_code == 400
    assert strict.get("/api/info", headers={"Host": "127.0.0.1:8765"}).status_code == 200
    assert strict.get("/api/info", headers={"Host": "[::1]:8765"}).status_code == 200
    assert strict.get("/api/info", headers={"Host": "127.0.0.2:8765"}).status_code == 200
    assert strict.get("/api/info", headers={"Host": "127.0.0.1.evil.example"}).status_code == 400
    remote_app = create_app(EditorOptions(), service=service, allow_remote=True)
    token = remote_app.extensions["repose_guard"].token
    remote = remote_app.test_client()
    assert remote.get("/api/info", headers={"Host": "editor.lan:8765"}).status_code == 403   # no token
    assert remote.get("/api/info", headers={"Host": "editor.lan:8765", "X-Repose-Token": "x"}).status_code == 403
    r = remote.get(f"/api/info?token={token}", headers={"Host": "editor.lan:8765"})
    assert r.status_code == 200 and "repose_token=" in r.headers["Set-Cookie"]
    assert remote.get("/api/info", headers={"Host": "editor.lan:8765"}).status_code == 200   # the cookie
    assert remote.get("/api/info", headers={"Host": "editor.lan:8765", "X-Repose-Token": token}).status_code == 200


def test_host_name():
    assert host_name("localhost:8765") == "localhost"
    assert host_name("[::1]:80") == "::1"
    assert host_name("127.0.0.1") == "127.0.0.1"
    assert host_name("evil.example:80") == "evil.example"


# -- estimate --------------------------------------------------------------------------------------
def test_estimate_finds_the_person(estimated):
    assert len(estimated["reference"]) == 32
    assert (estimated["width"], estimated["height"]) == (1000, 667)
    pose = estimated["pose"]
    assert pose["layout"] == "mediapipe33" and len(pose["keypoints"]) == 33 and len(pose["z"]) == 33
    kp = np.array(pose["keypoints"])
    assert (kp[:, 2] >= 0.5).sum() >= 20
    lw = kp[pose["names"].index("left_wrist")]
    assert lw[2] >= 0.5 and 0 <= lw[0] < 1000 and 0 <= lw[1] < 667
    img = decode_data_url(estimated["image"])
    assert img.shape == (667, 1000, 3)


def test_same_photo_same_reference(client, photo, estimated):
    again = upload(client, photo, "again.jpg").get_json()
    assert again["reference"] == estimated["reference"]


def test_large_photo_is_scaled_down(client, photo):
    big = cv2.resize(cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR), (1800, 1200))
    r = upload(client, encode(big, ".jpg"), "big.jpg")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["width"], body["height"]) == (1280, 853) and body["scale"] < 1
    assert body["pose"]["width"] == 1280


@pytest.mark.parametrize("data, ctype, status, words", [
    (b"", "image/jpeg", 400, "empty"),
    (b"hello, this is not an image", "image/jpeg", 400, "not a readable image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png", 400, "not a readable image"),
    (b"GIF89a" + b"\x00" * 64, "image/gif", 415, "content type"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", 415, "content type"),
    (b"#!/bin/sh\necho pwned\n", "text/plain", 415, "content type"),
    (b"\x00" * 100, "application/octet-stream", 415, "content type"),
])
def test_bad_uploads(client, data, ctype, status, words):
    r = upload(client, data, "bad.jpg", ctype)
    assert r.status_code == status, r.get_json()
    assert words in r.get_json()["error"]


@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_truncated_image_is_refused(client, photo, kind):
    # the header is intact (Pillow reads the format and size), the pixels are cut off
    data = photo if kind == "jpeg" else encode(cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR))
    r = upload(client, data[: len(data) // 3], f"cut.{kind}", f"image/{kind}")
    assert r.status_code == 400 and "damaged" in r.get_json()["error"]


def test_image_format_must_match_allowed_list(client):
    gif = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (64, 64), (200, 10, 10)).save(gif, format="GIF")
    r = upload(client, gif.getvalue(), "lies.png", "image/png")     # declared PNG, really GIF
    assert r.status_code == 415 and "GIF" in r.get_json()["error"]


def test_too_many_pixels_refused_before_decoding(client):
    r = upload(client, encode(np.zeros((2100, 2100, 3), np.uint8)), "huge.png", "image/png")
    assert r.status_code == 413 and "megapixels" in r.get_json()["error"]


def test_too_small_image(client):
    r = upload(client, encode(np.zeros((10, 10, 3), np.uint8)), "tiny.png", "image/png")
    assert r.status_code == 400 and "too small" in r.get_json()["error"]


def test_oversize_body_is_413(client):
    blob = np.random.default_rng(0).integers(0, 255, 3 * 2**20, dtype=np.uint8).tobytes()
    r = upload(client, blob, "big.jpg")
    assert r.status_code == 413 and "too large" in r.get_json()["error"]


def test_upload_needs_multipart_and_image_field(client, photo):
    r = client.post("/api/estimate", data=photo, content_type="image/jpeg")
    assert r.status_code == 415 and "multipart" in r.get_json()["error"]
    r = client.post("/api/estimate", data={"photo": (io.BytesIO(photo), "p.jpg", "image/jpeg")},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and "'image'" in r.get_json()["error"]


def test_no_person_is_422(client):
    y, x = np.mgrid[0:240, 0:320]
    gradient = np.dstack([x % 256, y % 256, (x + y) % 256]).astype(np.uint8)
    r = upload(client, encode(gradient), "empty.png", "image/png")
    assert r.status_code == 422 and "no person" in r.get_json()["error"]


# -- render ----------------------------------------------------------------------------------------
def test_render_rest_and_edited(client, estimated):
    ref, pose = estimated["reference"], estimated["pose"]
    rest = client.post("/api/render", json={"reference": ref, "pose": pose})
    assert rest.status_code == 200, rest.get_json()
    a = decode_data_url(rest.get_json()["image"])
    assert a.shape == (667, 1000, 3)
    edited = client.post("/api/render", json={"reference": ref, "pose": moved(pose, "left_wrist", -60, -80)})
    b = decode_data_url(edited.get_json()["image"])
    changed = np.argwhere(np.abs(a.astype(int) - b.astype(int)).sum(axis=2) > 30)
    assert len(changed) > 50
    lw = np.array(pose["keypoints"][pose["names"].index("left_wrist")][:2])
    # every changed pixel lies near the old or the new wrist position
    near = np.minimum(np.linalg.norm(changed[:, ::-1] - lw, axis=1),
                      np.linalg.norm(changed[:, ::-1] - (lw + [-60, -80]), axis=1))
    assert near.max() < 6 + 16 + 2   # the painted dot, then JPEG blocks (16 px with chroma subsampling)


def test_render_png_format_and_cache(client, estimated):
    body = {"reference": estimated["reference"], "pose": estimated["pose"]}
    r = client.post("/api/render?format=png", json=body)
    assert r.status_code == 200 and r.mimetype == "image/png" and r.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.post("/api/render", json=body).get_json()["cached"] is True


@pytest.mark.parametrize("mutate, status, words", [
    (lambda b: {**b, "reference": "../../etc/passwd"}, 400, "32-hex-digit"),
    (lambda b: {**b, "reference": "0" * 32}, 404, "unknown reference"),
    (lambda b: {k: v for k, v in b.items() if k != "pose"}, 400, "lacks 'pose'"),
    (lambda b: {**b, "pose": {**b["pose"], "width": 999}}, 400, "reference is 1000x667"),
    (lambda b: {**b, "pose": {**b["pose"], "keypoints": b["pose"]["keypoints"][:10]}}, 400, "33 keypoints"),
    (lambda b: {**b, "pose": {**b["pose"], "layout": "smpl"}}, 400, "unknown keypoint layout"),
    (lambda b: {**b, "pose": {**b["pose"], "keypoints": [[1, 2]] * 33}}, 400, "[x, y, score]"),
    (lambda b: {**b, "pose": {**b["pose"], "keypoints": [["a", 2, 1]] * 33}}, 400, "finite number"),
    (lambda b: {**b, "pose": {**b["pose"], "keypoints": [[1, 2, 7]] * 33}}, 400, "[0, 1]"),
    (lambda b: {**b, "pose": {**b["pose"], "z": [0] * 3}}, 400, "z must be"),
    (lambda b: {**b, "pose": "lying down"}, 400, "expected a pose object"),
    (lambda b: {**b, "pose": {**b["pose"], "width": True}}, 400, "positive integer"),
])
def test_render_rejects_bad_requests(client, estimated, mutate, status, words):
    body = mutate({"reference": estimated["reference"], "pose": estimated["pose"]})
    r = client.post("/api/render", json=body)
    assert r.status_code == status, r.get_json()
    assert words in r.get_json()["error"]


def test_render_rejects_non_json(client, estimated):
    r = client.post("/api/render", data="reference=x", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415
    r = client.post("/api/render", data="{not json", content_type="application/json")
    assert r.status_code == 400 and "JSON object" in r.get_json()["error"]
    body = json.loads(json.dumps({"reference": estimated["reference"], "pose": estimated["pose"]}))
    body["pose"]["keypoints"][0][0] = float("nan")
    r = client.post("/api/render", data=json.dumps(body), content_type="application/json")
    assert r.status_code == 400 and "finite" in r.get_json()["error"]


# -- evaluate, pose from another photo, export -------------------------------------------------------
def test_evaluate_rest_pose(client, estimated):
    r = client.post("/api/evaluate", json={"reference": estimated["reference"], "pose": estimated["pose"]})
    assert r.status_code == 200, r.get_json()
    ev = r.get_json()
    # the paint renderer keeps the photo: the estimator finds the same person where it was
    assert ev["keypoints_expected"] >= 10
    assert ev["mkr"] is not None and ev["mkr"] <= 0.2
    assert ev["akd_px"] is not None and ev["akd_px"] < 15
    assert ev["found_pose"]["layout"] == "mediapipe33"


def test_pose_from_another_photo(client, estimated, media_dir):
    frame = video_frame(media_dir / "pose_1.mp4", 30)
    r = upload(client, encode(frame, ".jpg"), "other.jpg", url="/api/pose-from-photo",
               reference=estimated["reference"])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["pose"]["width"], body["pose"]["height"]) == (1000, 667)
    assert (body["source_pose"]["width"], body["source_pose"]["height"]) == (576, 576)
    assert body["mirror"] is False
    target = np.array(body["pose"]["keypoints"])
    ref = np.array(estimated["pose"]["keypoints"])
    names = estimated["pose"]["names"]
    hips = [names.index("left_hip"), names.index("right_hip")]
    np.testing.assert_allclose(target[hips, :2].mean(0), ref[hips, :2].mean(0), atol=0.05)
    # and the result renders
    assert client.post("/api/render", json={"reference": estimated["reference"], "pose": body["pose"]}).status_code == 200


def test_pose_from_photo_real_retargeting_keeps_reference_bone_lengths(photo, media_dir):
    """With calibration's retargeting: the other photo's bone directions, the reference's lengths."""
    from calibration.retarget import bone_directions, bone_lengths

    frame = video_frame(media_dir / "pose_squats.mp4", 20)
    svc = EditorService(EditorOptions(), renderer=PaintRenderer())     # default retargeting
    try:
        ref = svc.add_reference(photo)
        for mirror in (False, True):
            target, source = svc.pose_from_photo(ref.image_id, encode(frame, ".jpg"), mirror=mirror)
            assert target.layout is ref.pose.layout and (target.width, target.height) == (1000, 667)
            want, got = bone_lengths(ref.pose, 0.5), bone_lengths(target, 0.5)
            src_dirs = bone_directions(source.flipped() if mirror else source, 0.5)
            dirs = bone_directions(target, 0.5)
            for bone in ("left_elbow", "right_elbow", "left_wrist", "left_knee", "right_ankle"):
                key = next(k for k in want if k[0] == bone)
                assert got[key] == pytest.approx(want[key], rel=0.02), bone
                np.testing.assert_allclose(dirs[key], src_dirs[key], atol=0.02)
    finally:
        svc.close()


def test_pose_from_photo_errors(client, estimated, photo):
    r = upload(client, photo, url="/api/pose-from-photo", reference="nope")
    assert r.status_code == 400 and "32-hex-digit" in r.get_json()["error"]
    r = upload(client, b"not an image", url="/api/pose-from-photo", reference=estimated["reference"])
    assert r.status_code == 400


def test_export_openpose(client, estimated):
    r = client.post("/api/export/openpose", json={"pose": estimated["pose"]})
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    op = r.get_json()
    flat = op["people"][0]["pose_keypoints_2d"]
    assert len(flat) == 54 and (op["canvas_width"], op["canvas_height"]) == (1000, 667)
    names = estimated["pose"]["names"]
    lw = estimated["pose"]["keypoints"][names.index("left_wrist")]
    np.testing.assert_allclose(flat[7 * 3: 7 * 3 + 2], lw[:2], atol=0.01)   # COCO-18 index 7: left wrist


def test_saved_openpose_pose_loads_back_as_is(client, estimated):
    ref, pose = estimated["reference"], estimated["pose"]
    edited = moved(pose, "left_wrist", -40, -90)
    op = client.post("/api/export/openpose", json={"pose": edited}).get_json()
    r = client.post("/api/pose-from-json", json={"reference": ref, "pose": op})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["retargeted"] is False and body["pose"]["layout"] == "mediapipe33"
    back = np.array(body["pose"]["keypoints"])
    names = pose["names"]
    for name in ("left_wrist", "left_elbow", "right_knee", "nose"):
        i = names.index(name)
        np.testing.assert_allclose(back[i, :2], edited["keypoints"][i][:2], atol=0.01)
    # points OpenPose lacks follow their parent: the left hand moved with the wrist
    i = names.index("left_index")
    np.testing.assert_allclose(back[i, :2], np.array(pose["keypoints"][i][:2]) + [-40, -90], atol=0.02)
    assert client.post("/api/render", json={"reference": ref, "pose": body["pose"]}).status_code == 200


def test_pose_of_another_image_is_retargeted(client, estimated, media_dir):
    other = upload(client, encode(video_frame(media_dir / "pose_1.mp4", 60), ".jpg"), "frame.jpg").get_json()
    assert (other["width"], other["height"]) == (576, 576)
    r = client.post("/api/pose-from-json", json={"reference": estimated["reference"], "pose": other["pose"],
                                                   "mirror": True})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["retargeted"] is True and body["mirror"] is True
    assert (body["pose"]["width"], body["pose"]["height"]) == (1000, 667)


@pytest.mark.parametrize("pose, status, words", [
    ({"people": []}, 400, "holds no person"),
    ({"people": [{"pose_keypoints_2d": [1, 2, 0.5] * 3}]}, 400, "54 numbers"),
    ({"people": [{"pose_keypoints_2d": [1, 2, 0.5] * 18}], "canvas_width": -3}, 400, "canvas_width"),
    ({"people": [{"pose_keypoints_2d": [1, 2, 0.0] * 18}]}, 422, "no keypoint"),
    ({"people": [{"pose_keypoints_2d": [1, 2, 5] * 18}]}, 400, "[0, 1]"),
    ({"layout": "coco17"}, 400, "lacks"),
])
def test_pose_from_json_rejects_bad_files(client, estimated, pose, status, words):
    r = client.post("/api/pose-from-json", json={"reference": estimated["reference"], "pose": pose})
    assert r.status_code == status, r.get_json()
    assert words in r.get_json()["error"]
    r = client.post("/api/pose-from-json", json={"reference": estimated["reference"], "pose": {"people": []},
                                                   "mirror": "yes"})
    assert r.status_code == 400


def test_render_accepts_coco_and_openpose_layouts(client, estimated):
    from realtime.app.editor.codec import pose_from_json, pose_to_json

    mp = pose_from_json(estimated["pose"])
    for layout in ("coco17", "openpose18"):
        body = {"reference": estimated["reference"], "pose": pose_to_json(mp.to_layout(layout))}
        r = client.post("/api/render", json=body)
        assert r.status_code == 200, r.get_json()


def test_complete_pose_moves_missing_points_with_their_parent(estimated):
    from realtime.app.editor.codec import pose_from_json
    from realtime.app.editor.service import complete_pose

    rest = pose_from_json(estimated["pose"])
    shifted = rest.to_layout("coco17").transformed(1.0, (25.0, -10.0))
    done = complete_pose(shifted, rest)
    assert done.layout is rest.layout
    np.testing.assert_allclose(done.xy, rest.xy + [25.0, -10.0], atol=1e-3)   # hands, feet, mouth too
    np.testing.assert_allclose(done.z, rest.z)
    assert (done.score <= np.maximum(rest.score, shifted.score.max()) + 1e-6).all()


def test_reference_cache_evicts(photo):
    svc = EditorService(EditorOptions(cache_size=1), renderer=PaintRenderer(), retarget=shift_retarget)
    try:
        first = svc.add_reference(photo)
        img = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
        second = svc.add_reference(encode(cv2.flip(img, 1), ".jpg"))
        assert second.image_id != first.image_id
        with pytest.raises(Exception, match="unknown reference"):
            svc.reference(first.image_id)
    finally:
        svc.close()


# -- the command ------------------------------------------------------------------------------------
def test_cli_help(capsys):
    with pytest.raises(SystemExit) as e:
        cli_main(["editor", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--allow-remote" in out and "--checkpoint" in out


@pytest.mark.parametrize("argv, words", [
    (["editor", "--host", "0.0.0.0"], "--allow-remote"),
    (["editor", "--host", "192.168.1.5", "--port", "0"], "--allow-remote"),
    (["editor", "--renderer", "learned"], "--checkpoint"),
    (["editor", "--checkpoint", "/nonexistent/ckpt.safetensors", "--renderer", "learned"], "no such file"),
    (["editor", "--port", "70000"], "--port"),
    (["editor", "--checkpoint", __file__], "--renderer learned"),
    (["editor", "--renderer", "nonsense", "--port", "0"], "unknown renderer"),
])
def test_cli_refuses_bad_flags(capsys, argv, words):
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_cli_starts_server_and_prints_url(monkeypatch, capsys):
    """`repose editor --port 0` listens on loopback, prints its URL and serves the page and the API."""
    import threading
    import urllib.request

    from engines.renderer import RENDERERS
    from realtime.app.editor import app as app_module

    monkeypatch.setitem(RENDERERS, "paint", f"{__name__}:PaintRenderer")
    servers = []
    real_serve = app_module.serve
    monkeypatch.setattr(app_module, "serve", lambda *a, **k: servers.append(real_serve(*a, **k)) or servers[-1])
    result = []
    thread = threading.Thread(target=lambda: result.append(cli_main(["editor", "--port", "0", "--renderer", "paint"])))
    thread.start()
    try:
        for _ in range(200):
            if servers:
                break
            thread.join(0.05)
        assert servers, "the editor did not start"
        port = servers[0].port
        assert servers[0].host == "127.0.0.1"
        for _ in range(100):
            if f":{port}/" in capsys.readouterr().out:
                break
            thread.join(0.05)
        else:
            pytest.fail("no URL printed")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=10) as r:
            assert json.loads(r.read())["renderer"] == "paint"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            assert b"editor.js" in r.read()
    finally:
        if servers:
            servers[0].shutdown()
        thread.join(10)
    assert result == [0]


# -- pose JSON from clients ---------------------------------------------------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402

from realtime.app.editor.codec import pose_from_json, pose_to_json  # noqa: E402
from realtime.errors import InputError  # noqa: E402
from realtime.layouts import LAYOUTS  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(layout=st.sampled_from(sorted(LAYOUTS)), seed=st.integers(0, 2**32 - 1), with_z=st.booleans())
def test_pose_json_round_trip(layout, seed, with_z):
    lay = LAYOUTS[layout]
    rng = np.random.default_rng(seed)
    k = len(lay)
    pose = Pose(xy=rng.uniform(0, 1000, (k, 2)), score=rng.uniform(0, 1, k), layout=lay, width=1000,
                height=700, z=rng.uniform(-300, 300, k) if with_z else None)
    back = pose_from_json(json.loads(json.dumps(pose_to_json(pose))))
    assert back.layout is lay and (back.width, back.height) == (1000, 700)
    np.testing.assert_allclose(back.xy, pose.xy, atol=0.006)
    np.testing.assert_allclose(back.score, pose.score, atol=6e-5)
    assert (back.z is None) == (not with_z)
    if with_z:
        np.testing.assert_allclose(back.z, pose.z, atol=0.006)


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=20))
def test_pose_json_rejects_junk_with_input_error(junk):
    # whatever a client sends, the answer is a clear InputError (400), never a crash (500)
    with pytest.raises(InputError):
        pose_from_json(junk)


# -- face and hand preview ---------------------------------------------------------------------------
class StagesRenderer(PaintRenderer):
    """PaintRenderer that says it moves the face and the left hand's fingers (as the warp renderer's
    has_face / hand_sides do)."""

    name = "stages"
    has_face = True
    hand_sides = ("left",)


def test_features_show_the_face_and_hands_the_stages_see(client, estimated):
    r = client.post("/api/features", json={"reference": estimated["reference"]})
    assert r.status_code == 200, r.get_json()
    f = r.get_json()
    pose = estimated["pose"]
    nose = np.array(pose["keypoints"][pose["names"].index("nose")][:2])
    face = np.array(f["face"])
    assert face.shape == (478, 2)
    assert np.linalg.norm(np.median(face, axis=0) - nose) < 25      # the mesh sits on the face
    for side, pts in f["hands"].items():
        wrist = np.array(pose["keypoints"][pose["names"].index(f"{side}_wrist")][:2])
        assert np.array(pts).shape == (21, 2) and np.linalg.norm(np.array(pts[0]) - wrist) < 40
        assert 0 <= f["finger_bend"][side] <= 180
    assert len(f["hand_bones"]) == 20 and all(0 <= i < 21 for b in f["hand_bones"] for i in b)
    # the paint renderer moves neither: the preview says so, one line each
    assert f["face_stage"] is False and f["hand_stage"] == []
    assert any("does not move the face" in n for n in f["notes"])
    assert sum("hand" in n for n in f["notes"]) == 2
    again = client.post("/api/features", json={"reference": estimated["reference"]}).get_json()
    assert again["face"] == f["face"]                                # cached per reference


def test_features_report_the_renderers_stages(photo):
    svc = EditorService(EditorOptions(renderer="stages"), renderer=StagesRenderer(), retarget=shift_retarget)
    try:
        app = create_app(EditorOptions(), service=svc)
        c = app.test_client()
        c.environ_base["HTTP_ORIGIN"] = "http://localhost"
        ref = upload(c, photo, "pose.jpg").get_json()["reference"]
        f = c.post("/api/features", json={"reference": ref}).get_json()
        assert f["face_stage"] is True and f["hand_stage"] == ["left"]
        assert not any("face" in n for n in f["notes"])
    finally:
        svc.close()


def test_features_need_a_known_reference(client):
    assert client.post("/api/features", json={"reference": "0" * 32}).status_code == 404
    assert client.post("/api/features", json={"reference": "../x"}).status_code == 400
    assert client.post("/api/features", data="x", content_type="text/plain").status_code == 415
