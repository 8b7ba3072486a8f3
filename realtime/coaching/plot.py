"""The coach report's plot: joint-angle curves of person and benchmark on the person's time axis
(the benchmark warped onto it by the alignment), repetitions shaded, score per rep and per frame."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from realtime.coaching.analysis import CoachReport
from realtime.coaching.score import JOINT_NAMES

COLORS = ("tab:blue", "tab:orange", "tab:green")


def moving_joints(report: CoachReport, n: int = 2) -> list[int]:
    """Indices of the n joints whose angle moves most in the person's clip."""
    spread = np.nan_to_num(np.nanstd(report.person_angles, axis=0), nan=-1.0) if len(report.person_angles) else []
    return [int(k) for k in np.argsort(-np.asarray(spread))[:n] if spread[k] > 0]


def plot_png(report: CoachReport, dpi: int = 100) -> bytes:
    """The plot as PNG bytes."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fps = report.person.fps
    t = np.arange(len(report.person_angles)) / fps
    bench = report.bench_angles[report.frame_map]
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(10, 5.2), dpi=dpi, sharex=True,
                                  gridspec_kw={"height_ratios": [2.2, 1]})
    for c, k in zip(COLORS, moving_joints(report)):
        name = JOINT_NAMES[k].replace("_", " ")
        ax.plot(t, report.person_angles[:, k], color=c, lw=1.8, label=f"{name}: person")
        ax.plot(t, bench[:, k], color=c, lw=1.2, ls="--", label=f"{name}: benchmark (aligned)")
    for n, r in enumerate(report.reps):
        t0, t1 = r.rep.start / fps, r.rep.end / fps
        for a in (ax, ax2):
            a.axvspan(t0, t1, color="0.85" if n % 2 == 0 else "0.92", zorder=0)
        ax2.hlines(r.score, t0, t1, color="tab:red", lw=2)
        ax.text((t0 + t1) / 2, 1.01, f"rep {n + 1}: {r.score:.0f}", transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("joint angle (deg)")
    ax.legend(loc="lower left", fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    ax2.plot(t, report.frame_scores, color="0.3", lw=1, label="frame score")
    ax2.set_ylim(0, 102)
    ax2.set_ylabel("score")
    ax2.set_xlabel(f"time in {report.person.name} (s)")
    ax2.grid(alpha=0.3)
    tempo = "" if report.tempo_ratio is None else f", tempo x{report.tempo_ratio:.2f}"
    mirrored = " (mirrored)" if report.mirrored else ""
    fig.suptitle(f"score {report.score:.1f}, {len(report.reps)} reps{tempo}: {report.person.name} vs "
                 f"{report.benchmark.name}{mirrored}", fontsize=11)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def write_plot(report: CoachReport, path: str | Path) -> None:
    from realtime.fileio import atomic_path

    data = plot_png(report)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
