"""The learned renderer behind the Renderer protocol, on the shared reference photo."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engines.renderer import Renderer, create_renderer
from realtime.errors import InputError
from tests.patn_helpers import save_tiny_checkpoint

pytest.importorskip("torch", reason="the learned renderer's checkpoint needs torch (pip install '.[train]')")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


@pytest.fixture(scope="module")
def reference(pose_jpg_estimate):
    image, est = pose_jpg_estimate
    assert est.pose is not None
    return image, est.pose


def _moved(pose, dx=60.0, dy=0.0):
    """The same pose shifted, with the left wrist raised."""
    xy = pose.xy + np.float32([dx, dy])
    i = pose.layout.index["left_wrist"]
    xy[i, 1] -= 80
    return replace(pose, xy=xy)


def test_protocol_sizes_and_rest_pose(ckpt, reference):
    image, pose = reference
    r = create_renderer("learned", checkpoint=ckpt, backend="torch", device="cpu", inpaint_background=False)
    r.prepare(image, pose)
    assert isinstance(r, Renderer) and r.name == "learned"
    assert r.rest_pose is pose
    out = r.render(pose)
    assert out.shape == image.shape and out.dtype == np.uint8
    r.close()


def test_reference_prepared_once_only_target_changes(ckpt, reference, tmp_path):
    image, pose = reference
    r = create_renderer("learned", checkpoint=ckpt, backend="onnxruntime", device="cpu", cache_dir=tmp_path,
                        inpaint_background=False)
    r.prepare(image, pose)
    seen = []
    infer = r.backend.infer
    r.backend.infer = lambda feeds: (seen.append({k: v.copy() for k, v in feeds.items()}), infer(feeds))[1]
    a = r.render(pose)
    b = r.render(_moved(pose))
    assert len(seen) == 2
    for k in ("cond_image", "cond_pose"):
        np.testing.assert_array_equal(seen[0][k], seen[1][k])
    assert np.abs(seen[0]["target_pose"] - seen[1]["target_pose"]).max() > 0.5
    assert seen[0]["cond_image"].shape == (1, 3, 64, 44)
    assert not np.array_equal(a, b)


def test_output_changes_only_inside_the_target_crop(ckpt, reference):
    image, pose = reference
    r = create_renderer("learned", checkpoint=ckpt, backend="torch", device="cpu", inpaint_background=False)
    r.prepare(image, pose)
    target = _moved(pose)
    out = r.render(target)
    box, _ = r.target_box(target)
    x0, y0, x1, y1 = box.footprint(*image.shape[:2])
    outside = np.ones(image.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(out[outside], image[outside])
    assert np.abs(out[~outside].astype(int) - image[~outside].astype(int)).mean() > 5


def test_torch_and_onnxruntime_renderers_agree(ckpt, reference, tmp_path):
    image, pose = reference
    outs = []
    for backend in ("torch", "onnxruntime"):
        r = create_renderer("learned", checkpoint=ckpt, backend=backend, device="cpu", cache_dir=tmp_path,
                            inpaint_background=False)
        r.prepare(image, pose)
        outs.append(r.render(_moved(pose)).astype(int))
        r.close()
    assert np.abs(outs[0] - outs[1]).max() <= 2   # float differences of ~1e-5 can flip a rounding


def test_alpha_and_an_empty_target(ckpt, reference):
    image, pose = reference
    r = create_renderer("learned", checkpoint=ckpt, backend="torch", device="cpu", alpha=True)
    r.prepare(image)          # estimates the pose and inpaints the person away for the plate
    assert r.rest_pose.width == image.shape[1]
    out = r.render(_moved(pose))
    assert out.shape == image.shape[:2] + (4,)
    box, _ = r.target_box(_moved(pose))
    x0, y0, x1, y1 = box.footprint(*image.shape[:2])
    a = out[..., 3]
    assert a[:, :max(0, x0)].max(initial=0) == 0 and a[y0:y1, x0:x1].max() > 0
    nobody = replace(pose, score=np.zeros_like(pose.score))
    empty = r.render(nobody)
    assert empty[..., 3].max() == 0
    # the plate (person inpainted away) differs from the reference where the person stood
    assert np.abs(empty[..., :3].astype(int) - image.astype(int)).max() > 50


def test_errors(tmp_path, ckpt):
    with pytest.raises(InputError, match="needs a trained model"):
        create_renderer("learned")
    with pytest.raises(InputError, match="no such file"):
        create_renderer("learned", checkpoint=tmp_path / "none.safetensors")
    r = create_renderer("learned", checkpoint=ckpt, backend="torch", device="cpu")
    with pytest.raises(InputError, match="BGR uint8"):
        r.prepare(np.zeros((10, 10), np.uint8))
    with pytest.raises(InputError, match="no person found"):
        r.prepare(np.full((120, 90, 3), 127, np.uint8))


def test_onnxruntime_path_needs_no_torch(ckpt, reference, tmp_path):
    """With an exported model, the learned renderer runs where torch is not installed."""
    import subprocess
    import sys
    from pathlib import Path

    from engines.learned.export import export_onnx

    onnx_path = export_onnx(ckpt, tmp_path / "tiny.onnx")
    image, pose = reference
    np.save(tmp_path / "ref.npy", image)
    np.save(tmp_path / "kps.npy", pose.keypoints)
    script = f"""
import builtins, sys
real = builtins.__import__
def guard(name, *a, **k):
    if name == "torch" or name.startswith("torch."):
        raise ImportError("torch is blocked in this test")
    return real(name, *a, **k)
builtins.__import__ = guard
import numpy as np
from engines.renderer import create_renderer
from realtime.pose import Pose
image = np.load({str(tmp_path / 'ref.npy')!r})
pose = Pose.from_keypoints(np.load({str(tmp_path / 'kps.npy')!r}), {pose.layout.name!r}, width=image.shape[1], height=image.shape[0])
r = create_renderer("learned", onnx={str(onnx_path)!r}, backend="auto", inpaint_background=False)
out = r.render(pose) if r.prepare(image, pose) is None else None
assert out.shape == image.shape, out.shape
assert "torch" not in sys.modules
print("rendered with", r.backend.name)
"""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=root,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-1500:]
    assert "rendered with onnxruntime" in done.stdout


def test_command_line_options_are_coerced_and_unknown_ones_refused(ckpt):
    import torch

    from engines.learned.renderer import create

    threads = torch.get_num_threads()
    try:
        r = create(checkpoint=str(ckpt), backend="torch", device="cpu", alpha="true", feather_px="3", threads="1")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    assert r.options.alpha is True and r.options.feather_px == 3.0 and r.options.extra == {"threads": 1}
    with pytest.raises(TypeError, match="unexpected option 'colour'"):
        create(checkpoint=str(ckpt), colour="red")
    with pytest.raises(InputError, match="expected true or false"):
        create(checkpoint=str(ckpt), alpha="maybe")


class _Collect:
    name, paced = "collect", False

    def __init__(self):
        self.images, self.closed_ok = [], None

    def send(self, img):
        self.images.append(img)

    def close(self, ok=True):
        self.closed_ok = ok


def test_plugs_into_the_live_pipeline(ckpt, reference, media_dir, tmp_path):
    """Real footage drives the learned renderer (ONNX Runtime) through the threaded pipeline."""
    from realtime.pipeline import Pipeline, PipelineOptions
    from realtime.inputs import open_source
    from realtime.sources import SourceOptions

    image, pose = reference
    r = create_renderer("learned", checkpoint=ckpt, backend="onnxruntime", cache_dir=tmp_path,
                        inpaint_background=False)
    r.prepare(image, pose)
    sink = _Collect()
    src = open_source(str(media_dir / "pose_1.mp4"), SourceOptions(realtime=False))
    stats = Pipeline(src, r, [sink], PipelineOptions(realtime=False, max_frames=12, fps=240.0)).run()
    assert stats["frames_in"] == stats["frames_out"] == 12 and sink.closed_ok
    h, w = image.shape[:2]
    assert {im.shape for im in sink.images} == {(h - h % 2, w - w % 2, 3)}
    assert stats["no_person_frames"] < 4


def test_repose_evaluate_and_render_take_the_learned_renderer(ckpt, media_dir, tmp_path, capsys):
    import json
    import math

    from realtime.app.cli import main

    clip = str(media_dir / "pose_1.mp4")
    assert main(["evaluate", "--driver", clip, "--self", "--max-frames", "4", "--json",
                 "--renderer", "learned", "--checkpoint", str(ckpt), "--backend", "torch", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["renderer"] == "learned" and out["rendered"] == 3
    assert all(math.isfinite(out[k]) for k in ("l1", "ssim", "psnr", "render_ms"))
    png = tmp_path / "one.png"
    assert main(["render", "--reference", str(media_dir / "pose.jpg"), "--driver", str(media_dir / "pose.jpg"),
                 "-o", str(png), "--renderer", "learned", "--checkpoint", str(ckpt), "--backend", "torch"]) == 0
    assert png.is_file()
    capsys.readouterr()
    assert main(["evaluate", "--driver", clip, "--self", "--checkpoint", str(ckpt)]) == 2
    assert "are for --renderer learned" in capsys.readouterr().err
    assert main(["evaluate", "--driver", clip, "--self", "--renderer", "learned"]) == 2
    assert "needs --checkpoint" in capsys.readouterr().err
