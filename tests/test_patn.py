"""PATN model, pose maps, person crops, losses and safetensors checkpoints."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.learned.personcrop import border_weight, crop_box
from engines.learned.posemaps import PoseMapOptions, flip_keypoints18, keypoints18, pose_maps
from realtime.errors import InputError
from realtime.layouts import OPENPOSE18
from realtime.pose import Pose
from tests.patn_helpers import random_feeds, save_tiny_checkpoint, tiny_model

torch = pytest.importorskip("torch", reason="the PATN model needs torch (pip install '.[train]')")


# -- pose maps ----------------------------------------------------------------------------------

def _kps(rng, h=64, w=44, missing=(3, 10)):
    xy = np.stack([rng.uniform(0, w, 18), rng.uniform(0, h, 18)], axis=1).astype(np.float32)
    xy[list(missing)] = -1
    return xy


@pytest.mark.parametrize("mode", ["points", "gaussian"])
def test_pose_maps_missing_keypoints_leave_empty_channels(mode):
    xy = _kps(np.random.default_rng(1))
    maps = pose_maps(xy, 64, 44, PoseMapOptions(mode=mode, sigma=2.0))
    assert maps.shape == (18, 64, 44) and maps.dtype == np.float32
    assert maps[3].max() == 0 and maps[10].max() == 0      # missing: empty, not a point at (0, 0)
    assert maps[0, 0, 0] < 0.5 or (xy[0] < 1).all()
    for k in set(range(18)) - {3, 10}:
        iy, ix = np.unravel_index(np.argmax(maps[k]), maps[k].shape)
        assert abs(ix - int(xy[k, 0])) <= 1 and abs(iy - int(xy[k, 1])) <= 1
        assert maps[k].max() == pytest.approx(1.0, abs=0.15)


def test_points_mode_is_one_hot():
    xy = _kps(np.random.default_rng(2), missing=())
    maps = pose_maps(xy, 64, 44, PoseMapOptions(mode="points"))
    assert (maps.reshape(18, -1).sum(axis=1) == 1).all()
    assert set(np.unique(maps)) == {0.0, 1.0}


def test_keypoints_outside_the_map_are_missing():
    xy = np.full((18, 2), -1, np.float32)
    xy[0] = (100, 5)   # right of a 44-wide map
    xy[1] = (5, 5)
    maps = pose_maps(xy, 64, 44)
    assert maps[0].max() == 0 and maps[1].max() > 0.9


def test_keypoints18_from_a_mediapipe_pose_marks_low_scores_missing():
    from realtime.layouts import MEDIAPIPE33

    rng = np.random.default_rng(3)
    score = np.ones(33, np.float32)
    score[MEDIAPIPE33.index["left_wrist"]] = 0.1
    pose = Pose(rng.uniform(0, 50, (33, 2)), score, MEDIAPIPE33, 50, 50)
    xy = keypoints18(pose)
    assert xy.shape == (18, 2)
    assert (xy[OPENPOSE18.index["left_wrist"]] == -1).all()
    neck = (pose["left_shoulder"] + pose["right_shoulder"]) / 2
    np.testing.assert_allclose(xy[OPENPOSE18.index["neck"]], neck, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_flipping_keypoints_mirrors_the_maps(seed):
    """Maps of flipped keypoints == mirrored maps with left/right channels swapped."""
    xy = _kps(np.random.default_rng(seed))
    opts = PoseMapOptions(mode="gaussian", sigma=1.5)
    flipped = pose_maps(flip_keypoints18(xy, 44), 64, 44, opts)
    mirrored = pose_maps(xy, 64, 44, opts)[OPENPOSE18.flip_indices][:, :, ::-1]
    np.testing.assert_allclose(flipped, mirrored, atol=1e-5)
    np.testing.assert_allclose(flip_keypoints18(flip_keypoints18(xy, 44), 44), xy, atol=1e-4)


# -- crops --------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(st.floats(10, 500), st.floats(10, 500), st.floats(20, 400), st.floats(1.0, 1.6))
def test_crop_box_centres_and_fits_the_person(cx, cy, size, margin):
    rng = np.random.default_rng(int(cx * 7 + cy))
    cx, cy = cx + size, cy + size  # keep image coordinates positive (-1 marks a missing keypoint)
    xy = np.stack([cx + rng.uniform(-size / 4, size / 4, 18), cy + rng.uniform(-size / 2, size / 2, 18)], 1)
    box = crop_box(xy, 128, 88, margin)
    c = box.to_crop(xy)
    eps = 1e-3
    assert (c[:, 0] >= -eps).all() and (c[:, 0] <= 88 + eps).all() and (c[:, 1] >= -eps).all() and (c[:, 1] <= 128 + eps).all()
    np.testing.assert_allclose(box.to_image(c), xy, rtol=1e-4, atol=1e-2)
    mid = (c.min(axis=0) + c.max(axis=0)) / 2
    np.testing.assert_allclose(mid, (44, 64), atol=0.5)


def test_paste_puts_the_crop_back_where_it_came_from():
    yy, xx = np.mgrid[0:200, 0:300]
    canvas = np.dstack([xx * 0.8, yy * 1.2, (xx + yy) * 0.5]).astype(np.uint8)  # smooth: survives resampling
    xy = np.array([[150, 60], [170, 150]] + [[-1, -1]] * 16, np.float32)
    box = crop_box(xy, 64, 44, 1.3)
    crop = box.crop(canvas)
    out, alpha = box.paste(np.zeros_like(canvas), crop, feather_px=0)
    inside = alpha > 0.999
    assert inside.sum() > 1000
    err = np.abs(out[inside].astype(int) - canvas[inside].astype(int)).mean()
    assert err < 3   # resampled twice (down then up): close, not exact
    assert (out[alpha == 0] == 0).all()


def test_border_weight_fades_to_the_edge():
    w = border_weight(20, 10, 4)
    assert w[10, 5] == 1 and w[0, 0] < 0.05 and w.min() >= 0


# -- model --------------------------------------------------------------------------------------

def test_generator_shapes_and_range():
    from engines.learned.patn import count_parameters, make_discriminators

    model = tiny_model()
    feeds = random_feeds(model.cfg, batch=2)
    with torch.no_grad():
        out = model(*(torch.from_numpy(feeds[k]) for k in ("cond_image", "cond_pose", "target_pose")))
    assert out.shape == (2, 3, 64, 44)
    assert out.abs().max() <= 1.0
    da, ds = make_discriminators(model.cfg)
    logits, feats = ds(torch.from_numpy(feeds["target_pose"]), out)
    assert logits.shape == (2, 1, 16, 11) and len(feats) == 4
    assert da(torch.from_numpy(feeds["cond_image"]), out)[0].shape == (2, 1, 16, 11)
    assert count_parameters(model) > 1000


def test_configs_paper_and_small():
    from engines.learned.patn import CONFIGS, PATNGenerator, count_parameters

    paper, small = CONFIGS["paper"], CONFIGS["small"]
    assert (paper.height, paper.width, paper.n_blocks, paper.ngf) == (256, 176, 9, 64)
    assert count_parameters(PATNGenerator(small)) < count_parameters(PATNGenerator(paper)) / 5
    with pytest.raises(ValueError, match="multiples of 4"):
        type(paper)(height=130)


def test_target_pose_changes_the_output_and_the_attention_path_is_used():
    model = tiny_model().train()  # batch statistics: an untrained net's eval-mode signal is tiny
    f = random_feeds(model.cfg)
    t = {k: torch.from_numpy(v) for k, v in f.items()}
    with torch.no_grad():
        a = model(t["cond_image"], t["cond_pose"], t["target_pose"])
        b = model(t["cond_image"], t["cond_pose"], torch.zeros_like(t["target_pose"]))
    assert (a - b).abs().mean() > 1e-3


def test_patb_is_residual_through_the_mask():
    from engines.learned.patn import PATBlock

    blk = PATBlock(8, "batch", first=True).eval()
    fp, fs = torch.randn(1, 8, 6, 6), torch.randn(1, 8, 6, 6)
    with torch.no_grad():
        s = blk.conv_s(fs)
        want = torch.sigmoid(s) * blk.conv_p(fp) + fp
        got_p, got_s = blk(fp, fs)
    torch.testing.assert_close(got_p, want)
    torch.testing.assert_close(got_s, torch.cat([s, want], 1))


# -- losses -------------------------------------------------------------------------------------

def test_losses_feature_matching_without_vgg(tmp_path):
    from engines.learned.losses import FeatureMatching, LossConfig, discriminator_loss, generator_loss, make_perceptual

    per = make_perceptual(LossConfig())
    assert isinstance(per, FeatureMatching) and per.kind == "feature-matching"
    fake = torch.zeros(1, 3, 8, 8, requires_grad=True)
    real = torch.ones(1, 3, 8, 8)
    feats = [torch.ones(1, 2, 4, 4)]
    d = ((torch.zeros(1, 1, 2, 2), feats), (torch.zeros(1, 1, 2, 2), feats))
    g = generator_loss(LossConfig(), per, fake, real, d, d)
    assert g["g_l1"].item() == pytest.approx(1.0)
    assert g["g_gan"].item() == pytest.approx(2 * np.log(2), rel=1e-5)  # D = 0.5 everywhere
    assert g["g_total"].item() == pytest.approx(5 * 2 * np.log(2) + 1.0, rel=1e-5)
    big = torch.full((1, 1, 2, 2), 20.0)
    assert discriminator_loss(big, -big).item() < 1e-6


def test_vgg_weights_must_be_safetensors(tmp_path):
    from engines.learned.losses import LossConfig, make_perceptual

    bad = tmp_path / "vgg19.pth"
    bad.write_bytes(b"not a pickle we would open")
    with pytest.raises(InputError, match="safetensors"):
        make_perceptual(LossConfig(vgg_weights=bad))


def test_vgg_perceptual_with_local_weights(tmp_path):
    from safetensors.torch import save_file

    from engines.learned.losses import LossConfig, make_perceptual, vgg19_features

    feats = vgg19_features(9)
    path = tmp_path / "vgg19.safetensors"
    save_file({f"features.{k}": v.contiguous() for k, v in feats.state_dict().items()}, str(path))
    per = make_perceptual(LossConfig(vgg_weights=path))
    assert per.kind == "vgg19"
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    assert per(x, x).item() == 0
    assert per(x, -x).item() > 0


# -- checkpoints --------------------------------------------------------------------------------

def test_checkpoint_round_trip_without_unpickling(tmp_path, monkeypatch):
    from engines.learned.checkpoint import load_generator

    path = save_tiny_checkpoint(tmp_path)
    assert path.suffix == ".safetensors" and path.with_suffix(".json").is_file()
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["format"] == "repose-patn" and meta["generator"]["n_blocks"] == 2

    def no_pickles(*a, **k):
        raise AssertionError("torch.load must not be used to read checkpoints")

    monkeypatch.setattr(torch, "load", no_pickles)
    model, cfg = load_generator(path)
    ref = tiny_model()
    f = {k: torch.from_numpy(v) for k, v in random_feeds(cfg).items()}
    with torch.no_grad():
        torch.testing.assert_close(model(*f.values()), ref(*f.values()))
    for p in (path.with_suffix(".json"), tmp_path):   # either file or the folder (when named last.*)
        if p == tmp_path:
            (tmp_path / "last.safetensors").write_bytes(path.read_bytes())
            (tmp_path / "last.json").write_bytes(path.with_suffix(".json").read_bytes())
        assert load_generator(p)[1] == cfg


def test_checkpoint_errors(tmp_path):
    from engines.learned.checkpoint import load_generator, save_generator

    with pytest.raises(InputError, match="no such file"):
        load_generator(tmp_path / "nothing.safetensors")
    path = save_tiny_checkpoint(tmp_path)
    other = save_generator(tiny_model(ngf=4), tmp_path / "other.safetensors")
    path.with_suffix(".json").write_text(other.with_suffix(".json").read_text())
    with pytest.raises(InputError, match="do not fit"):
        load_generator(path)
    path.with_suffix(".json").write_text('{"format": "something-else"}')
    with pytest.raises(InputError, match="not a repose PATN checkpoint"):
        load_generator(path)


def test_training_state_round_trip(tmp_path):
    from engines.learned.checkpoint import load_training, save_training
    from engines.learned.patn import make_discriminators

    g = tiny_model().train()
    da, ds = make_discriminators(g.cfg)
    opts = {n: torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999)) for n, m in (("g", g), ("da", da), ("ds", ds))}
    f = {k: torch.from_numpy(v) for k, v in random_feeds(g.cfg, batch=2).items()}
    loss = g(*f.values()).abs().mean() + da(f["cond_image"], f["cond_image"])[0].mean() + \
        ds(f["target_pose"], f["cond_image"])[0].mean()
    loss.backward()
    for o in opts.values():
        o.step()
    save_training(tmp_path / "last", g, {"d_a": da, "d_s": ds}, opts, {"step": 7, "epoch": 1})

    g2 = tiny_model(seed=5).train()
    da2, ds2 = make_discriminators(g2.cfg)
    opts2 = {n: torch.optim.Adam(m.parameters(), lr=1.0) for n, m in (("g", g2), ("da", da2), ("ds", ds2))}
    counters = load_training(tmp_path / "last.safetensors", g2, {"d_a": da2, "d_s": ds2}, opts2)
    assert counters["step"] == 7 and counters["epoch"] == 1
    for a, b in ((g, g2), (da, da2), (ds, ds2)):
        for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
            torch.testing.assert_close(va, vb)
    for n in opts:
        sa, sb = opts[n].state_dict(), opts2[n].state_dict()
        assert sb["param_groups"][0]["lr"] == pytest.approx(2e-4)
        for pid in sa["state"]:
            torch.testing.assert_close(sa["state"][pid]["exp_avg"], sb["state"][pid]["exp_avg"])
