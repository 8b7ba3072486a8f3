"""The live pipeline: capture -> pose (estimate, smooth, mirror, retarget, match) -> render
(renderer, fit to output size, HUD) -> sinks, each on its own thread(s), joined by one-slot
"latest" mailboxes so a slow stage drops stale frames instead of queueing them.

Threads: ``capture`` (grabs and timestamps only), ``pose`` (the MediaPipe estimator, made on this
thread, on every ``pose_every``-th frame of a live run with a prediction between, plus the
One-Euro smoother, mirror, the retarget hook and coach matching: those take a few ms at most,
less than a thread hop would cost), ``cues`` (only with a face or hands tracker:
Face Mesh and Hands on the same frame as the pose, side by side with it on two cores: the pose
thread hands the frame over before it estimates, with the last pose seen for the crops, and
takes the frame's cues back before passing it on, so a face is never paired with another frame's
pose and nothing queues), ``render`` (renderer and HUD) and one
``sink:NAME`` thread per output, so a paced virtual camera or a slow disk never holds up the
others; GUI sinks (the preview window) are instead fed by the thread that calls ``wait()``,
since HighGUI on macOS works only on the main thread. With ``realtime=False`` every hand-off waits instead of dropping (offline runs: every
frame of a file is processed, as fast as possible).

Faults: an exception in any stage stops the pipeline and is raised by ``run()``/``raise_error()``
as :class:`StageError` naming the stage; a live source that drops is reopened with backoff by the
capture thread and, when it stays down, ends the run with :class:`SourceLost`. When nobody is in
view the last pose is held for ``hold_s`` seconds, then the reference is shown at rest.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from realtime.cpu import single_threaded_blas
from realtime.mailbox import Mailbox, MailboxClosed
from realtime.overlay import HudInfo, draw_hud
from realtime.pose import Pose
from realtime.sinks import Controls, Sink, SinkOptions, create_sink
from realtime.smoothing import OneEuroOptions, PoseSmoother, PoseStride
from realtime.sources import CaptureOptions, CaptureThread, Frame, Source, SourceError
from realtime.stats import PipelineStats

log = logging.getLogger(__name__)

Retarget = Callable[[Pose], Pose]


class PipelineError(RuntimeError):
    """The run ended because of a failure (see subclasses)."""


class StageError(PipelineError):
    """A stage raised: ``stage`` names it, ``__cause__`` is the original exception."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        super().__init__(f"stage {stage!r} failed: {type(cause).__name__}: {cause}")
        self.stage = stage
        self.__cause__ = cause


class SourceLost(PipelineError):
    """The source failed and could not be reopened."""


@dataclass
class PipelineOptions:
    """Options of a run.

    realtime: latest-frame-wins hand-offs (live); False: lossless hand-offs, every frame processed.
    max_frames / duration_s: stop after that many captured frames / seconds (None: no limit).
    hold_s: how long (media seconds) the last pose is kept when nobody is in view.
    smoothing: One-Euro options, None to turn smoothing off.
    output_size: (width, height) of the output frames; the render is letterboxed into it
      (None: the reference image's size rounded down to even numbers).
    fps: output rate hint for sinks (virtual camera timer, mp4 rate); None: the source's fps.
    pose_every: live runs estimate the pose on every n-th frame only and predict it between
      (realtime.smoothing.PoseStride, stage "predict"): MediaPipe Pose is the loop's largest stage
      (~24 ms of CPU a frame), more than a 2-core machine can pair with render and face at 30 fps.
      Offline runs (``realtime=False``) estimate every frame.
    """

    realtime: bool = True
    max_frames: int | None = None
    duration_s: float | None = None
    hold_s: float = 0.5
    mirror: bool = False
    overlay: bool = True
    smoothing: OneEuroOptions | None = field(default_factory=OneEuroOptions)
    output_size: tuple[int, int] | None = None
    fps: float | None = None
    capture: CaptureOptions = field(default_factory=CaptureOptions)
    log_every_s: float = 10.0
    join_timeout_s: float = 10.0
    pose_every: int = 2

    def __post_init__(self) -> None:
        if self.pose_every < 1:
            raise ValueError(f"pose_every must be >= 1 frame, got {self.pose_every}")


@dataclass
class _PoseItem:
    frame: Frame
    target: Pose
    status: str
    similarity: float | None
    advice: tuple[str, ...]
    expression: Any = None
    hands: Any = None


@dataclass
class _CueJob:
    """A frame for the cue thread: ``crop_pose`` is the last driver pose seen (camera orientation,
    for the crops; None: nobody in view for longer than ``hold_s``, no cues), ``mirror`` the
    setting the pose stage uses for this frame, ``hands_due`` whether Hands runs on it (None: the
    hands tracker's own cadence)."""

    frame: Frame
    crop_pose: Pose | None
    mirror: bool
    hands_due: bool | None = None


@dataclass
class _OutItem:
    image: np.ndarray
    captured_s: float


def frame_to_reference(ref_width: int, ref_height: int) -> Retarget:
    """The retarget hook when none is given (``repose live --no-retarget``): the driver's pose
    unchanged in shape, only moved from driver-frame pixels into reference pixels (the driver's
    frame fitted into the reference image, centred, aspect kept)."""

    def retarget(pose: Pose) -> Pose:
        if pose.width is None or pose.height is None or (pose.width, pose.height) == (ref_width, ref_height):
            return pose
        s = min(ref_width / pose.width, ref_height / pose.height)
        off = ((ref_width - pose.width * s) / 2.0, (ref_height - pose.height * s) / 2.0)
        return pose.transformed(s, off, width=ref_width, height=ref_height)

    return retarget


def letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize keeping the aspect ratio and pad with black to exactly width x height (BGR)."""
    import cv2

    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    s = min(width / w, height / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    out = np.zeros((height, width, image.shape[2]), image.dtype)
    x0, y0 = (width - nw) // 2, (height - nh) // 2
    out[y0:y0 + nh, x0:x0 + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    return out


def _default_estimator():
    from realtime.estimator import create_estimator

    return create_estimator("video", smooth_landmarks=False)


class Pipeline:
    """Owns every thread of a live run; ``start()``, ``stop()`` (joins all), context manager.

    source: where frames come from (closed by the pipeline). renderer: a prepared Renderer
    (closed by the pipeline). sinks: spec strings (opened here at the output size) or Sink objects.
    estimator_factory: makes the pose estimator on the pose thread (default: MediaPipe, video mode,
    its own smoothing off since ours runs). retarget: driver pose -> target pose in reference
    pixels (default: :func:`frame_to_reference`). coach: a ``realtime.coaching.live.Coach`` or None.
    face: a realtime.face.FaceTracker (or any ``(image, pose, t, mirror) -> expression`` with
    ``close()``) run on the cue thread beside the pose (stage "face"); its expression goes to
    ``renderer.render(target, expression=...)``. hands: the same for a realtime.hands.HandTracker
    (stage "hands"; ``hands=`` to the renderer; its ``every`` sets how often MediaPipe Hands runs;
    with ``pose_every`` > 1 it is called with ``due=``: Hands runs on the frames the pose is
    estimated on, so the two heavy stages run side by side on two cores and the frames between,
    which wait only for the face, stay light).
    Both are closed by the pipeline.
    """

    def __init__(self, source: Source, renderer: Any, sinks: Sequence[str | Sink],
                 options: PipelineOptions | None = None, *,
                 estimator_factory: Callable[[], Any] | None = None,
                 retarget: Retarget | None = None, coach: Any = None,
                 sink_options: SinkOptions | None = None, controls: Controls | None = None,
                 on_recalibrate: Callable[[], None] | None = None, face: Any = None,
                 hands: Any = None) -> None:
        self.options = o = options or PipelineOptions()
        self.source, self.renderer, self.coach = source, renderer, coach
        self.controls = controls or Controls(mirror=o.mirror, overlay=o.overlay)
        self.estimator_factory = estimator_factory or _default_estimator
        self.on_recalibrate = on_recalibrate
        self.face, self.hands = face, hands
        self.stats = PipelineStats()
        self.rest_pose: Pose = renderer.rest_pose
        first = renderer.render(self.rest_pose)       # warm-up render; also gives the output size
        rh, rw = first.shape[:2]
        self.retarget = retarget or frame_to_reference(rw, rh)
        # default: the reference's size rounded down to even (H.264 and virtual cameras need even sizes)
        self.width, self.height = o.output_size or (rw - rw % 2, rh - rh % 2)
        self.fps = float(o.fps or getattr(source, "fps", 30.0) or 30.0)
        self._stop = threading.Event()
        self._error: PipelineError | None = None
        self._error_lock = threading.Lock()
        self._frames: Mailbox[Frame] = Mailbox("frames")
        self._poses: Mailbox[_PoseItem] = Mailbox("poses")
        # with a face or hands tracker the pose thread hands each frame to the cue thread and takes
        # its cues back (one job in flight: these mailboxes never drop)
        has_cues = face is not None or hands is not None
        self._cues: Mailbox[_CueJob] | None = Mailbox("cues") if has_cues else None
        self._cue_results: Mailbox[tuple] = Mailbox("cue results")
        self.sinks: list[Sink] = []
        try:
            for s in sinks:
                self.sinks.append(create_sink(s, self.width, self.height, self.fps, sink_options, self.controls)
                                  if isinstance(s, str) else s)
        except BaseException:
            for s in self.sinks:
                s.close(ok=False)
            raise
        if not self.sinks:
            raise ValueError("a pipeline needs at least one sink")
        self._sink_boxes: list[Mailbox[_OutItem]] = [Mailbox(f"sink:{s.name}") for s in self.sinks]
        # a camera is always taken live (its driver would otherwise hand over stale frames)
        lossless_capture = not o.realtime and not getattr(source, "live", False)
        self.capture = CaptureThread(source, self._frames, self._stop, o.capture, lossless=lossless_capture,
                                     max_frames=o.max_frames, on_frame=self._on_frame)
        self._threads = [threading.Thread(target=self._guard, args=("pose", self._pose_loop), name="pose", daemon=True),
                         threading.Thread(target=self._guard, args=("render", self._render_loop), name="render",
                                          daemon=True)]
        if self._cues is not None:
            self._threads.append(threading.Thread(target=self._guard, args=("cues", self._cue_loop), name="cues",
                                                  daemon=True))
        # GUI sinks (the preview window) must draw on the thread that runs wait(): macOS HighGUI
        # only works on the main thread. Every other sink gets its own thread.
        self._main_sinks = [(s, box) for s, box in zip(self.sinks, self._sink_boxes)
                            if getattr(s, "main_thread", False)]
        self._threads += [threading.Thread(target=self._guard, args=(f"sink:{s.name}", self._sink_loop, s, box),
                                           name=f"sink:{s.name}", daemon=True)
                          for s, box in zip(self.sinks, self._sink_boxes) if not getattr(s, "main_thread", False)]
        self._started = self._stopped = False
        self._t_start = 0.0

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> "Pipeline":
        if self._started:
            raise RuntimeError("pipeline already started")
        self._started = True
        single_threaded_blas()   # its threads would spin on the cores the stages need (realtime.cpu)
        self._t_start = time.perf_counter()
        self.stats.started = self._t_start
        for t in self._threads:
            t.start()
        self.capture.start()
        return self

    def request_stop(self) -> None:
        """Ask the run to end (signal handlers, hotkeys); ``wait()`` returns, ``stop()`` finalizes."""
        self._stop.set()

    def set_retarget(self, retarget: Retarget) -> None:
        """Swap the retarget hook while running (after a recalibration); takes effect next frame."""
        self.retarget = retarget

    def running(self) -> bool:
        return self._started and not self._stop.is_set() and any(t.is_alive() for t in self._threads)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (source done, limit reached, quit key, failure) or ``timeout``
        passes; True when it ended. Also enforces ``duration_s`` and logs progress."""
        deadline = None if timeout is None else time.perf_counter() + timeout
        next_log = time.perf_counter() + self.options.log_every_s
        while True:
            if (not any(t.is_alive() for t in self._threads) and not self.capture.is_alive()
                    and all(box.closed for _, box in self._main_sinks)):
                self._pump_main_sinks(0.0)   # the last frames of the GUI sinks
                return True
            now = time.perf_counter()
            if self._stop.is_set() or self.controls.quit.is_set():
                return True
            if self.options.duration_s is not None and now - self._t_start >= self.options.duration_s:
                return True
            if deadline is not None and now >= deadline:
                return False
            if self.controls.recalibrate.is_set():
                self.controls.recalibrate.clear()
                if self.on_recalibrate is None:
                    log.warning("recalibration is not available yet (no calibration wired in)")
                else:
                    try:
                        self.on_recalibrate()
                    except Exception as e:  # noqa: BLE001 - reported like any stage failure
                        self._set_error(StageError("recalibrate", e))
            if now >= next_log:
                next_log = now + self.options.log_every_s
                lat = self.stats.latency.summary()
                log.info("in %.1f fps, out %.1f fps, latency p50 %s ms, dropped %d", self.stats.fps_in.rate(),
                         self.stats.fps_out.rate(), lat["p50_ms"], self.dropped)
            if self._main_sinks:
                self._pump_main_sinks(0.01)
            else:
                self._stop.wait(0.02)

    def _pump_main_sinks(self, timeout: float) -> None:
        """Hand pending frames to the GUI sinks on this thread (and let them poll their keys)."""
        for sink, box in self._main_sinks:
            if self._stop.is_set():
                return
            try:
                item = box.get(timeout=timeout)
                if item is not None:
                    self._timed(f"sink:{sink.name}", sink.send, item.image)
                    self.stats.add_sink_latency(sink.name, time.perf_counter() - item.captured_s)
                elif hasattr(sink, "idle"):
                    self._timed(f"sink:{sink.name}", sink.idle)
            except MailboxClosed:
                continue
            except StageError as e:
                self._set_error(e)

    def stop(self) -> None:
        """Stop every thread, join them, and close source, renderer and sinks (finalizing files)."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        for box in [self._frames, *self._stage_boxes(), *self._sink_boxes]:
            box.discard()
        for t in [*self._threads]:
            if t.is_alive():
                t.join(self.options.join_timeout_s)
                if t.is_alive():
                    log.error("thread %s did not stop within %.0f s", t.name, self.options.join_timeout_s)
        if self._started:
            self.capture.join(self.options.join_timeout_s)
        ok = self._error is None or isinstance(self._error, SourceLost)
        for s in self.sinks:
            try:
                s.close(ok=ok)
            except Exception as e:  # noqa: BLE001 - keep closing the others, report the first
                log.error("closing %s failed: %s", s.name, e)
                self._set_error(StageError(f"sink:{s.name}", e))
        for what, closer in (("source", self.source.close), ("renderer", self.renderer.close)):
            try:
                closer()
            except Exception as e:  # noqa: BLE001
                log.error("closing the %s failed: %s", what, e)

    def run(self) -> dict[str, Any]:
        """start(), wait for the end, stop(); returns the stats dict or raises PipelineError."""
        with self:
            self.wait()
        self.raise_error()
        return self.stats_dict()

    def __enter__(self) -> "Pipeline":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- results ---------------------------------------------------------------------------------
    @property
    def error(self) -> PipelineError | None:
        if self._error is None and self.capture.error is not None:
            e = self.capture.error
            self._error = SourceLost(str(e)) if isinstance(e, SourceError) else StageError("capture", e)
        return self._error

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    def _stage_boxes(self) -> list[Mailbox]:
        return [self._poses] if self._cues is None else [self._cues, self._cue_results, self._poses]

    @property
    def dropped(self) -> int:
        return self._frames.dropped + sum(b.dropped for b in self._stage_boxes())

    def stats_dict(self) -> dict[str, Any]:
        d = self.stats.to_dict(dropped=self.dropped)
        d["sinks"] = {s.name: {"frames": getattr(s, "frames", None), "dropped": b.dropped}
                      for s, b in zip(self.sinks, self._sink_boxes)}
        d["reconnects"] = self.capture.reconnects
        d["realtime"] = self.options.realtime
        if self.coach is not None:
            d["coach"] = self.coach.summary()
        return d

    # -- stages ----------------------------------------------------------------------------------
    def _set_error(self, err: PipelineError) -> None:
        with self._error_lock:
            if self._error is None:
                self._error = err
                log.error("%s", err)
        self._stop.set()

    def _guard(self, stage: str, fn: Callable, *args) -> None:
        try:
            fn(*args)
        except StageError as e:
            self._set_error(e)
        except MailboxClosed:
            pass
        except Exception as e:  # noqa: BLE001 - any stage failure stops the run, named
            self._set_error(StageError(stage, e))

    def _timed(self, stage: str, fn: Callable, *args, **kw):
        t0 = time.perf_counter()
        try:
            out = fn(*args, **kw)
        except Exception as e:
            raise StageError(stage, e) from e
        self.stats.add_stage(stage, time.perf_counter() - t0)
        return out

    def _on_frame(self, frame: Frame) -> None:
        self.stats.frames_in += 1
        self.stats.fps_in.tick(frame.captured_s)

    def _get(self, box: Mailbox):
        """Next item of a mailbox, checking for stop every 100 ms; raises MailboxClosed at the end."""
        while not self._stop.is_set():
            item = box.get(timeout=0.1)
            if item is not None:
                return item
        raise MailboxClosed(box.name)

    def _put(self, box: Mailbox, item: Any) -> None:
        if self.options.realtime:
            box.put(item)
            return
        while not box.put(item, block=True, timeout=0.1):
            if box.closed or self._stop.is_set():
                raise MailboxClosed(box.name)

    def _pose_loop(self) -> None:
        estimator = self._timed("estimator_init", self.estimator_factory)
        smoother = PoseSmoother(self.options.smoothing) if self.options.smoothing else None
        stride = PoseStride(self.options.pose_every if self.options.realtime else 1)
        last_target: Pose | None = None
        last_seen = -1e9
        last_pose: Pose | None = None
        try:
            while True:
                frame = self._get(self._frames)
                mirror = self.controls.mirror
                due = stride.due()
                if self._cues is not None:   # Face Mesh and Hands start on this frame beside the pose
                    seen = last_pose is not None and frame.media_s - last_seen <= self.options.hold_s
                    self._cues.put(_CueJob(frame, last_pose if seen else None, mirror,
                                           due if stride.every > 1 else None))
                pose = self._driver_pose(estimator, stride, frame, due)
                self.stats.frames_processed += 1
                status = ""
                if pose is not None:
                    if smoother is not None:
                        pose = self._timed("smooth", smoother, pose)
                    driver = pose.flipped() if mirror else pose
                    target = self._timed("retarget", self.retarget, driver)
                    last_target, last_pose, last_seen = target, pose, frame.media_s
                else:
                    self.stats.no_person += 1
                    driver = None
                    if last_target is not None and frame.media_s - last_seen <= self.options.hold_s:
                        target, status = last_target, "no person: holding last pose"
                    else:
                        target, status = self.rest_pose, "no person: reference at rest"
                        last_target = None
                        if smoother is not None:
                            smoother.reset()
                sim, advice = None, ()
                if self.coach is not None:
                    reading = self._timed("match", self.coach.update, driver, frame.media_s)
                    sim, advice = reading.similarity, reading.advice
                expr = hands = None
                if self._cues is not None:
                    expr, hands = self._get(self._cue_results)
                    if pose is None:         # nobody in view now: no face or hands to show
                        expr = hands = None
                self._put(self._poses, _PoseItem(frame, target, status, sim, advice, expr, hands))
        finally:
            self._poses.close()
            if self._cues is not None:
                self._cues.close()
            estimator.close()
            if self._cues is None:
                self._close_trackers()

    def _driver_pose(self, estimator: Any, stride: PoseStride, frame: Frame, due: bool) -> Pose | None:
        """The frame's driver pose: estimated when the stride says it is due, else predicted."""
        if due:
            pose = self._timed("estimate", estimator.estimate, frame.image, frame.media_s)
            stride.seen(pose)
            return pose
        return self._timed("predict", stride.predict, frame.media_s)

    def _cue_loop(self) -> None:
        """Face Mesh and Hands on each frame the pose thread hands over; one result per job."""
        try:
            while True:
                job = self._get(self._cues)
                expr = hands = None
                if job.crop_pose is not None:
                    f, pose = job.frame, job.crop_pose
                    if self.face is not None:
                        expr = self._timed("face", self.face, f.image, pose, f.media_s, job.mirror)
                    if self.hands is not None:
                        kw = {} if job.hands_due is None else {"due": job.hands_due}
                        hands = self._timed("hands", self.hands, f.image, pose, f.media_s, job.mirror, **kw)
                self._cue_results.put((expr, hands))
        finally:
            self._cue_results.close()
            self._close_trackers()

    def _close_trackers(self) -> None:
        for extra in (self.face, self.hands):
            if extra is not None:
                extra.close()

    def _render_loop(self) -> None:
        try:
            while True:
                item = self._get(self._poses)
                kw = {k: v for k, v in (("expression", item.expression), ("hands", item.hands)) if v}
                img = self._timed("render", self.renderer.render, item.target, **kw)
                if img.ndim == 3 and img.shape[2] == 4:
                    img = np.ascontiguousarray(img[:, :, :3])
                h, w = img.shape[:2]
                if (h, w) != (self.height, self.width) and 0 <= h - self.height <= 1 and 0 <= w - self.width <= 1:
                    img = img[: self.height, : self.width].copy()       # odd reference size: drop the last row/column
                elif (h, w) != (self.height, self.width):
                    img = self._timed("fit", letterbox, img, self.width, self.height)
                elif self.controls.overlay:
                    img = img.copy()  # sinks keep frames; never draw on a buffer the renderer may reuse
                if self.controls.overlay:
                    img = self._timed("overlay", draw_hud, img, self._hud(item))
                now = time.perf_counter()
                self.stats.latency.add(now - item.frame.captured_s)
                self.stats.frames_out += 1
                self.stats.fps_out.tick(now)
                out = _OutItem(img, item.frame.captured_s)
                for box in self._sink_boxes:
                    self._put(box, out)
        finally:
            for box in self._sink_boxes:
                box.close()

    def _hud(self, item: _PoseItem) -> HudInfo:
        s = self.stats
        reps = self.coach.live_reps() if (self.coach is not None and self.coach.show_reps) else None
        return HudInfo(fps_in=s.fps_in.rate(), fps_out=s.fps_out.rate(),
                       stage_ms={k: v for k, v in s.stage_ms().items() if k != "estimator_init"},
                       latency_ms=s.latency.last_ms(), similarity=item.similarity, advice=list(item.advice),
                       status=item.status, reps=reps)

    def _sink_loop(self, sink: Sink, box: Mailbox[_OutItem]) -> None:
        stage = f"sink:{sink.name}"
        # live runs: sinks that keep time (mp4) place each frame at its capture time, so a recording
        # plays at real speed even when frames were dropped
        send_at = getattr(sink, "send_at", None) if self.options.realtime else None
        while True:
            item = self._get(box)
            if send_at is not None:
                self._timed(stage, send_at, item.image, item.captured_s)
            else:
                self._timed(stage, sink.send, item.image)
            self.stats.add_sink_latency(sink.name, time.perf_counter() - item.captured_s)
