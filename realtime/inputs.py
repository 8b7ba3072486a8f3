"""Inputs: the one place where an input spec becomes frames and poses.

A spec is ``webcam:N`` (or a bare camera index), a stream URL (rtsp://, http://, ...), a video file, an
image, a folder of images (read in name order), or a pose file (repose image/video JSON, OpenPose or
COCO JSON, see ``realtime.poseio``). Every command, the coach, the training data and the scripts read
their inputs here:

- :func:`kind_of_input` names a spec's kind and refuses what the caller does not take (one wording);
- :func:`open_source` opens the frames of a live or file spec as a ``realtime.sources`` Source
  (the live pipeline's capture thread reads it);
- :class:`PoseInput` (:func:`open_input`) streams :class:`InputFrame` objects (frame and pose), owning
  its source and its estimator (image mode for stills and folders, video mode, which tracks, for
  videos and cameras); a pose file gives its poses without frames;
- :func:`estimate_still`, :func:`estimate_image` and :func:`pose_from_path` for single stills.

Images are BGR uint8 HxWx3. Times are media seconds: frame index / fps for files and folders, seconds
since the first frame for cameras and streams.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Iterator, Mapping

import numpy as np

from realtime.errors import InputError
from realtime.media import IMAGE_EXTS, VIDEO_EXTS
from realtime.pose import Pose
from realtime.sources import (CvCaptureSource, ImageSequenceSource, Source, SourceError, SourceOptions,
                              VideoFileSource)

NO_PERSON_HINT = "expected a photo that shows one person, ideally the whole body, well lit"

#: how each kind is named in messages
KIND_WORDS = {
    "webcam": "webcam:N",
    "url": "a stream URL (rtsp://, http://)",
    "video": "a video file",
    "image": "an image",
    "folder": "a folder of images",
    "json": "a pose .json file",
}
#: kinds that have frames (everything but pose files)
FRAME_KINDS = ("webcam", "url", "video", "image", "folder")
#: estimator mode by kind: stills and folders of unrelated images detect every time, streams track
ESTIMATOR_MODE = {"image": "image", "folder": "image", "video": "video", "webcam": "video", "url": "video"}


@dataclass(frozen=True)
class InputSpec:
    """A parsed spec: its kind and what opens it (a camera index, a URL or a path)."""

    kind: str
    target: int | str | Path
    text: str


def _words(kinds: Collection[str]) -> str:
    names = [KIND_WORDS[k] for k in kinds]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def parse_input(spec: str | Path, accept: Collection[str] | None = None, what: str | None = None,
                expected: str | None = None) -> InputSpec:
    """Parse a spec; InputError when it does not exist, is of no known kind, or not in ``accept``.

    what: how the caller names the input in messages (e.g. "--source"); expected: the caller's own
    words for what it takes (default: built from ``accept``).
    """
    text = str(spec).strip()
    label = f"{what} {text!r}" if what else text
    want = expected or (_words(accept) if accept else None)
    if text.startswith("webcam:") or text.isdigit():
        idx = text.split(":", 1)[1] if text.startswith("webcam:") else text
        if not idx.isdigit():
            raise InputError(f"bad webcam source {text!r}: expected webcam:N with N a camera index, e.g. webcam:0")
        parsed = InputSpec("webcam", int(idx), text)
    elif "://" in text:
        parsed = InputSpec("url", text, text)
    else:
        p = Path(text)
        if p.is_dir():
            parsed = InputSpec("folder", p, text)
        elif not p.exists():
            if what:
                raise InputError(f"{label} not found: expected {want or _words(KIND_WORDS)}")
            raise InputError(f"{label}: no such file or folder" + (f"; expected {want}" if want else ""))
        else:
            ext = p.suffix.lower()
            kind = "json" if ext == ".json" else "image" if ext in IMAGE_EXTS else "video" if ext in VIDEO_EXTS else None
            if kind is None:
                raise InputError(f"{label}: unknown kind of file {ext or '(no extension)'}; expected "
                                 + (want or f"an image ({', '.join(sorted(IMAGE_EXTS))}) or a video "
                                            f"({', '.join(sorted(VIDEO_EXTS))})"))
            parsed = InputSpec(kind, p, text)
    if accept is not None and parsed.kind not in accept:
        raise InputError(f"{label}: expected {want}, got {KIND_WORDS[parsed.kind]}")
    return parsed


def kind_of_input(spec: str | Path, accept: Collection[str] | None = None, what: str | None = None,
                  expected: str | None = None) -> str:
    """'webcam', 'url', 'video', 'image', 'folder' or 'json' (see :func:`parse_input`)."""
    return parse_input(spec, accept, what, expected).kind


def _open_frames(s: InputSpec, options: SourceOptions) -> Source:
    from realtime.media import list_images

    if s.kind in ("webcam", "url"):
        return CvCaptureSource(s.target, options)
    if s.kind == "folder":
        return ImageSequenceSource(list_images(s.target), options, name=s.text)
    if s.kind == "image":
        return ImageSequenceSource([Path(s.target)], options, name=s.text)
    return VideoFileSource(s.target, options)


def open_source(spec: str, options: SourceOptions | None = None) -> Source:
    """Open the frames of a spec as a Source; InputError saying what is accepted when it cannot."""
    s = parse_input(spec, what="source", expected="webcam:N, a video file, a folder of images, an image, "
                                                  "or a stream URL (rtsp://, http://)")
    if s.kind not in FRAME_KINDS:
        raise InputError(f"source {spec!r} is a pose file: expected webcam:N, a video file, a folder of images, "
                         "an image or a stream URL")
    return _open_frames(s, options or SourceOptions())


@dataclass(frozen=True)
class InputFrame:
    """One item of an input: its index (frame number, or file number in a folder), media time (s),
    the BGR frame (None for pose files), the pose (None where nobody was found) and, for a folder,
    the image's file name."""

    index: int
    time_s: float
    image: np.ndarray | None
    pose: Pose | None
    name: str = ""


class PoseInput:
    """The frames of a spec with their poses, streamed one at a time (long videos never sit in memory).

    Owns its source and its estimator; use as a context manager. accept, what, expected: which kinds
    the caller takes and how it words them (see :func:`parse_input`). mode: the estimator's mode
    (default by kind: image for stills and folders, video for videos and cameras). estimate=False
    gives frames only. every: keep every Nth item; max_frames: stop after this many kept items.
    need_person: a still image without a person is an InputError here, at open.
    Attributes: ``kind``, ``fps``, ``total`` (items to come, None when unknown), ``width`` and
    ``height`` (None when unknown), ``mode`` (the estimator's mode; None without an estimator).
    """

    def __init__(self, spec: str | Path, *, accept: Collection[str] | None = None, what: str | None = None,
                 expected: str | None = None, mode: str | None = None, estimate: bool = True, every: int = 1, max_frames: int | None = None,
                 folder_fps: float = 30.0, need_person: bool = False,
                 estimator_options: Mapping[str, Any] | None = None) -> None:
        if every < 1:
            raise ValueError(f"every must be at least 1, got {every}")
        self.spec = parse_input(spec, accept, what, expected)
        self.kind = self.spec.kind
        self.every, self.max_frames = every, max_frames
        self.width: int | None = None
        self.height: int | None = None
        self._source: Source | None = None
        self._est = None
        self.mode: str | None = None
        self._poses: list[Pose | None] | None = None
        self._paths: list[Path] = []
        self._still: InputFrame | None = None
        try:
            self._open(mode, estimate, folder_fps, estimator_options or {})
            if need_person:
                self._check_person()
        except BaseException:
            self.close()
            raise

    def _open(self, mode: str | None, estimate: bool, folder_fps: float, est_opts: Mapping[str, Any]) -> None:
        if self.kind == "json":
            from realtime.poseio import load_pose_video

            video = load_pose_video(self.spec.target)
            self._poses, self.fps = video.poses, video.fps
            self.width, self.height = video.width, video.height
            n = len(video.poses)
        else:
            self._source = _open_frames(self.spec, SourceOptions(realtime=False, folder_fps=folder_fps))
            self.fps = self._source.fps
            n = None
            if isinstance(self._source, VideoFileSource):
                info = self._source.info
                n, self.width, self.height = info.frame_count or None, info.width, info.height
            elif isinstance(self._source, ImageSequenceSource):
                self._paths = self._source.paths
                n = len(self._paths)
            if estimate:
                from realtime.estimator import create_estimator

                self.mode = mode or ESTIMATOR_MODE[self.kind]
                self._est = create_estimator(self.mode, **est_opts)
            if self.kind == "image":   # a still: read (and estimate) at open; it has no frame rate
                self.fps = 1.0
                self._still = self._next_frame()
                self.height, self.width = self._still.image.shape[:2]
        if n is not None:
            n = -(-n // self.every)   # items kept of n
        self.total = n if self.max_frames is None else self.max_frames if n is None else min(n, self.max_frames)

    def _check_person(self) -> None:
        """A still image must show a person."""
        if self._still is not None and self._est is not None and self._still.pose is None:
            raise InputError(f"{self.spec.text}: no person found; {NO_PERSON_HINT}")

    def _next_frame(self) -> InputFrame | None:
        try:
            f = self._source.read()
        except SourceError as e:   # offline reading has no reconnection: say it and stop
            raise InputError(str(e)) from None
        if f is None:
            return None
        pose = self._est.estimate(f.image, f.media_s) if self._est is not None else None
        name = self._paths[f.index % len(self._paths)].name if self._paths else ""
        return InputFrame(f.index, f.media_s, f.image, pose, name)

    def _frames(self) -> Iterator[InputFrame]:
        if self._poses is not None:
            for i, pose in enumerate(self._poses):
                yield InputFrame(i, i / self.fps, None, pose)
            return
        if self._still is not None:
            yield self._still
            return
        while (f := self._next_frame()) is not None:
            yield f

    def __iter__(self) -> Iterator[InputFrame]:
        kept = 0
        for f in self._frames():
            if self.max_frames is not None and kept >= self.max_frames:
                break
            if f.index % self.every:
                continue
            kept += 1
            yield f

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None
        if self._est is not None:
            self._est.close()
            self._est = None

    def __enter__(self) -> "PoseInput":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_input(spec: str | Path, **options) -> PoseInput:
    """``PoseInput(spec, **options)``: the frames and poses of any spec."""
    return PoseInput(spec, **options)


def estimate_still(image_bgr: np.ndarray, segmentation: bool = False):
    """The Estimate (pose, and mask with ``segmentation``) of one image already in memory (image mode)."""
    from realtime.estimator import create_estimator

    with create_estimator("image", segmentation=segmentation) as est:
        return est.detect(image_bgr)


def estimate_image(path: str | Path, segmentation: bool = False):
    """(image, Estimate) of a still image file, estimated in image mode."""
    from realtime.media import read_image

    image = read_image(path)
    return image, estimate_still(image, segmentation)


def pose_from_path(path: str | Path) -> Pose:
    """A single pose from an image (estimated) or a pose JSON file (repose, OpenPose or COCO)."""
    from realtime.poseio import load_pose

    p = Path(path)
    if p.suffix.lower() == ".json":
        return load_pose(p)
    if p.suffix.lower() not in IMAGE_EXTS:
        raise InputError(f"{p}: expected an image ({', '.join(sorted(IMAGE_EXTS))}) or a pose .json file")
    _, found = estimate_image(p)
    if found.pose is None:
        raise InputError(f"{p}: no person found; {NO_PERSON_HINT}")
    return found.pose
