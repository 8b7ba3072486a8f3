"""repose calibration: adapting the driver's body to the avatar's.

retarget (single poses), neutral (steady neutral-pose capture, jitter), profile (versioned JSON,
thresholds from jitter), retargeter (per-run retargeting with auto-calibration), live (the hook
`repose live` uses). Nothing here imports MediaPipe or torch.
"""
