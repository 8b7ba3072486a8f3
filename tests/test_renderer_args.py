"""One renderer option set: the same flags on every rendering command, one build function, one
``prepare`` signature for every renderer, and `repose demo` with each renderer."""
from __future__ import annotations

import argparse
import inspect

import numpy as np
import pytest

from engines.renderer import RENDERERS, Renderer
from engines.registry import load_entry
from realtime.app.cli import build_parser, main
from realtime.app.commands.renderer_args import build_renderer, parse_renderer_opts, renderer_options
from realtime.errors import InputError
from tests.pipeline_fakes import count_frames

RENDERING_COMMANDS = ("live", "render", "evaluate", "demo", "editor")
SHARED_FLAGS = {"--renderer", "--renderer-opt", "--background", "--checkpoint", "--onnx", "--backend", "--device",
                "--precision", "--cache-dir"}


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _renderer_group(p: argparse.ArgumentParser) -> list[tuple]:
    group = next(g for g in p._action_groups if g.title == "renderer")
    return [(tuple(a.option_strings), a.default, tuple(a.choices or ()), a.help) for a in group._group_actions]


def test_every_rendering_command_has_the_same_renderer_flags():
    subs = _subparsers()
    groups = {name: _renderer_group(subs[name]) for name in RENDERING_COMMANDS}
    first = groups["live"]
    assert {s for opts, *_ in first for s in opts} == SHARED_FLAGS
    for name, group in groups.items():
        assert group == first, f"repose {name}: its renderer flags differ from repose live's"


@pytest.mark.parametrize("command", RENDERING_COMMANDS)
def test_help_lists_the_renderer_flags(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "renderer:" in out
    for flag in SHARED_FLAGS:
        assert flag in out, f"repose {command} --help lacks {flag}"


def test_every_renderer_has_the_protocol_prepare_signature():
    want = list(inspect.signature(Renderer.prepare).parameters)
    assert want == ["self", "reference_bgr", "reference_pose", "mask"]
    classes = {"skeleton": "engines.skeleton:SkeletonRenderer", "warp": "engines.warp.renderer:WarpRenderer",
               "learned": "engines.learned.renderer:LearnedRenderer"}
    assert set(classes) == set(RENDERERS)
    for name, spec in classes.items():
        params = inspect.signature(load_entry(spec).prepare).parameters
        assert list(params) == want, f"{name}.prepare{inspect.signature(load_entry(spec).prepare)}"
        assert params["reference_pose"].default is None and params["mask"].default is None


def _args(**kw) -> argparse.Namespace:
    base = {"renderer": "warp", "renderer_opt": [], "background": None, "checkpoint": None, "onnx": None,
            "backend": None, "device": None, "precision": None, "cache_dir": None}
    return argparse.Namespace(**{**base, **kw})


def test_renderer_options_from_flags(tmp_path):
    assert renderer_options(_args()) == {}
    assert renderer_options(_args(background="green", renderer_opt=["blend=skin"])) == {"background": "green",
                                                                                      "blend": "skin"}
    assert parse_renderer_opts(["feather-px=4", "alpha=true", "x=1.5"]) == {"feather_px": 4, "alpha": True, "x": 1.5}
    ckpt = tmp_path / "m.safetensors"
    ckpt.write_bytes(b"")
    opts = renderer_options(_args(renderer="learned", checkpoint=str(ckpt), cache_dir=str(tmp_path)))
    assert opts == {"backend": "auto", "device": "auto", "precision": "fp32", "checkpoint": ckpt,
                    "cache_dir": tmp_path}


@pytest.mark.parametrize("kw, words", [
    ({"backend": "torch"}, "are for --renderer learned"),
    ({"cache_dir": "/tmp"}, "--cache-dir"),
    ({"renderer": "learned"}, "needs --checkpoint"),
    ({"renderer": "learned", "onnx": "/nope/m.onnx"}, "no such file"),
    ({"renderer_opt": ["oops"]}, "expected KEY=VALUE"),
    ({"background": "dim", "renderer_opt": ["background=dim"]}, "repeats a flag"),
])
def test_bad_renderer_flags_are_input_errors(kw, words):
    with pytest.raises(InputError, match=words):
        renderer_options(_args(**kw))


def test_build_renderer_prepares_and_names_unknown_options():
    from realtime.app.demo.figure import draw_figure

    fig = draw_figure()
    r = build_renderer(_args(renderer="skeleton", background="dim"), fig.image, fig.pose, fig.mask)
    assert r.rest_pose is fig.pose
    out = r.render(fig.pose)
    assert out.shape == fig.image.shape and out.any()
    r.close()
    with pytest.raises(InputError, match="does not accept colour=red"):
        build_renderer(_args(renderer="skeleton", renderer_opt=["colour=red"]))
    with pytest.raises(InputError, match="background"):
        build_renderer(_args(renderer="skeleton", background="inpaint"))


def _demo(tmp_path, capsys, *flags) -> str:
    out = tmp_path / "demo.mp4"
    rc = main(["demo", "--motions", "wave", "--fps", "2", "--no-score", "-o", str(out), *flags])
    text = capsys.readouterr()
    assert rc == 0, text.err
    assert count_frames(out) >= 3
    return text.out


@pytest.mark.parametrize("renderer", ["skeleton", "warp"])
def test_demo_with_each_weightless_renderer(tmp_path, capsys, renderer):
    assert f"{renderer})" in _demo(tmp_path, capsys, "--renderer", renderer)


def test_demo_with_the_learned_renderer_checkpoint_and_onnx(tmp_path, capsys):
    pytest.importorskip("torch", reason="a learned checkpoint needs torch (pip install '.[train]')")
    from engines.learned.export import export_onnx
    from tests.patn_helpers import save_tiny_checkpoint

    ckpt = save_tiny_checkpoint(tmp_path / "ckpt")
    assert "learned)" in _demo(tmp_path, capsys, "--renderer", "learned", "--checkpoint", str(ckpt),
                               "--backend", "torch", "--device", "cpu")
    pytest.importorskip("onnxruntime", reason="the ONNX path needs onnxruntime")
    onnx = export_onnx(ckpt, tmp_path / "tiny.onnx")
    assert "learned)" in _demo(tmp_path, capsys, "--renderer", "learned", "--onnx", str(onnx),
                               "--backend", "onnxruntime", "--background", "reference")


def test_learned_renderer_takes_a_given_mask(tmp_path, monkeypatch):
    """prepare(reference, pose, mask) with a mask runs no segmentation (no MediaPipe at all)."""
    pytest.importorskip("torch", reason="a learned checkpoint needs torch (pip install '.[train]')")
    import realtime.estimator as estimator
    from engines.renderer import create_renderer
    from realtime.app.demo.figure import draw_figure
    from tests.patn_helpers import save_tiny_checkpoint

    def no_mediapipe(*a, **k):
        raise AssertionError("MediaPipe was started although pose and mask were given")

    monkeypatch.setattr(estimator, "MediaPipeEstimator", no_mediapipe)
    fig = draw_figure()
    r = create_renderer("learned", checkpoint=save_tiny_checkpoint(tmp_path), backend="torch", device="cpu")
    r.prepare(fig.image, fig.pose, (fig.mask > 0.5).astype(np.uint8) * 255)
    assert r.render(fig.pose).shape == fig.image.shape
    with pytest.raises(InputError, match="mask size"):
        r.prepare(fig.image, fig.pose, fig.mask[:10])
    r.close()


@pytest.fixture(scope="module")
def figure_files(tmp_path_factory):
    """The demo's drawn figure as a reference photo, and a two-pose file in its pixels."""
    from dataclasses import replace

    from realtime.app.demo.figure import draw_figure
    from realtime.fileio import write_image, write_json
    from realtime.poseio import video_to_dict

    folder = tmp_path_factory.mktemp("figure")
    fig = draw_figure()
    h, w = fig.image.shape[:2]
    write_image(folder / "figure.png", fig.image)
    raised = fig.pose.xy.copy()
    raised[fig.pose.layout.index["left_wrist"], 1] -= 60
    poses = [fig.pose, replace(fig.pose, xy=raised)]
    write_json(folder / "poses.json", video_to_dict(poses, 5.0, w, h, fig.pose.layout))
    return folder


@pytest.mark.parametrize("renderer", ["skeleton", "warp", "learned"])
def test_render_with_every_renderer(figure_files, tmp_path, capsys, renderer):
    flags = ["--renderer", renderer]
    if renderer == "learned":
        pytest.importorskip("torch", reason="a learned checkpoint needs torch (pip install '.[train]')")
        from tests.patn_helpers import save_tiny_checkpoint

        flags += ["--checkpoint", str(save_tiny_checkpoint(tmp_path)), "--backend", "torch"]
    out = tmp_path / "out.mp4"
    rc = main(["render", "--reference", str(figure_files / "figure.png"), "--pose", str(figure_files / "poses.json"),
               "--no-retarget", "-o", str(out), "--background", "reference" if renderer != "warp" else "green",
               *flags])
    assert rc == 0, capsys.readouterr().err
    assert count_frames(out) == 2


@pytest.mark.parametrize("renderer", ["skeleton", "warp", "learned"])
def test_editor_service_with_every_renderer(tmp_path, renderer):
    """The editor renders with whatever build_renderer makes from the shared flags."""
    import cv2

    from realtime.app.demo.figure import draw_figure
    from realtime.app.editor import EditorOptions, EditorService

    fig = draw_figure()

    class FigureEstimator:   # the figure's own pose: no MediaPipe needed for the upload
        def estimate(self, bgr):
            return fig.pose

        def close(self):
            pass

    kw = {"renderer": renderer}
    if renderer == "learned":
        pytest.importorskip("torch", reason="a learned checkpoint needs torch (pip install '.[train]')")
        from tests.patn_helpers import save_tiny_checkpoint

        kw.update(checkpoint=str(save_tiny_checkpoint(tmp_path)), backend="torch", background="reference")
    args = _args(**kw)
    service = EditorService(EditorOptions(renderer=renderer, renderer_options=renderer_options(args)),
                            estimator=FigureEstimator(), renderer=build_renderer(args))
    try:
        ref = service.add_reference(cv2.imencode(".png", fig.image)[1].tobytes())
        out = service.render(ref.image_id, ref.pose)
        assert service.renderer_name == renderer
        assert out.bgr.shape == fig.image.shape and out.bgr.dtype == np.uint8
    finally:
        service.close()
