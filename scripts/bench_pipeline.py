"""Benchmark suite `pipeline`: a clip paced at its fps (30) through the live pipeline, per renderer.

For each renderer that can be created here: output fps / input fps, capture-to-output latency
p50/p95, the mean time of every stage on the frame's path (estimate, smooth, retarget, render, fit,
overlay) summed, and the pipeline's own cost: mean latency minus that sum (hand-offs, waiting for a
busy stage, thread scheduling), as a share of the sum. Output goes to a null sink so only the
pipeline is measured. The estimator is real MediaPipe Pose (video mode).

``--pipeline-sinks null,file,file-medium`` measures outputs too, in the same run, interleaved
``--pipeline-repeats`` times: ``file`` is `live --output file:` as shipped (x264 ``ultrafast`` +
``zerolatency``), ``file-veryfast`` and ``file-medium`` the same with those presets (``medium`` is
ffmpeg's default, what recordings used before).
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

PATH_STAGES = ("estimate", "smooth", "retarget", "match", "render", "fit", "overlay")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("pipeline suite")
    g.add_argument("--pipeline-clip", default="pose_1.mp4", help="clip in --media (default pose_1.mp4, 30 fps)")
    g.add_argument("--pipeline-seconds", type=float, default=8.0, help="run length per renderer (default 8 s)")
    g.add_argument("--pipeline-renderers", default="", help="comma-separated renderer names (default: all)")
    g.add_argument("--pipeline-plot", metavar="PNG", help="also plot latency and stage times per frame to this PNG")
    g.add_argument("--pipeline-sinks", default="null",
                   help="comma-separated: null, file (ultrafast+zerolatency), file-veryfast, file-medium (default null)")
    g.add_argument("--pipeline-repeats", type=int, default=1, help="runs of each sink, interleaved (default 1)")


def plot(series: dict[str, dict], path: str) -> None:
    """Per renderer: capture-to-output latency and the main stage times, frame by frame (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from realtime.fileio import atomic_path

    fig, axes = plt.subplots(len(series), 1, figsize=(9, 3.2 * len(series)), dpi=110, squeeze=False)
    for ax, (name, s) in zip(axes[:, 0], series.items()):
        ax.plot(s["latency"], lw=1.2, label="capture to output")
        for stage in ("estimate", "render", "overlay"):
            if stage in s:
                ax.plot(s[stage], lw=0.8, label=stage)
        ax.set_title(f"renderer {name}")
        ax.set_xlabel("frame")
        ax.set_ylabel("ms")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


SINK_PRESETS = {"null": None, "file": "ultrafast", "file-veryfast": "veryfast", "file-medium": None}


def _one(renderer_name: str, reference, clip: Path, seconds: float, series: dict | None = None,
         sink: str = "null") -> dict:
    import tempfile

    from engines.renderer import create_renderer
    from realtime.pipeline import Pipeline, PipelineOptions
    from realtime.inputs import open_source
    from realtime.sinks import SinkOptions
    from realtime.sources import SourceOptions

    try:
        renderer = create_renderer(renderer_name)
        renderer.prepare(reference)
    except Exception as e:  # noqa: BLE001 - a renderer that cannot run here is reported, not fatal
        return {"renderer": renderer_name, "note": f"unavailable: {type(e).__name__}: {e}"[:120]}
    source = open_source(str(clip), SourceOptions(realtime=True, loop=True))
    with tempfile.TemporaryDirectory() as tmp:
        spec = "null" if sink == "null" else f"file:{tmp}/out.mp4"
        pipe = Pipeline(source, renderer, [spec], PipelineOptions(realtime=True, duration_s=seconds),
                        sink_options=SinkOptions(file_preset=SINK_PRESETS[sink]))
        stats = pipe.run()
    if series is not None:
        series[renderer_name] = {"latency": pipe.stats.latency.values_ms(),
                                 **{k: v.values_ms() for k, v in pipe.stats.stages.items()}}
    stages = stats["stages"]
    stage_sum = sum(stages[s]["mean_ms"] for s in PATH_STAGES if s in stages and stages[s]["mean_ms"] is not None)
    lat = stats["latency_capture_to_output"]
    overhead = lat["mean_ms"] - stage_sum
    return {
        "renderer": renderer_name,
        "sink": sink,
        "fps_in": stats["fps_in"],
        "fps_out": stats["fps_out"],
        "out/in": stats["fps_out"] / stats["fps_in"] if stats["fps_in"] else None,
        "latency_p50_ms": lat["p50_ms"],
        "latency_p95_ms": lat["p95_ms"],
        "latency_mean_ms": lat["mean_ms"],
        "estimate_ms": stages["estimate"]["mean_ms"],
        "render_ms": stages["render"]["mean_ms"],
        "stage_sum_ms": stage_sum,
        "overhead_ms": overhead,
        "overhead_%": 100.0 * overhead / stage_sum if stage_sum else None,
        "dropped": stats["dropped"],
        "note": "",
    }


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def run(args: argparse.Namespace) -> tuple[str, list[dict]]:
    from engines.renderer import RENDERERS
    from realtime.media import read_image

    logging.getLogger("realtime").setLevel(logging.WARNING)
    media = Path(args.media)
    clip = media / args.pipeline_clip
    reference = read_image(media / "pose.jpg")
    names = [n for n in args.pipeline_renderers.split(",") if n] or sorted(RENDERERS)
    sinks = [s for s in args.pipeline_sinks.split(",") if s]
    unknown = sorted(set(sinks) - set(SINK_PRESETS))
    if unknown:
        raise SystemExit(f"--pipeline-sinks: unknown {unknown}; expected {', '.join(SINK_PRESETS)}")
    series: dict[str, dict] = {}
    rows = [_one(name, reference, clip, args.pipeline_seconds, series, sink)
            for name in names for _ in range(max(1, args.pipeline_repeats)) for sink in sinks]
    if len(sinks) > 1:   # per renderer and sink: the mean out/in over the repeats, and its ratio to null's
        for name in names:
            mean = {s: _mean([r["out/in"] for r in rows if r["renderer"] == name and r["sink"] == s]) for s in sinks}
            for s in sinks:
                rows.append({"renderer": name, "sink": f"{s} (mean)", "out/in": mean[s],
                             "note": f"x{mean[s] / mean['null']:.3f} of null" if mean.get("null") and mean[s] else ""})
    if args.pipeline_plot and series:
        plot(series, args.pipeline_plot)
    title = (f"pipeline: {args.pipeline_clip} paced at its fps, {args.pipeline_seconds:g} s per renderer, "
             f"reference pose.jpg (1000x667), sinks {', '.join(sinks)}; times are means unless marked")
    return title, rows
