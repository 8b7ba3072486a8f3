"""repose realtime: keypoint layouts, poses, estimation, matching, the live pipeline and the CLI.

Importing this package needs none of the optional extras (torch, onnx, tensorrt, pycuda).
"""
from realtime.layouts import COCO17, LAYOUTS, MEDIAPIPE33, OPENPOSE18, KeypointLayout, get_layout
from realtime.pose import MIN_SCORE, Pose

__version__ = "0.1.0"
__all__ = ["COCO17", "LAYOUTS", "MEDIAPIPE33", "OPENPOSE18", "KeypointLayout", "MIN_SCORE", "Pose",
           "get_layout"]
