"""The editor's request safety (realtime/websafety.py through the Flask app): cross-site requests,
DNS rebinding, remote tokens, decompression bombs, nested/huge JSON and unexpected errors."""
from __future__ import annotations

import io
import struct
import zlib

import pytest

flask = pytest.importorskip("flask", reason="the editor needs flask (pip install flask)")

from realtime.app.editor import EditorOptions, EditorService, create_app  # noqa: E402


class _Renderer:
    name = "test"

    def prepare(self, reference_bgr, reference_pose=None) -> None:
        self._rest = reference_pose

    @property
    def rest_pose(self):
        return self._rest

    def render(self, target):
        raise RuntimeError("secret /home/user/path in the exception text")

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def app():
    service = EditorService(EditorOptions(renderer="test"), renderer=_Renderer())
    app = create_app(EditorOptions(), service=service)
    yield app
    service.close()


def _png_header(w: int, h: int) -> bytes:
    """A tiny PNG whose header declares w x h pixels (a decompression bomb's calling card)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def _upload(client, data: bytes, **headers):
    return client.post("/api/estimate", data={"image": (io.BytesIO(data), "x.png", "image/png")},
                       content_type="multipart/form-data", headers=headers)


def test_cross_site_multipart_is_refused(app):
    c = app.test_client()
    r = _upload(c, _png_header(64, 64), Origin="http://evil.example")
    assert r.status_code == 403 and "cross-site" in r.get_json()["error"]
    assert _upload(c, _png_header(64, 64)).status_code == 403                       # no Origin, no Referer
    assert _upload(c, _png_header(64, 64), Referer="http://evil.example/x").status_code == 403
    ok = _upload(c, _png_header(64, 64), Origin="http://localhost")
    assert ok.status_code != 403                                                     # same origin: served
    r = c.post("/api/render", json={}, headers={"Origin": "http://localhost.evil.example"})
    assert r.status_code == 403


def test_get_is_served_without_origin_but_not_for_a_rebound_host(app):
    c = app.test_client()
    assert c.get("/api/info").status_code == 200
    assert c.get("/api/info", headers={"Host": "attacker.example:8765"}).status_code == 400


@pytest.mark.parametrize("w,h", [(30000, 30000), (200000, 200000), (8000, 6000)])
def test_decompression_bombs_are_413(app, w, h):
    r = _upload(app.test_client(), _png_header(w, h), Origin="http://localhost")
    assert r.status_code == 413, r.get_json()
    assert "pixels" in r.get_json()["error"]


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"reference": "' + b"a" * 32 + b'", "pose": ' + b"[" * 40 + b"]" * 40 + b"}",
    b'{"reference": "' + b"a" * 32 + b'", "pose": {"width": 1' + b"0" * 400 + b"}}",
    b'{"reference": "' + b"a" * 32 + b'", "pose": {"width": 1e400}}',
    b'{"pose": NaN}',
    b"\xff\xfe not utf-8",
])
def test_nested_or_huge_json_is_400(app, body):
    r = app.test_client().post("/api/render", data=body, content_type="application/json",
                               headers={"Origin": "http://localhost"})
    assert r.status_code == 400, r.get_data()
    assert "error" in r.get_json()


def test_huge_json_body_is_refused(app):
    body = b'{"pose": "' + b"x" * (3 << 20) + b'"}'
    r = app.test_client().post("/api/render", data=body, content_type="application/json",
                               headers={"Origin": "http://localhost"})
    assert r.status_code in (400, 413)


def test_unexpected_error_is_a_generic_500(app, monkeypatch):
    service = app.extensions["repose_editor"]

    def boom(*a, **k):
        raise RuntimeError("secret /home/user/path in the exception text")

    monkeypatch.setattr(service, "render", boom)
    pose = {"layout": "coco17", "width": 64, "height": 64,
            "keypoints": [[10.0, 10.0, 1.0]] * 17}
    r = app.test_client().post("/api/render", json={"reference": "a" * 32, "pose": pose},
                               headers={"Origin": "http://localhost"})
    if r.status_code == 404:   # the service looked the reference up first
        pytest.skip("the reference lookup answered first")
    assert r.status_code == 500
    assert "secret" not in r.get_data(as_text=True) and "internal error" in r.get_json()["error"]


def test_remote_editor_needs_its_token():
    service = EditorService(EditorOptions(renderer="test"), renderer=_Renderer())
    try:
        app = create_app(EditorOptions(), service=service, allow_remote=True)
        token = app.extensions["repose_guard"].token
        c = app.test_client()
        host = {"Host": "studio.lan:8765"}
        assert c.get("/", headers=host).status_code == 403
        assert c.get(f"/?token={token}", headers=host).status_code == 200
        # the cookie set by the token URL carries the page's own API calls
        assert c.get("/api/info", headers=host).status_code == 200
        r = c.post("/api/render", json={}, headers={**host, "Origin": "http://evil.example"})
        assert r.status_code == 403
    finally:
        service.close()


def test_unknown_path_is_still_404(app):
    r = app.test_client().get("/no/such/page")
    assert r.status_code == 404
