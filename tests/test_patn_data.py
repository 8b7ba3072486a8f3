"""Training data: DeepFashion-style folders (PATN's CSV formats), video pairs, samples and flips."""
from __future__ import annotations

import numpy as np
import pytest

from engines.learned.datasets import DataOptions, PairDataset, deepfashion_pairs, load_data, read_annotations
from engines.learned.patn import get_config
from engines.learned.posemaps import keypoints18
from realtime.errors import InputError
from realtime.layouts import OPENPOSE18


def _fmt(values) -> str:
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


@pytest.fixture()
def fashion_dir(tmp_path, pose_jpg_estimate):
    """Three 'photos' of one person (the shared photo, shifted and mirrored) in PATN's folder format."""
    import cv2

    image, est = pose_jpg_estimate
    kps = keypoints18(est.pose)
    h, w = image.shape[:2]
    (tmp_path / "train").mkdir()
    rows = ["name:keypoints_y:keypoints_x"]
    variants = {"a.jpg": (image, kps)}
    m = np.float32([[1, 0, 20], [0, 1, 10]])
    shifted = kps.copy()
    shifted[kps[:, 0] >= 0] += (20, 10)
    variants["b.jpg"] = (cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE), shifted)
    from engines.learned.posemaps import flip_keypoints18

    variants["c.jpg"] = (image[:, ::-1].copy(), flip_keypoints18(kps, w))
    for name, (img, k) in variants.items():
        cv2.imwrite(str(tmp_path / "train" / name), img)
        ys = [-1 if x < 0 else y for x, y in k]
        xs = [-1 if x < 0 else x for x, _ in k]
        rows.append(f"{name}: {_fmt(ys)}: {_fmt(xs)}")
    (tmp_path / "fashion-annotation-train.csv").write_text("\n".join(rows) + "\n")
    pairs = ["from,to"] + [f"{a},{b}" for a in variants for b in variants if a != b] * 2
    (tmp_path / "fashion-pairs-train.csv").write_text("\n".join(pairs) + "\n")
    return tmp_path, kps


def test_annotation_csv_is_read_in_openpose18_order(fashion_dir):
    folder, kps = fashion_dir
    ann = read_annotations(folder / "fashion-annotation-train.csv")
    assert set(ann) == {"a.jpg", "b.jpg", "c.jpg"}
    present = kps[:, 0] >= 0
    np.testing.assert_allclose(ann["a.jpg"][present], np.floor(kps[present]), atol=1.0)
    assert (ann["a.jpg"][~present] == -1).all()


def test_deepfashion_pairs_and_samples(fashion_dir):
    folder, _ = fashion_dir
    data = load_data([folder], folder / "cache", DataOptions(min_pairs=4))
    assert len(data.frames) == 3 and all(f.full_image for f in data.frames)
    assert len(data.train_pairs) + len(data.val_pairs) == 12 and data.val_pairs
    cfg = get_config("tiny")
    ds = PairDataset(data.frames, data.train_pairs, cfg)
    item = ds[0]
    assert item["cond_image"].shape == (3, 64, 44) and item["cond_pose"].shape == (18, 64, 44)
    assert -1 <= item["target_image"].min() and item["target_image"].max() <= 1
    assert item["target_pose"].reshape(18, -1).max(axis=1).sum() >= 10   # most keypoints drawn


def test_flip_mirrors_images_and_swaps_sides(fashion_dir):
    folder, _ = fashion_dir
    data = deepfashion_pairs(folder, DataOptions(min_pairs=4))
    cfg = get_config("tiny")
    plain = PairDataset(data.frames, data.train_pairs, cfg, flip=False)[0]
    flipped_ds = PairDataset(data.frames, data.train_pairs, cfg, flip=True, seed=0)
    for _ in range(20):   # flips with probability 1/2: find a flipped draw
        item = flipped_ds[0]
        if not np.array_equal(item["cond_image"], plain["cond_image"]):
            break
    np.testing.assert_array_equal(item["cond_image"], plain["cond_image"][:, :, ::-1])
    swapped = plain["target_pose"][OPENPOSE18.flip_indices][:, :, ::-1]
    np.testing.assert_allclose(item["target_pose"], swapped, atol=0.05)


def test_bad_folders_are_explained(fashion_dir, tmp_path):
    folder, _ = fashion_dir
    (folder / "fashion-annotation-train.csv").write_text("name,x,y\n")
    with pytest.raises(InputError, match="name:keypoints_y:keypoints_x"):
        deepfashion_pairs(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "pairs.csv").write_text("from,to\n")
    (empty / "annotation.csv").write_text("name:keypoints_y:keypoints_x\n")
    with pytest.raises(InputError, match="only 0 usable training pairs"):
        deepfashion_pairs(empty)
    (empty / "pairs.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="from,to"):
        deepfashion_pairs(empty)
