"""Training data for the PATN generator: pairs (conditioning frame, target frame) of one person.

Two sources:
(a) videos of the avatar person. Frames and poses are extracted once with our MediaPipe estimator
    (video mode) and cached under ``cache_dir/<video stem>-<hash>/`` (JPEG frames + ``poses.json``,
    written last so an interrupted extraction is redone). Pairs are frames whose poses differ; the
    last ``val_fraction`` of each video's usable frames are held out for validation, paired with the
    video's first usable frame as conditioning (self-reenactment, as image-animation papers do).
(b) a DeepFashion-style folder, as PATN's code reads it: images (in the folder or a subfolder), a
    pairs CSV (``from,to``; a file whose name contains "pairs") and the keypoint annotation CSV
    (``name:keypoints_y:keypoints_x``, colon-separated, OpenPose-18 order, -1 for missing; a file
    whose name contains "annotation"). Files with "test" in the name are the held-out split.

Each sample is cropped around the person (engines.learned.personcrop; the conditioning frame sets the crop
size, each frame its own centre) or, for DeepFashion, the whole image is resized. Horizontal flips
(the thesis doubled its data that way) mirror both frames and swap left/right keypoints.
Tensors: images RGB float32 in [-1, 1], (3,H,W); pose maps (18,H,W) from engines.learned.posemaps.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from engines.learned.config import GeneratorConfig
from engines.learned.personcrop import CropBox, crop_box, keypoint_box
from engines.learned.posemaps import N_CHANNELS, PoseMapOptions, flip_keypoints18, keypoints18, pose_maps
from realtime.errors import InputError
from realtime.fileio import write_json
from realtime.media import IMAGE_EXTS

log = logging.getLogger(__name__)

CACHE_VERSION = 1


@dataclass(frozen=True)
class Frame:
    """One image of the person: a file and its (18,2) OpenPose-18 keypoints in image pixels (-1 = missing)."""

    path: Path
    keypoints: np.ndarray
    full_image: bool = False  # DeepFashion: use the whole (already person-centred) image


@dataclass
class DataOptions:
    """How pairs are made. min_keypoints: a usable frame has at least this many of the 18 keypoints.
    min_person_fraction: a video where fewer frames show a person is refused.
    min_pose_change: a pair's poses must differ by this share of the person's size (mean keypoint move).
    max_pairs: pairs per epoch are sampled from all pairs up to this number.
    """

    val_fraction: float = 0.1
    max_val_pairs: int = 16
    min_keypoints: int = 8
    min_person_fraction: float = 0.5
    min_pose_change: float = 0.05
    max_pairs: int = 4000
    min_pairs: int = 8
    every: int = 1
    max_frames: int | None = None
    seed: int = 0


@dataclass
class PairData:
    """Frames and (cond, target) index pairs for training and validation."""

    frames: list[Frame] = field(default_factory=list)
    train_pairs: list[tuple[int, int]] = field(default_factory=list)
    val_pairs: list[tuple[int, int]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def extend(self, other: "PairData") -> None:
        base = len(self.frames)
        self.frames += other.frames
        self.train_pairs += [(a + base, b + base) for a, b in other.train_pairs]
        self.val_pairs += [(a + base, b + base) for a, b in other.val_pairs]
        self.sources += other.sources


# -- videos -----------------------------------------------------------------------------------------

def _video_key(path: Path, opts: DataOptions) -> str:
    st = path.stat()
    text = f"{path.resolve()}|{st.st_size}|{int(st.st_mtime)}|{opts.every}|{opts.max_frames}|{CACHE_VERSION}"
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def extract_video(path: str | Path, cache_dir: str | Path, opts: DataOptions = DataOptions()) -> list[Frame | None]:
    """Frames and poses of a video, from the cache when present; None for frames without a person."""
    from realtime.inputs import open_input
    from realtime.progress import bar

    path = Path(path)
    folder = Path(cache_dir) / f"{path.stem}-{_video_key(path, opts) if path.is_file() else 'missing'}"
    index_file = folder / "poses.json"
    if index_file.is_file():
        data = json.loads(index_file.read_text(encoding="utf-8"))
        log.info("%s: %d cached frames in %s", path.name, len(data["frames"]), folder)
        return [None if f["keypoints"] is None else Frame(folder / f["file"], np.asarray(f["keypoints"], np.float32))
                for f in data["frames"]]
    # frames and poses (video mode: tracking); InputError when missing or unreadable
    video = open_input(path, accept=("video",), every=opts.every, max_frames=opts.max_frames)
    folder.mkdir(parents=True, exist_ok=True)
    frames: list[Frame | None] = []
    rows = []
    try:
        with video:
            for f in bar(video, total=video.total, desc=f"poses {path.name}"):
                i, t, bgr, pose = f.index, f.time_s, f.image, f.pose
                name = f"{i:06d}.jpg"
                kps = None
                if pose is not None:
                    kps = keypoints18(pose)
                    if (kps[:, 0] >= 0).sum() < 1:
                        kps = None
                if kps is not None:
                    cv2.imwrite(str(folder / name), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
                rows.append({"index": i, "time_s": t, "file": name, "keypoints": None if kps is None else kps.tolist()})
                frames.append(None if kps is None else Frame(folder / name, kps))
    except BaseException:   # an unfinished video's frames are no cache: remove them
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        raise
    write_json(index_file, {"version": CACHE_VERSION, "video": str(path), "width": video.width,
                            "height": video.height, "frames": rows})
    return frames


def _usable(f: Frame | None, opts: DataOptions) -> bool:
    return f is not None and int((f.keypoints[:, 0] >= 0).sum()) >= opts.min_keypoints


def _pose_change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean move of keypoints present in both, as a share of a's keypoint-box height (inf if none shared)."""
    both = (a >= 0).all(axis=1) & (b >= 0).all(axis=1)
    box = keypoint_box(a)
    if not both.any() or box is None:
        return float("inf")
    size = max(box[3] - box[1], box[2] - box[0], 1.0)
    return float(np.linalg.norm(a[both] - b[both], axis=1).mean() / size)


def video_pairs(path: str | Path, cache_dir: str | Path, opts: DataOptions = DataOptions()) -> PairData:
    """Pairs from one video (see the module docstring); InputError when the video is unusable."""
    frames = extract_video(path, cache_dir, opts)
    usable = [f for f in frames if _usable(f, opts)]
    n = len(frames)
    if n == 0 or len(usable) < opts.min_person_fraction * n:
        raise InputError(f"{path}: a person with at least {opts.min_keypoints} of 18 keypoints was found in only "
                         f"{len(usable)} of {n} frames; expected most frames to show the whole avatar person "
                         "(film them full-body, well lit, alone in view)")
    n_val = max(1, int(round(len(usable) * opts.val_fraction))) if len(usable) >= 10 else 0
    train, val = usable[:len(usable) - n_val], usable[len(usable) - n_val:]
    rng = random.Random(opts.seed)
    all_pairs = [(i, j) for i in range(len(train)) for j in range(len(train))
                 if i != j and _pose_change(train[i].keypoints, train[j].keypoints) >= opts.min_pose_change]
    if len(all_pairs) < opts.min_pairs:
        raise InputError(f"{path}: only {len(all_pairs)} frame pairs in different poses (need {opts.min_pairs}); "
                         "expected a video where the person moves through many poses")
    if len(all_pairs) > opts.max_pairs:
        all_pairs = rng.sample(all_pairs, opts.max_pairs)
    data = PairData(frames=train + val, train_pairs=all_pairs, sources=[str(path)])
    step = max(1, len(val) // opts.max_val_pairs) if val else 1
    data.val_pairs = [(0, len(train) + k) for k in range(0, len(val), step)][:opts.max_val_pairs]
    log.info("%s: %d usable of %d frames, %d train pairs, %d validation pairs", Path(path).name, len(usable), n,
             len(data.train_pairs), len(data.val_pairs))
    return data


# -- DeepFashion-style folders ------------------------------------------------------------------------

def _parse_coords(text: str, where: str) -> list[float]:
    try:
        values = json.loads(text.strip())
    except ValueError:
        raise InputError(f"{where}: keypoints {text.strip()[:40]!r} are not a [v1, v2, ...] list") from None
    if not isinstance(values, list) or len(values) != N_CHANNELS:
        raise InputError(f"{where}: expected 18 keypoint coordinates (OpenPose-18 order), got "
                         f"{len(values) if isinstance(values, list) else values!r}")
    return [float(v) for v in values]


def read_annotations(path: Path) -> dict[str, np.ndarray]:
    """PATN's annotation CSV (``name:keypoints_y:keypoints_x``) -> name -> (18,2) xy, -1 for missing."""
    out: dict[str, np.ndarray] = {}
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().strip().replace(" ", "")
        if header.split(":") != ["name", "keypoints_y", "keypoints_x"]:
            raise InputError(f"{path}: first line {header[:60]!r}; expected the PATN annotation header "
                             "'name:keypoints_y:keypoints_x'")
        for n, line in enumerate(fh, start=2):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split(":")
            if len(parts) != 3:
                raise InputError(f"{path}:{n}: expected 'name: [y...]: [x...]', got {line.strip()[:60]!r}")
            ys = _parse_coords(parts[1], f"{path}:{n}")
            xs = _parse_coords(parts[2], f"{path}:{n}")
            xy = np.stack([xs, ys], axis=1).astype(np.float32)
            xy[(xy < 0).any(axis=1)] = -1.0
            out[parts[0].strip()] = xy
    return out


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """Pairs CSV with a ``from,to`` header -> list of (from, to) image names."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or [c.strip() for c in rows[0][:2]] != ["from", "to"]:
        raise InputError(f"{path}: expected a CSV whose first line is 'from,to', got {rows[0][:2] if rows else 'an empty file'}")
    return [(r[0].strip(), r[1].strip()) for r in rows[1:] if len(r) >= 2 and r[0].strip()]


def deepfashion_pairs(root: str | Path, opts: DataOptions = DataOptions()) -> PairData:
    """Pairs of a DeepFashion-style folder (see the module docstring)."""
    root = Path(root)
    csvs = sorted(root.glob("*.csv"))
    pair_files = [p for p in csvs if "pairs" in p.name.lower()]
    ann_files = [p for p in csvs if "annotation" in p.name.lower()]
    if not pair_files or not ann_files:
        raise InputError(f"{root}: expected a DeepFashion-style folder with a pairs CSV ('from,to') and a keypoint "
                         "annotation CSV ('name:keypoints_y:keypoints_x') whose names contain 'pairs' and "
                         f"'annotation'; found {[p.name for p in csvs] or 'no CSV files'}")
    keypoints: dict[str, np.ndarray] = {}
    for a in ann_files:
        keypoints.update(read_annotations(a))
    images = {p.name: p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTS and p.is_file()}
    data = PairData(sources=[str(root)])
    ids: dict[str, int] = {}
    missing: list[str] = []

    def frame_id(name: str) -> int | None:
        if name in ids:
            return ids[name]
        if name not in keypoints or name not in images:
            missing.append(name)
            return None
        kps = keypoints[name]
        if int((kps[:, 0] >= 0).sum()) < opts.min_keypoints:
            return None
        ids[name] = len(data.frames)
        data.frames.append(Frame(images[name], kps, full_image=True))
        return ids[name]

    test_files = [p for p in pair_files if "test" in p.name.lower()]
    for pf in pair_files:
        target = data.val_pairs if pf in test_files else data.train_pairs
        for a, b in read_pairs(pf):
            ia, ib = frame_id(a), frame_id(b)
            if ia is not None and ib is not None and ia != ib:
                target.append((ia, ib))
    if missing:
        log.warning("%s: %d pair entries name images without a file or an annotation (first: %s)",
                    root, len(missing), missing[0])
    if len(data.train_pairs) < opts.min_pairs:
        raise InputError(f"{root}: only {len(data.train_pairs)} usable training pairs (need {opts.min_pairs}); "
                         f"{len(missing)} pair entries had no image file or annotation")
    if not data.val_pairs:
        n_val = max(1, len(data.train_pairs) // 10)
        data.val_pairs = data.train_pairs[-n_val:]
        data.train_pairs = data.train_pairs[:-n_val]
    rng = random.Random(opts.seed)
    if len(data.train_pairs) > opts.max_pairs:
        data.train_pairs = rng.sample(data.train_pairs, opts.max_pairs)
    data.val_pairs = data.val_pairs[:opts.max_val_pairs]
    return data


def load_data(paths: list[str | Path], cache_dir: str | Path, opts: DataOptions = DataOptions()) -> PairData:
    """All pairs of the given videos and DeepFashion-style folders."""
    if not paths:
        raise InputError("no training data given: expected --data VIDEO [VIDEO ...] or a DeepFashion-style folder")
    from realtime.inputs import kind_of_input

    data = PairData()
    for p in map(Path, paths):
        kind = kind_of_input(p, accept=("folder", "video"),
                             expected="a video of the avatar person or a DeepFashion-style folder")
        data.extend(deepfashion_pairs(p, opts) if kind == "folder" else video_pairs(p, cache_dir, opts))
    if not data.val_pairs:
        raise InputError("no validation pairs: give a video of at least 10 usable frames or a pairs CSV with enough rows")
    return data


# -- samples ------------------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def _read_bgr(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(f"{path}: cannot read a cached training image; delete the cache folder to rebuild it")
    return img


def to_tensor_image(bgr: np.ndarray) -> np.ndarray:
    """BGR uint8 HxWx3 -> RGB float32 (3,H,W) in [-1, 1]."""
    rgb = bgr[:, :, ::-1].astype(np.float32)
    return np.ascontiguousarray((rgb / 127.5 - 1.0).transpose(2, 0, 1))


def from_tensor_image(chw: np.ndarray) -> np.ndarray:
    """RGB float (3,H,W) in [-1, 1] -> BGR uint8 HxWx3."""
    rgb = (np.clip(np.asarray(chw, np.float32), -1, 1).transpose(1, 2, 0) + 1.0) * 127.5
    return np.ascontiguousarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8)[:, :, ::-1])


def full_image_box(height: int, width: int, image_h: int, image_w: int) -> CropBox:
    """Fit a whole image into the crop (letterboxed by edge replication, centred)."""
    scale = min(height / image_h, width / image_w)
    return CropBox(scale=scale, offset=((width - image_w * scale) / 2, (height - image_h * scale) / 2),
                   height=height, width=width)


def frame_box(frame: Frame, cfg: GeneratorConfig, size_px: float | None, image_shape: tuple[int, int]) -> CropBox:
    if frame.full_image:
        return full_image_box(cfg.height, cfg.width, *image_shape)
    return crop_box(frame.keypoints, cfg.height, cfg.width, cfg.crop_margin, size_px=size_px)


def _in_worker() -> bool:
    try:
        import torch.utils.data as tud
    except ImportError:
        return False
    return tud.get_worker_info() is not None


class PairDataset:
    """torch-style dataset of (cond, target) samples; flip=True mirrors a pair with probability 1/2.

    Each item: dict of float32 arrays cond_image (3,H,W), cond_pose (18,H,W), target_image, target_pose.
    """

    def __init__(self, frames: list[Frame], pairs: list[tuple[int, int]], cfg: GeneratorConfig,
                 flip: bool = False, seed: int = 0) -> None:
        self.frames, self.pairs, self.cfg, self.flip = frames, pairs, cfg, flip
        self.map_opts = PoseMapOptions(mode=cfg.pose_map, sigma=cfg.pose_sigma)
        self._rng = random.Random(seed)  # DataLoader workers reseed Python's random per worker

    def __len__(self) -> int:
        return len(self.pairs)

    def sample(self, frame: Frame, size_px: float | None) -> tuple[np.ndarray, np.ndarray, float]:
        """(crop BGR, crop keypoints, size_px used) of one frame."""
        bgr = _read_bgr(frame.path)
        if size_px is None and not frame.full_image:
            from engines.learned.personcrop import person_size
            size_px = person_size(frame.keypoints, self.cfg.height, self.cfg.width, self.cfg.crop_margin)
        box = frame_box(frame, self.cfg, size_px, bgr.shape[:2])
        return box.crop(bgr), box.to_crop(frame.keypoints), size_px

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        a, b = self.pairs[i]
        c_img, c_kp, size = self.sample(self.frames[a], None)
        t_img, t_kp, _ = self.sample(self.frames[b], size)
        if self.flip and (self._rng if not _in_worker() else random).random() < 0.5:
            w = self.cfg.width
            c_img, t_img = c_img[:, ::-1], t_img[:, ::-1]
            c_kp, t_kp = flip_keypoints18(c_kp, w), flip_keypoints18(t_kp, w)
        h, w = self.cfg.height, self.cfg.width
        return {
            "cond_image": to_tensor_image(c_img),
            "cond_pose": pose_maps(c_kp, h, w, self.map_opts),
            "target_image": to_tensor_image(t_img),
            "target_pose": pose_maps(t_kp, h, w, self.map_opts),
            "target_keypoints": t_kp.astype(np.float32),
        }
