#!/usr/bin/env python3
"""Self-reenactment quality of a learned (PATN) checkpoint on a video, the way `repose evaluate --self` scores
the warp renderer: reference = the video's first frame, targets = the poses MediaPipe finds on the later
frames, outputs compared with the real frames.

  python scripts/eval_learned.py --checkpoint runs/NAME --video CLIP.mp4 -o report.json --picture sample.png

Reports AKD (px and at 256 px height) and MKR from poses re-estimated on the outputs, and L1, SSIM, PSNR
over the full frame and inside the person's box; separately for the frames the model was trained on and
for the held-out last share of the clip (``--held-out``, the training default of 10%). For scale, the same
numbers for a do-nothing baseline that always shows the reference frame are reported beside them.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def person_box(pose, shape, pad: float = 0.15) -> tuple[int, int, int, int] | None:
    box = pose.bbox()
    if box is None:
        return None
    x0, y0, x1, y1 = box
    px, py = (x1 - x0) * pad, (y1 - y0) * pad
    h, w = shape[:2]
    return max(0, int(x0 - px)), max(0, int(y0 - py)), min(w, int(x1 + px)), min(h, int(y1 + py))


def evaluate(checkpoint: Path, video: Path, backend: str, held_out: float, every: int, picture: Path | None) -> dict:
    import cv2
    from tqdm import tqdm

    from engines.evaluation import KeypointScores, l1, psnr, ssim
    from engines.renderer import create_renderer
    from realtime.estimator import EstimatorOptions, MediaPipeEstimator
    from realtime.fileio import write_image
    from realtime.media import VideoReader

    with VideoReader(video) as reader:
        frames = [f for _, _, f in reader]
    with MediaPipeEstimator(EstimatorOptions(mode="video")) as est:
        poses = [est.estimate(f, i / 30) for i, f in enumerate(frames)]
    renderer = create_renderer("learned", checkpoint=checkpoint, backend=backend)
    renderer.prepare(frames[0], poses[0])
    split = int(round(len(frames) * (1 - held_out)))
    groups: dict[str, list[dict]] = {}
    scorer = MediaPipeEstimator(EstimatorOptions(mode="image"))
    ref_found = scorer.estimate(frames[0])
    shown, times = [], []
    for i in tqdm(range(1, len(frames), every), desc="self-reenactment", unit="frame"):
        if poses[i] is None:
            continue
        t0 = time.perf_counter()
        out = renderer.render(poses[i])
        times.append(time.perf_counter() - t0)
        real = frames[i]
        found = scorer.estimate(out)
        box = person_box(poses[i], real.shape)
        group = "trained frames" if i < split else "held-out frames"
        for name, image, pose in ((group, out, found), (group + ", reference-copy baseline", frames[0], ref_found)):
            row = {"target": poses[i], "found": pose, "l1": l1(image, real), "ssim": ssim(image, real),
                   "psnr": psnr(image, real)}
            if box is not None:
                x0, y0, x1, y1 = box
                a, b = image[y0:y1, x0:x1], real[y0:y1, x0:x1]
                row.update(l1_box=l1(a, b), ssim_box=ssim(a, b), psnr_box=psnr(a, b))
            groups.setdefault(name, []).append(row)
        if picture is not None and len(shown) < 4 and i >= split and box is not None:
            x0, y0, x1, y1 = person_box(poses[i], real.shape, pad=0.3)
            pair = np.hstack([real[y0:y1, x0:x1], out[y0:y1, x0:x1]])
            shown.append(cv2.resize(pair, (round(pair.shape[1] * 256 / pair.shape[0]), 256), interpolation=cv2.INTER_AREA))
    scorer.close()
    renderer.close()
    report: dict = {"checkpoint": str(checkpoint), "video": str(video), "frames": len(frames),
                    "reference": 0, "render_ms_median": float(np.median(times) * 1e3)}
    for name, rows in groups.items():
        if not rows:
            continue
        ks = KeypointScores()
        for r in rows:
            ks.add(r["target"], r["found"], output_height=frames[0].shape[0])
        summary = {"n": len(rows), "akd_px": ks.akd_px, "akd_256": ks.akd_256, "mkr": ks.mkr}
        for k in ("l1", "ssim", "psnr", "l1_box", "ssim_box", "psnr_box"):
            vals = [r[k] for r in rows if k in r and np.isfinite(r[k])]
            summary[k] = float(np.mean(vals)) if vals else float("nan")
        report[name] = summary
    if picture is not None and shown:
        gap = np.full((256, 8, 3), 255, np.uint8)
        write_image(picture, np.hstack([x for pair in shown for x in (pair, gap)][:-1]))
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--video", required=True)
    p.add_argument("--backend", default="onnxruntime")
    p.add_argument("--held-out", type=float, default=0.1, help="share of the clip's end held out in training")
    p.add_argument("--every", type=int, default=1, help="score every Nth frame")
    p.add_argument("-o", "--output", help="write the report as JSON here")
    p.add_argument("--picture", help="picture of up to 4 held-out frames around the person: real | learned output")
    args = p.parse_args(argv)
    report = evaluate(Path(args.checkpoint), Path(args.video), args.backend, args.held_out, args.every,
                      Path(args.picture) if args.picture else None)
    text = json.dumps(report, indent=1)
    if args.output:
        from realtime.fileio import write_json

        write_json(args.output, report)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
