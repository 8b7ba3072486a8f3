#!/usr/bin/env python3
"""Picture of where the warp renderer falls short, on the project's drawn figure (no footage).

Writes scripts/figures/warp_limits.png: rest pose | arms overhead | deep squat | turned sideways,
each rendered by the warp renderer from the single front-facing reference.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> int:
    import numpy as np

    from realtime.app.demo.figure import draw_figure
    from realtime.app.demo.motions import Frame, apply_frame
    from engines.renderer import create_renderer
    from realtime.drawing import put_label, side_by_side
    from realtime.fileio import write_image
    from realtime.layouts import COCO17

    fig = draw_figure()
    r = create_renderer("warp")
    r.prepare(fig.image, fig.pose, fig.mask)
    rest = r.rest_pose
    overhead = apply_frame(rest, Frame(left_arm=175, right_arm=175, left_forearm=178, right_forearm=178))
    squat = apply_frame(rest, Frame(left_arm=90, right_arm=90, left_forearm=90, right_forearm=90, squat=0.8))
    # turned 70 degrees: widths across the body shrink to cos(70) ~ 0.34, the face slides sideways
    p = rest.to_layout(COCO17)
    xy = p.xy.copy()
    cx = float(xy[:, 0].mean())
    xy[:, 0] = cx + (xy[:, 0] - cx) * 0.34
    for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear"):
        xy[COCO17.index[n], 0] += 25
    turned = replace(p, xy=xy)
    panels = []
    for title, pose in (("reference", rest), ("arms overhead", overhead), ("deep squat", squat),
                        ("turned sideways", turned)):
        img = np.ascontiguousarray(r.render(pose))
        put_label(img, title)
        panels.append(img)
    out = HERE / "figures" / "warp_limits.png"
    write_image(out, np.ascontiguousarray(side_by_side(*panels, height=400)))
    print(f"wrote {out}")

    # elbows and knees bent: rigid layers (default) vs skinned joints
    bent = apply_frame(rest, Frame(left_arm=60, left_forearm=170, right_arm=50, right_forearm=150,
                                   left_leg=25, squat=0.5))
    crops = []
    for blend in ("rigid", "skin"):
        rb = create_renderer("warp", blend=blend, background="white")
        rb.prepare(fig.image, fig.pose, fig.mask)
        img = np.ascontiguousarray(rb.render(bent)[100:640, 20:460])
        put_label(img, f"blend={blend}")
        crops.append(img)
    out2 = HERE / "figures" / "warp_blend.png"
    write_image(out2, np.ascontiguousarray(side_by_side(*crops, height=360)))
    print(f"wrote {out2}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
