#!/usr/bin/env python3
"""Self-reenactment quality of a learned (PATN) checkpoint on a video, with the code of `repose evaluate --self`
(``engines.reenact.self_reenactment``): reference = the video's first frame, targets = the poses MediaPipe
finds on the later frames, outputs compared with the real frames (the person's box: the target's keypoint box
plus 10 %).

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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class ReferenceCopy:
    """The do-nothing baseline as a renderer: every output is the reference frame unchanged."""

    def prepare(self, reference_bgr: np.ndarray, reference_pose=None) -> None:
        self.image = reference_bgr

    def render(self, target) -> np.ndarray:
        return self.image


def _summary(res) -> dict:
    s = res.summary()
    return {"n": res.rendered, **{k: s[k] for k in ("akd_px", "akd_256", "mkr", "l1", "ssim", "psnr",
                                                     "l1_box", "ssim_box", "psnr_box")}}


def evaluate(checkpoint: Path, video: Path, backend: str, held_out: float, every: int, picture: Path | None) -> dict:
    import cv2

    from engines.reenact import person_box, self_reenactment
    from engines.renderer import create_renderer
    from realtime.app.commands.common import progress
    from realtime.fileio import write_image
    from realtime.inputs import open_input

    with open_input(video, accept=("video",)) as clip:   # the same frames and poses as `repose evaluate`
        frames = list(progress(clip, clip.total, "poses"))
    split = int(round(len(frames) * (1 - held_out)))
    later = frames[1::every]
    groups = {"trained frames": [f for f in later if f.index < split],
              "held-out frames": [f for f in later if f.index >= split]}
    renderer = create_renderer("learned", checkpoint=checkpoint, backend=backend)
    shown: list[np.ndarray] = []

    def keep(i, out, target, real, res) -> None:
        """Up to 4 held-out frames around the person: real | output."""
        box = person_box(target, real.shape[1], real.shape[0], pad=0.3)
        if picture is None or len(shown) >= 4 or box is None:
            return
        x0, y0, x1, y1 = box
        pair = np.hstack([real[y0:y1, x0:x1], out[y0:y1, x0:x1]])
        shown.append(cv2.resize(pair, (round(pair.shape[1] * 256 / pair.shape[0]), 256), interpolation=cv2.INTER_AREA))

    report: dict = {"checkpoint": str(checkpoint), "video": str(video), "frames": len(frames), "reference": 0}
    render_ms: list[float] = []
    for name, group in groups.items():
        if not group:
            continue
        # the code of `repose evaluate --self`: same person box, same re-estimation, same measures
        res = self_reenactment(renderer, frames[0], group, len(group), progress=progress,
                               keep=keep if name == "held-out frames" else None)
        render_ms += res.render_ms
        report[name] = _summary(res)
        report[name + ", reference-copy baseline"] = _summary(self_reenactment(ReferenceCopy(), frames[0], group))
    renderer.close()
    report["render_ms_median"] = float(np.median(render_ms)) if render_ms else float("nan")
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
