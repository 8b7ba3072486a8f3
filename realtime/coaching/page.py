"""The coach report as one self-contained HTML page (plot and key frames inlined as data URIs):
summary, a table of repetitions, the worst moment of each rep side by side, the score formula."""
from __future__ import annotations

import base64
import html
from pathlib import Path

import cv2
import numpy as np

from realtime.coaching.analysis import CoachReport
from realtime.coaching.frames import MotionFrames, pair_image, panel
from realtime.coaching.score import SIGMA_ANGLE_DEG, SIGMA_VECTOR

KEY_FRAME_HEIGHT = 400

_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1040px;color:#222;padding:0 12px}
h1{margin-bottom:4px} .sub{color:#666;margin-top:0}
table{border-collapse:collapse;width:100%;margin:12px 0} th,td{border-bottom:1px solid #ddd;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4} .num{text-align:right;font-variant-numeric:tabular-nums}
figure{display:inline-block;margin:8px 12px 16px 0} figcaption{font-size:14px;color:#444;max-width:480px}
img{max-width:100%} .notice{background:#fff4d6;padding:8px 12px;border-radius:4px} code{background:#f4f4f4;padding:1px 4px}
"""


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def key_frames(report: CoachReport, height: int = KEY_FRAME_HEIGHT) -> list[tuple[str, np.ndarray]]:
    """(caption, BGR image) of the worst moment of each rep (of the whole clip without reps)."""
    fp, fb = report.person.fps, report.benchmark.fps
    if report.reps:
        moments = [(f"rep {n + 1}", r.worst_pair, r.worst_score, tuple(r.worst_joints)[:2], r.advice)
                   for n, r in enumerate(report.reps)]
    else:
        i = int(np.argmin(report.frame_scores))
        moments = [("whole clip", (i, int(report.frame_map[i])), float(report.frame_scores[i]), (), [])]
    a, b = MotionFrames(report.person), MotionFrames(report.benchmark)
    out = []
    try:
        for label, (i, j), score, joints, advice in moments:
            left = panel(a, i, report.person.poses[i], height, f"you {i / fp:.1f} s", highlight=joints)
            right = panel(b, j, report.benchmark.poses[j], height, f"bench {j / fb:.1f} s",
                          mirrored=report.mirrored, highlight=joints)
            caption = f"{label}: worst moment at {i / fp:.1f} s (benchmark {j / fb:.1f} s), frame score {score:.0f}"
            if advice:
                caption += "; " + "; ".join(advice)
            out.append((caption, pair_image(left, right)))
    finally:
        a.close()
        b.close()
    return out


def render_html(report: CoachReport, plot_png: bytes) -> str:
    d = report.to_dict()
    esc = html.escape
    tempo = "" if report.tempo_ratio is None else f" · tempo ×{report.tempo_ratio:.2f}"
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>repose coach: {esc(report.person.name)} vs {esc(report.benchmark.name)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Score {report.score:.1f}</h1>",
        f"<p class=sub>{len(report.reps)} reps{tempo} · {esc(report.person.name)} against benchmark "
        f"{esc(report.benchmark.name)} ({len(report.bench_reps)} reps)"
        + (" · benchmark mirrored" if report.mirrored else "") + "</p>",
    ]
    if report.notice:
        parts.append(f"<p class=notice>{esc(report.notice)}</p>")
    parts.append(f"<img alt='joint angles and scores' src='{_data_uri(plot_png, 'image/png')}'>")
    parts.append("<h2>Repetitions</h2><table><tr><th>rep</th><th>time (s)</th><th class=num>score</th>"
                 "<th class=num>tempo</th><th>benchmark rep</th><th>worst joints (mean error)</th><th>advice</th></tr>")
    for n, r in enumerate(d["reps"]):
        joints = ", ".join(f"{esc(k.replace('_', ' '))} {v:.0f}°" for k, v in r["worst_joints"].items())
        parts.append(f"<tr><td>{n + 1}</td><td>{r['start_s']:.1f}–{r['end_s']:.1f}</td>"
                     f"<td class=num>{r['score']:.1f}</td><td class=num>×{r['tempo_ratio']:.2f}</td>"
                     f"<td>{r['benchmark_rep']} ({r['benchmark_start_s']:.1f}–{r['benchmark_end_s']:.1f} s)</td>"
                     f"<td>{joints}</td><td>{esc('; '.join(r['advice'])) or '–'}</td></tr>")
    parts.append("</table><h2>Worst moments</h2>")
    for caption, img in key_frames(report):
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 82])
        parts.append(f"<figure><img alt='{esc(caption)}' src='{_data_uri(buf.tobytes(), 'image/jpeg')}'>"
                     f"<figcaption>{esc(caption)}</figcaption></figure>")
    parts.append(
        "<h2>How the score is computed</h2><p>Each person frame is compared with a benchmark frame by "
        "<i>d</i>, the distance between the two poses' normalized keypoint vectors (Move Mirror), and "
        "<i>e</i>, the mean difference of their elbow, shoulder, hip and knee angles in degrees: "
        f"<code>score = 100 · exp(−((d / {SIGMA_VECTOR:g})² + (e / {SIGMA_ANGLE_DEG:g}°)²) / 2)</code>. "
        "Each rep is aligned in time with its benchmark rep (dynamic time warping) and scores the mean "
        "along that alignment; the overall score is the mean of the reps.</p></body></html>")
    return "\n".join(parts)


def write_html(report: CoachReport, path: str | Path, plot_png: bytes) -> None:
    from realtime.fileio import atomic_path

    page = render_html(report, plot_png)
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
