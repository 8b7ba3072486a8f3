"""The MediaPipe estimator against real footage and saved reference landmarks."""
import json

import cv2
import numpy as np
import pytest

from realtime.estimator import EstimatorOptions, MediaPipeEstimator
from realtime.layouts import MEDIAPIPE33
from realtime.media import VideoReader

REFERENCE_TOLERANCE_PX = 31.0  # the tfjs-models tests' own tolerance for these landmarks


def test_squats_match_reference_landmarks(media_dir, record_property):
    """Video mode on pose_squats.mp4 vs the BlazePose-full landmarks saved by tfjs-models."""
    ref = np.asarray(json.loads((media_dir / "pose_squats.full.json").read_text()), np.float32)
    errors, found = [], 0
    with VideoReader(media_dir / "pose_squats.mp4") as video, \
            MediaPipeEstimator(EstimatorOptions(mode="video")) as est:
        for i, t, frame in video:
            pose = est.estimate(frame, t)
            if pose is None:
                continue
            found += 1
            h, w = frame.shape[:2]
            inside = (ref[i, :, 0] >= 0) & (ref[i, :, 0] < w) & (ref[i, :, 1] >= 0) & (ref[i, :, 1] < h)
            visible = pose.present() & inside
            errors.append(np.linalg.norm(pose.xy[visible] - ref[i, visible, :2], axis=1))
    assert found == len(ref) == 65
    err = np.concatenate(errors)
    median = float(np.median(err))
    record_property("median_error_px", median)
    print(f"pose_squats: median landmark error {median:.2f} px over {err.size} visible landmarks "
          f"(p90 {np.percentile(err, 90):.1f} px; reference tolerance {REFERENCE_TOLERANCE_PX} px)")
    assert median < REFERENCE_TOLERANCE_PX / 3


def test_still_image_pose_and_mask(pose_jpg_estimate, media_dir):
    image, found = pose_jpg_estimate
    pose = found.pose
    assert pose is not None and pose.layout is MEDIAPIPE33
    assert (pose.width, pose.height) == (1000, 667)
    assert pose.present().sum() >= 30
    # warrior pose: arms stretched out wide, wrists far apart, at shoulder height
    lw, rw = pose["left_wrist"], pose["right_wrist"]
    assert abs(lw[0] - rw[0]) > 350 and abs(lw[1] - rw[1]) < 60
    # every keypoint of the body lies on the person's mask from tfjs-models
    # the reference mask is drawn person = blue, background = red
    ref = cv2.imread(str(media_dir / "pose_segmentation.png"), cv2.IMREAD_COLOR)[..., 0] > 127
    body = pose.xy[11:29].round().astype(int)
    assert ref[body[:, 1], body[:, 0]].mean() > 0.8
    mask = found.mask > 0.5
    iou = (mask & ref).sum() / (mask | ref).sum()
    assert iou > 0.7, f"segmentation IoU with the reference mask {iou:.2f}"


def test_nobody_gives_no_pose():
    blank = np.full((480, 640, 3), 90, np.uint8)
    with MediaPipeEstimator(EstimatorOptions(mode="image", segmentation=True)) as est:
        found = est.detect(blank)
    assert found.pose is None and found.mask is not None and found.mask.shape == (480, 640)


def test_rejects_wrong_image_type():
    with MediaPipeEstimator() as est, pytest.raises(ValueError, match="BGR uint8"):
        est.estimate(np.zeros((10, 10), np.float32))
