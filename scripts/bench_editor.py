"""Pose editor API latency: each endpoint through Flask's test client (no network), on pose.jpg.

Times include what a request costs the server: upload checks and decoding, MediaPipe, rendering,
JPEG encoding and base64, JSON. ``render`` moves the wrist a little each time so the output cache
never hits; ``render (cached)`` repeats the pose; ``renderer only`` is the renderer's own time as the
API reports it; ``estimate (new ...)`` uploads a different frame of pose_1.mp4 each time (MediaPipe
runs), ``estimate (stored photo)`` re-uploads pose.jpg (found by its pixel hash, no MediaPipe).
Median and 90th percentile over --editor-repeats requests.
"""
from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np


def add_arguments(parser) -> None:
    parser.add_argument("--editor-renderer", default="warp", help="renderer for the editor suite (default warp)")
    parser.add_argument("--editor-repeats", type=int, default=10, help="requests per endpoint (default 10)")


def _stats(name: str, times_ms: list[float]) -> dict:
    a = np.array(times_ms)
    return {"endpoint": name, "median_ms": float(np.median(a)), "p90_ms": float(np.percentile(a, 90)),
            "n": len(a)}


def run(args):
    from tqdm import tqdm

    from realtime.app.editor import EditorOptions, EditorService, create_app
    from realtime.inputs import open_input

    media = Path(args.media)
    photo = (media / "pose.jpg").read_bytes()
    import cv2

    n = max(1, args.editor_repeats)
    with open_input(media / "pose_1.mp4", estimate=False, every=3, max_frames=n + 1) as video:
        frames = [cv2.imencode(".jpg", f.image)[1].tobytes() for f in video]
    other_jpg = frames[0]
    new_photos = (frames * n)[1: n + 1]     # distinct photos (as long as the clip lasts): no cache hit
    options = EditorOptions(renderer=args.editor_renderer)
    service = EditorService(options)
    client = create_app(options, service=service).test_client()

    def upload(url: str, data: bytes, **form):
        return client.post(url, data={"image": (io.BytesIO(data), "p.jpg", "image/jpeg"), **form},
                           content_type="multipart/form-data")

    def timed(fn) -> tuple[float, object]:
        t0 = time.perf_counter()
        r = fn()
        ms = (time.perf_counter() - t0) * 1e3
        if r.status_code != 200:
            raise RuntimeError(f"the editor answered {r.status_code}: {r.get_json()}")
        return ms, r

    rows = []
    # the first estimate pays MediaPipe's start-up; the rest find the photo already stored
    ms, first = timed(lambda: upload("/api/estimate", photo))
    body = first.get_json()
    rows.append(_stats("estimate (first: MediaPipe start-up)", [ms]))
    ref, pose = body["reference"], body["pose"]
    wrist = pose["names"].index("left_wrist")
    ms, r = timed(lambda: client.post("/api/render", json={"reference": ref, "pose": pose}))
    rows.append(_stats("render (first: renderer prepare)", [ms]))

    def edited(i: int) -> dict:
        p = json.loads(json.dumps(pose))
        p["keypoints"][wrist][0] -= 1 + i
        p["keypoints"][wrist][1] -= 2 * (1 + i)
        return p

    series: dict[str, list[float]] = {k: [] for k in ("estimate (new 576x576 photo)",
                                                       "estimate (stored photo)", "render", "renderer only",
                                                       "render (cached)", "PNG download (cached render)",
                                                       "evaluate", "pose-from-photo",
                                                       "export/openpose")}
    for i in tqdm(range(n), desc="editor API", unit="round"):
        series["estimate (new 576x576 photo)"].append(timed(lambda: upload("/api/estimate", new_photos[i]))[0])
        series["estimate (stored photo)"].append(timed(lambda: upload("/api/estimate", photo))[0])
        ms, r = timed(lambda: client.post("/api/render", json={"reference": ref, "pose": edited(i)}))
        series["render"].append(ms)
        series["renderer only"].append(r.get_json()["render_ms"])
        series["render (cached)"].append(
            timed(lambda: client.post("/api/render", json={"reference": ref, "pose": edited(i)}))[0])
        series["PNG download (cached render)"].append(
            timed(lambda: client.post("/api/render?format=png", json={"reference": ref, "pose": edited(i)}))[0])
        series["evaluate"].append(
            timed(lambda: client.post("/api/evaluate", json={"reference": ref, "pose": edited(i)}))[0])
        series["pose-from-photo"].append(
            timed(lambda: upload("/api/pose-from-photo", other_jpg, reference=ref))[0])
        series["export/openpose"].append(
            timed(lambda: client.post("/api/export/openpose", json={"pose": edited(i)}))[0])
    service.close()
    rows += [_stats(k, v) for k, v in series.items()]
    return f"Pose editor API on pose.jpg (1000x667), renderer {args.editor_renderer}", rows
