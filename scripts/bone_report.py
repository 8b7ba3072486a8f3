#!/usr/bin/env python3
"""Bone-direction error broken down per bone and per frame, on the path `repose evaluate` takes.

For each run (``--self CLIP``: self-reenactment, the clip's first frame is the reference; ``--cross
IMAGE:CLIP``: the photo driven by the clip), the renderer is driven exactly as `repose evaluate`
does (retargeting on unless ``--no-retarget``, the face and hands where the reference shows them,
outputs re-read in the driver's mode) and every (frame, bone) angle between the target and the
re-estimated output is kept; with --self the real frames' angles too (the estimator's floor).
Prints, per run, the mean error of each COCO-17 bone (output and floor, and its share of the total),
the head's share, the face bones' placement against their reading (``placement_line``: where the
renderer drew the reference's face points, carried through the head's mesh, against the target; and
where the estimator re-reads them), and the worst frames; writes ``<out>/<run>_head.png``, a contact sheet of the
worst frames by head-bone error: real frame (or the target drawn) | output, cropped to the head and
shoulders, target face points in green, those found on the output in red.
--neutral picks the retargeting's neutral as `repose evaluate --self --neutral` does.
--akd: AKD (px at a 256-px height, engines.evaluation) per COCO-17 keypoint: its mean, its part of
AKD@256 (the parts sum to evaluate's figure), its share, the floor (the real frames re-read against
the same targets, with --self), the share of the target's keypoints outside the frame; the worst
frames by AKD; writes ``<out>/<run>_akd.jpg``: the worst frames, real | output, each padded so that
keypoints outside it show (up to half its height), target keypoints green, re-read ones red (the
real frame's on the left, the output's on the right), a yellow line between each pair.
--max-frames 0: the whole clip. Bad input: exit 2, one line on stderr.

    PYTHONPATH=$PWD python scripts/bone_report.py --self pose_squats.mp4 --max-frames 60
    PYTHONPATH=$PWD python scripts/bone_report.py --self webcam_talking.mp4 --neutral reference --akd --max-frames 0
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

HEAD_BONES = (("left_eye", "right_eye"), ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
              ("right_eye", "right_ear"), ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder"))
FACE = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder")


def per_bone(target, found, min_score: float = 0.5):
    """(19,) angle of every COCO-17 bone (degrees), NaN where either pose lacks an end."""
    import numpy as np

    from realtime.layouts import COCO17

    pairs = COCO17.bone_indices
    out = np.full(len(pairs), np.nan)
    if found is None:
        return out
    t, f = target.to_layout(COCO17), found.to_layout(COCO17)
    ok = t.present(min_score) & f.present(min_score)
    for k, (a, b) in enumerate(pairs):
        if ok[a] and ok[b]:
            vt, vf = (t.xy[b] - t.xy[a]).astype(np.float64), (f.xy[b] - f.xy[a]).astype(np.float64)
            nt, nf = np.linalg.norm(vt), np.linalg.norm(vf)
            if nt > 1e-6 and nf > 1e-6:
                out[k] = np.degrees(np.arccos(np.clip(vt @ vf / (nt * nf), -1.0, 1.0)))
    return out


FACE_BONES = (("left_eye", "right_eye"), ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
              ("right_eye", "right_ear"))


def carried(points, src, dst):
    """(N, 2) where the piecewise-affine map of a triangle mesh (Delaunay of its ``src`` vertices,
    as engines.warp.face.FaceRig triangulates them, each vertex moved to ``dst``) takes ``points``
    (barycentric in their source triangle); NaN for points outside the mesh."""
    import numpy as np
    from scipy.spatial import Delaunay

    pts = np.asarray(points, np.float64).reshape(-1, 2)
    mesh = Delaunay(np.asarray(src, np.float64))
    k = mesh.find_simplex(pts)
    out = np.full(pts.shape, np.nan)
    ok = k >= 0
    tr = mesh.transform[k[ok]]
    b = np.einsum("nij,nj->ni", tr[:, :2], pts[ok] - tr[:, 2])
    bary = np.column_stack([b, 1.0 - b.sum(axis=1)])
    out[ok] = np.einsum("nk,nkd->nd", bary, np.asarray(dst, np.float64)[mesh.simplices[k[ok]]])
    return out


def face_bone_angles(a, b):
    """(5,) angle (degrees) between the FACE_BONES of two (5, 2) sets of face points in FACE_POINTS
    order (nose, left_eye, right_eye, left_ear, right_ear); NaN where either lacks one."""
    import numpy as np

    from engines.warp.parts import FACE_POINTS

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    out = np.full(len(FACE_BONES), np.nan)
    for k, (p, q) in enumerate(FACE_BONES):
        i, j = FACE_POINTS.index(p), FACE_POINTS.index(q)
        va, vb = a[j] - a[i], b[j] - b[i]
        na, nb = np.linalg.norm(va), np.linalg.norm(vb)
        if np.isfinite(na) and np.isfinite(nb) and na > 1e-6 and nb > 1e-6:
            out[k] = np.degrees(np.arccos(np.clip(va @ vb / (na * nb), -1.0, 1.0)))
    return out


def placement_line(rows: list[dict]) -> str:
    """One line: the face bones' mean angle between the target and where the renderer drew the
    reference's face points (placement), and between the target and the points re-read on the output
    (what bone_deg counts): a reading far worse than the placement is the estimator reading the
    drawn head otherwise (its outline, its look), not the renderer missing the target."""
    import numpy as np

    from engines.warp.parts import FACE_POINTS
    from realtime.layouts import COCO17

    ix = [COCO17.index[n] for n in FACE_POINTS]
    drawn, read = [], []
    for r in rows:
        target, found = r["poses"][0], r["poses"][1]
        if r.get("drawn") is None or target is None or found is None:
            continue
        ok_t, ok_f = target[1][ix] >= 0.5, found[1][ix] >= 0.5
        t = np.where(ok_t[:, None], target[0][ix], np.nan)
        drawn.append(face_bone_angles(r["drawn"], t))
        read.append(face_bone_angles(np.where(ok_f[:, None], found[0][ix], np.nan), t))
    if not drawn:
        return "face bones: no placement recorded"
    import warnings

    with warnings.catch_warnings():   # a bone neither pose ever shows: NaN, said so in the line
        warnings.simplefilter("ignore", RuntimeWarning)
        d, f = np.nanmean(drawn, axis=0), np.nanmean(read, axis=0)
    per = ", ".join(f"{p}-{q} {a:.1f}/{b:.1f}" for (p, q), a, b in zip(FACE_BONES, d, f))
    return (f"face bones drawn vs target (placement) {np.nanmean(drawn):.2f}, re-read vs target "
            f"{np.nanmean(read):.2f} (per bone, drawn/re-read: {per})")


class Recorder:
    """Wraps engines.reenact's bone_angles_deg and evaluate_sequence: keeps (target, found) of every
    output (and real frame) re-read, and a small head crop of every frame."""

    def __init__(self, worst: int = 0) -> None:
        self.calls: list = []
        self.rows: list[dict] = []
        self.worst = worst          # how many of the worst frames by AKD to keep the images of
        self.sheet: list = []       # [(frame AKD, i, output, real, target, found, floor)], worst first
        self.mesh = None            # (src, dst) of the head's mesh warp in the frame being rendered

    def install(self):
        import engines.reenact as er

        orig_angles, orig_eval = er.bone_angles_deg, er.evaluate_sequence

        def angles(target, found, *a, **kw):
            self.calls.append((target, found))
            return orig_angles(target, found, *a, **kw)

        def evaluate(renderer, items, *a, keep=None, **kw):
            self.renderer = renderer
            return orig_eval(renderer, items, *a, keep=self.keep, **kw)

        er.bone_angles_deg, er.evaluate_sequence = angles, evaluate
        import engines.warp.face as face_mod

        orig_mesh = face_mod.warp_with_mesh

        def mesh(patch, origin, rigid, src, dst, *a, **kw):
            self.mesh = (src, dst)   # the head's mesh this frame: reference px -> output px
            return orig_mesh(patch, origin, rigid, src, dst, *a, **kw)

        face_mod.warp_with_mesh = mesh
        return lambda: (setattr(er, "bone_angles_deg", orig_angles), setattr(er, "evaluate_sequence", orig_eval),
                        setattr(face_mod, "warp_with_mesh", orig_mesh))

    def keep(self, i, out, target, real, res) -> None:
        calls, self.calls = self.calls, []
        (t, found), floor = calls[0], (calls[1][1] if len(calls) > 1 else None)
        self.rows.append({"i": i, "out": per_bone(t, found), "floor": per_bone(t, floor) if floor is not None else None,
                          "crop": _head_crop(out, real, t, found), "poses": [_coco(p) for p in (t, found, floor)],
                          "pred": self._predicted(t), "drawn": self._drawn(t),
                          **_keypoint_row(t, found, floor, out, real),
                          "frame_akd": res.keypoints.per_frame_akd_norm[-1]})
        self._keep_worst(self.rows[-1]["frame_akd"], i, out, real, (t, found, floor))

    def _keep_worst(self, akd: float, i: int, out, real, poses) -> None:
        """The images of the ``worst`` frames by AKD so far (only those: a whole clip stays small)."""
        import numpy as np

        if self.worst and np.isfinite(akd) and (len(self.sheet) < self.worst or akd > self.sheet[-1][0]):
            self.sheet.append((akd, i, out.copy(), None if real is None else real.copy(), *poses))
            self.sheet = sorted(self.sheet, key=lambda e: -e[0])[:self.worst]

    def _drawn(self, target):
        """(5, 2) output px where the renderer drew the reference's face points (FACE_POINTS) in this
        frame: carried through the head's mesh (``carried``) where one was warped, else by the head's
        2x3 transform; None for a renderer without them. Clears the recorded mesh."""
        import numpy as np

        from engines.warp.parts import FACE_POINTS, apply
        from realtime.layouts import COCO17

        got, self.mesh = self.mesh, None
        r = getattr(self, "renderer", None)
        if r is None or not hasattr(r, "_ref_xy"):
            return None
        ref = r._ref_xy[[COCO17.index[n] for n in FACE_POINTS]].astype(np.float64)
        if got is not None:
            return carried(ref, *got)
        t = target.to_layout(COCO17)
        return apply(r._mats(t, t.present(0.5))["head"], ref)

    def _predicted(self, target):
        """The reference's face points moved by the head's transform for this target (px), or None."""
        from engines.warp.parts import apply, part_transforms
        from realtime.layouts import COCO17

        r = getattr(self, "renderer", None)
        if r is None or not hasattr(r, "_ref_xy"):
            return None
        t = target.to_layout(COCO17)
        mats = part_transforms(r._ref_xy, r._ref_ok, t.xy.astype(float), t.present(0.5), COCO17.index)
        return apply(mats["head"], r._ref_xy)


def _keypoint_row(target, found, floor, out, real) -> dict:
    """Per COCO-17 keypoint of one frame: distance @256 to the output's (``akd``) and the real frame's
    (``akd_floor``, None without a real frame) re-read keypoints (engines.evaluation, NaN where not
    matched), whether the target has it (``present``) and has it outside the frame (``outside``)."""
    import numpy as np

    from engines.evaluation import AKD_REFERENCE_HEIGHT, keypoint_distances_px
    from realtime.layouts import COCO17
    from realtime.pose import MIN_SCORE

    t = target.to_layout(COCO17)
    present = t.present(MIN_SCORE)
    h, w = out.shape[:2]
    x, y = t.xy[:, 0], t.xy[:, 1]
    row = {"akd": keypoint_distances_px(target, found) * (AKD_REFERENCE_HEIGHT / h), "present": present,
           "outside": present & ((x < 0) | (x >= w) | (y < 0) | (y >= h)), "akd_floor": None}
    if real is not None:
        row["akd_floor"] = keypoint_distances_px(target, floor) * (AKD_REFERENCE_HEIGHT / real.shape[0])
    return row


def _coco(pose):
    """(xy (17, 2), score (17,)) of a pose in COCO-17, or None."""
    from realtime.layouts import COCO17

    if pose is None:
        return None
    c = pose.to_layout(COCO17)
    return c.xy.copy(), c.score.copy()


def _head_crop(out, real, target, found, size: int = 200):
    """real | output around the target's head and shoulders, face points drawn (BGR)."""
    import cv2
    import numpy as np

    from realtime.layouts import COCO17

    t = target.to_layout(COCO17)
    ix = [COCO17.index[n] for n in FACE]
    ok = t.present(0.5)[ix]
    pts = t.xy[ix][ok]
    if len(pts) < 2:
        return None
    c = pts.mean(0)
    r = max(float(np.ptp(pts, axis=0).max()) * 0.7, 20.0)
    x0, y0 = int(max(c[0] - r, 0)), int(max(c[1] - r, 0))
    x1, y1 = int(min(c[0] + r, out.shape[1])), int(min(c[1] + r, out.shape[0]))
    tiles = []
    for img, draw in ((real, False), (out, True)):
        if img is None:
            img = np.zeros_like(out)
        tile = np.ascontiguousarray(img[y0:y1, x0:x1])
        s = size / max(tile.shape[:2])
        tile = cv2.resize(tile, (max(int(tile.shape[1] * s), 1), max(int(tile.shape[0] * s), 1)))
        for pose, col in ((t, (0, 255, 0)), (found.to_layout(COCO17) if (draw and found is not None) else None,
                                              (0, 0, 255))):
            if pose is None:
                continue
            okp = pose.present(0.5)
            for a, b in COCO17.bone_indices:
                if okp[a] and okp[b] and COCO17.names[a] in FACE and COCO17.names[b] in FACE:
                    p = ((pose.xy[[a, b]] - (x0, y0)) * s).astype(int)
                    cv2.line(tile, tuple(p[0]), tuple(p[1]), col, 1, cv2.LINE_AA)
        tiles.append(np.pad(tile, ((0, size - tile.shape[0]), (0, size - tile.shape[1]), (0, 0))))
    return np.hstack(tiles)


def evaluate_args(spec: str, args):
    """evaluate's parsed arguments for one run, checked as `repose evaluate` checks them (InputError)."""
    from realtime.app import flags
    from realtime.app.cli import subparser, build_parser
    from realtime.app.commands import evaluate_cmd

    media = Path(args.media)
    argv = ["evaluate"] + (["--max-frames", str(args.max_frames)] if args.max_frames else [])
    if ":" in spec:
        photo, clip = spec.split(":", 1)
        argv += ["--reference", str(media / photo), "--driver", str(media / clip)]
    else:
        argv += ["--self", "--driver", str(media / spec)]
    if args.no_retarget:
        argv.append("--no-retarget")
    if args.neutral:
        argv += ["--neutral", args.neutral]
    parser = build_parser()
    ns = parser.parse_args(argv + [a for o in args.option for a in ("--" + o,)])
    flags.check_ranges("evaluate", ns, subparser(parser, "evaluate"))
    evaluate_cmd.check_args(ns)
    return ns


def run(spec: str, args) -> dict:
    """Drive one run the way `repose evaluate` does; the recorded rows, its summary and, with --akd,
    the images of its worst frames by AKD."""
    from realtime.app.commands import evaluate_cmd

    ns = evaluate_args(spec, args)
    rec = Recorder(worst=args.worst if args.akd else 0)
    undo = rec.install()
    try:
        renderer = evaluate_cmd.build_renderer(ns)
        res = evaluate_cmd.drive_clip(ns, renderer)
        renderer.close()
    finally:
        undo()
    return {"rows": rec.rows, "summary": res.summary(), "sheet": rec.sheet}


def report(name: str, got: dict, out_dir: Path, worst: int = 8) -> str:
    import cv2
    import numpy as np

    from realtime.layouts import COCO17

    names = [f"{a}-{b}" for a, b in COCO17.bones]
    head = np.array([(a, b) in HEAD_BONES or (b, a) in HEAD_BONES for a, b in COCO17.bones])
    out = np.array([r["out"] for r in got["rows"]])
    floor = np.array([r["floor"] for r in got["rows"] if r["floor"] is not None])
    s = got["summary"]
    total = np.nansum(out)
    lines = [f"## {name}: bone {s['bone_deg']:.2f} (floor {s.get('floor_bone_deg', float('nan')):.2f}), "
             f"AKD@256 {s['akd_256']:.2f} (floor {s.get('floor_akd_256', float('nan')):.2f}), "
             f"L1 {s.get('l1', float('nan')):.4f}, frames {len(out)}",
             f"head share of the summed error: {np.nansum(out[:, head]) / total:.2f}; "
             f"mean without the head bones: {np.nanmean(out[:, ~head]):.2f}, head bones only: "
             f"{np.nanmean(out[:, head]):.2f}",
             "| bone | mean | floor | count | share |", "|---|---|---|---|---|"]
    for k in np.argsort(-np.nansum(out, axis=0)):
        n = int(np.isfinite(out[:, k]).sum())
        if n == 0:
            continue
        fl = np.nanmean(floor[:, k]) if floor.size and np.isfinite(floor[:, k]).any() else float("nan")
        lines.append(f"| {names[k]} | {np.nanmean(out[:, k]):.2f} | {fl:.2f} | {n} | "
                     f"{np.nansum(out[:, k]) / total:.2f} |")
    head_err = np.nanmean(np.where(head, out, np.nan), axis=1)
    order = np.argsort(-np.nan_to_num(head_err, nan=-1))[:worst]
    lines.append(placement_line(got["rows"]))
    lines.append("worst head frames: " + ", ".join(f"{got['rows'][j]['i'] + 1}: {head_err[j]:.1f}" for j in order))
    crops = [got["rows"][j]["crop"] for j in order if got["rows"][j]["crop"] is not None]
    if crops:
        for j, c in zip(order, crops):
            cv2.putText(c, f"{got['rows'][j]['i'] + 1}: {head_err[j]:.1f}", (4, 14), cv2.FONT_HERSHEY_SIMPLEX,
                        0.45, (255, 255, 255), 1, cv2.LINE_AA)
        if len(crops) % 2:
            crops.append(np.zeros_like(crops[0]))
        sheet = np.vstack([np.hstack(crops[i:i + 2]) for i in range(0, len(crops), 2)])
        cv2.imwrite(str(out_dir / f"{name}_head.png"), sheet)
    return "\n".join(lines)


def akd_table(rows: list[dict]) -> dict:
    """Per COCO-17 keypoint over the recorded frames: ``mean`` AKD@256, ``floor`` (the real frames'),
    ``matched`` count, ``part`` (its sum over all matched keypoints: the parts sum to AKD@256),
    ``share`` of the summed distance, ``outside`` (share of the target's keypoints outside the frame);
    and ``akd`` (the parts' sum), ``akd_inside`` (AKD@256 over keypoints inside the frame), the
    ``outside`` share of all target keypoints and the share of the distance they carry."""
    import numpy as np

    d = np.array([r["akd"] for r in rows], np.float64).reshape(len(rows), -1)
    fl = np.array([r["akd_floor"] for r in rows if r["akd_floor"] is not None], np.float64).reshape(-1, d.shape[1])
    present = np.array([r["present"] for r in rows], bool).reshape(d.shape)
    outside = np.array([r["outside"] for r in rows], bool).reshape(d.shape)
    matched = np.isfinite(d)
    total, n = float(np.nansum(d)), int(matched.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"mean": np.nansum(d, 0) / matched.sum(0),
                "floor": np.nansum(fl, 0) / np.isfinite(fl).sum(0) if len(fl) else np.full(d.shape[1], np.nan),
                "matched": matched.sum(0), "part": np.nansum(d, 0) / n, "share": np.nansum(d, 0) / total,
                "target": present.sum(0), "outside": outside.sum(0) / present.sum(0),
                "akd": total / n if n else float("nan"),
                "akd_inside": float(np.nansum(d[~outside]) / np.float64((matched & ~outside).sum())),
                "outside_all": float(outside.sum() / np.float64(present.sum())),
                "outside_carry": float(np.nansum(d[outside]) / np.float64(total))}


def akd_report(name: str, got: dict, out_dir: Path) -> str:
    """The per-keypoint AKD table of one run, its worst frames, and ``<out>/<name>_akd.jpg``."""
    import numpy as np

    from realtime.layouts import COCO17

    tab, s = akd_table(got["rows"]), got["summary"]
    lines = [f"## {name}: AKD@256 {s['akd_256']:.3f} (sum of the keypoints' parts {tab['akd']:.3f}; floor "
             f"{s.get('floor_akd_256', float('nan')):.3f}), frames {len(got['rows'])}",
             f"target keypoints outside the frame: {tab['outside_all']:.1%} of those present, carrying "
             f"{tab['outside_carry']:.1%} of the summed distance; AKD@256 over keypoints inside the frame: "
             f"{tab['akd_inside']:.3f}",
             "| keypoint | mean AKD | floor | in target | matched | part of AKD | share | outside frame |",
             "|---|---|---|---|---|---|---|---|"]
    for k in np.argsort(-np.nan_to_num(tab["share"], nan=-1)):
        if tab["target"][k]:   # keypoints the targets never hold are left out
            lines.append(f"| {COCO17.names[k]} | {tab['mean'][k]:.2f} | {tab['floor'][k]:.2f} | {tab['target'][k]} | "
                         f"{tab['matched'][k]} | {tab['part'][k]:.3f} | {tab['share'][k]:.3f} | "
                         f"{tab['outside'][k]:.1%} |")
    lines.append("worst frames by AKD (frame: AKD@256, floor; its top keypoints): " + "; ".join(
        _worst_line(got["rows"], j) for j in np.argsort(-np.nan_to_num([r["frame_akd"] for r in got["rows"]],
                                                                           nan=-1))[:8]))
    if got.get("sheet"):
        _write_akd_sheet(got["sheet"], out_dir / f"{name}_akd.jpg")
    return "\n".join(lines)


def _worst_line(rows: list[dict], j: int) -> str:
    import numpy as np

    from realtime.layouts import COCO17

    r = rows[j]
    floor = np.nanmean(r["akd_floor"]) if r["akd_floor"] is not None and np.isfinite(r["akd_floor"]).any() else np.nan
    top = np.argsort(-np.nan_to_num(r["akd"], nan=-1))[:3]
    names = ", ".join(f"{COCO17.names[k]} {r['akd'][k]:.0f}{'*' if r['outside'][k] else ''}"
                      for k in top if np.isfinite(r["akd"][k]))
    return f"{r['i'] + 1}: {r['frame_akd']:.1f}, {floor:.1f} ({names})"


def _margin(sheet: list) -> int:
    """Padding (px) around the frames of a sheet that shows every kept keypoint outside them: from a
    tenth to half of the frame's height."""
    import numpy as np

    from realtime.layouts import COCO17
    from realtime.pose import MIN_SCORE

    h, w = sheet[0][2].shape[:2]
    over = 0.0
    for pose in (p for e in sheet for p in e[4:] if p is not None):
        c = pose.to_layout(COCO17)
        xy = c.xy[c.score >= MIN_SCORE]
        if len(xy):
            over = max(over, float(-xy.min()), float((xy - (w, h)).max()))
    return int(np.clip(over + 12, h // 10, h // 2))


def _akd_tile(img, target, found, label: str, m: int, height: int = 360):
    """One frame (BGR) padded by ``m`` px on every side (dark grey; the frame outlined), the target's
    keypoints green (larger), ``found``'s red on top, a yellow line between each pair; scaled to
    ``height``."""
    import cv2
    import numpy as np

    from realtime.layouts import COCO17
    from realtime.pose import MIN_SCORE

    h, w = img.shape[:2]
    tile = cv2.copyMakeBorder(img, m, m, m, m, cv2.BORDER_CONSTANT, value=(48, 48, 48))
    cv2.rectangle(tile, (m - 1, m - 1), (m + w, m + h), (160, 160, 160), 1)
    s = height / tile.shape[0]
    tile = np.ascontiguousarray(cv2.resize(tile, (int(tile.shape[1] * s), height), interpolation=cv2.INTER_AREA))
    t = target.to_layout(COCO17)
    f = found.to_layout(COCO17) if found is not None else None
    pt = lambda xy: tuple(int(v) for v in np.round((np.asarray(xy) + m) * s))  # noqa: E731
    for k in range(len(COCO17.names)):
        if t.score[k] < MIN_SCORE:
            continue
        cv2.circle(tile, pt(t.xy[k]), 4, (0, 255, 0), -1, cv2.LINE_AA)
        if f is not None and f.score[k] >= MIN_SCORE:
            cv2.line(tile, pt(t.xy[k]), pt(f.xy[k]), (0, 255, 255), 1, cv2.LINE_AA)
            cv2.circle(tile, pt(f.xy[k]), 2, (0, 0, 255), -1, cv2.LINE_AA)
    cv2.putText(tile, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def _write_akd_sheet(sheet: list, path: Path) -> None:
    """Real | output of each kept frame (Recorder.sheet), two frames a row, as a JPEG."""
    import cv2
    import numpy as np

    pairs, m = [], _margin(sheet)
    for akd, i, out, real, target, found, floor in sheet:
        right = _akd_tile(out, target, found, f"{i + 1} output: AKD {akd:.1f}", m)
        left = (_akd_tile(real, target, floor, f"{i + 1} real (floor)", m) if real is not None
                else np.zeros_like(right))
        pairs.append(np.hstack([left, right, np.full((right.shape[0], 6, 3), 255, np.uint8)]))
    if len(pairs) % 2:
        pairs.append(np.zeros_like(pairs[0]))
    cv2.imwrite(str(path), np.vstack([np.hstack(pairs[i:i + 2]) for i in range(0, len(pairs), 2)]),
                [cv2.IMWRITE_JPEG_QUALITY, 88])


def add_run_flags(p: argparse.ArgumentParser, max_frames: int) -> None:
    """The flags that say how a run reads its clip, shared with scripts/noise_band.py: --media,
    --max-frames, --neutral and --option (any other evaluate flag, ``name=value`` for its value)."""
    from realtime.app.commands.evaluate_cmd import RETARGET_FOR
    from scripts.quality_report import _find_media

    p.add_argument("--media", default=str(_find_media()))
    p.add_argument("--max-frames", type=int, default=max_frames, help="at most N frames of each clip (0: the whole clip)")
    p.add_argument("--neutral", choices=tuple(RETARGET_FOR), default=None,
                   help="with --self: the driver's neutral pose, as `repose evaluate --neutral` (default auto)")
    p.add_argument("--option", action="append", default=[],
                   help="an evaluate flag without its --, e.g. no-face or reference-frame=268")


def _parser() -> argparse.ArgumentParser:
    from realtime.app.cli import CliParser

    p = CliParser(prog="bone_report.py", description=__doc__.splitlines()[0])
    p.add_argument("--self", dest="selfs", action="append", default=[], metavar="CLIP")
    p.add_argument("--cross", action="append", default=[], metavar="IMAGE:CLIP")
    add_run_flags(p, max_frames=60)
    p.add_argument("--no-retarget", action="store_true")
    p.add_argument("--akd", action="store_true",
                   help="AKD per keypoint (floor, outside-frame share), the worst frames by AKD, <out>/<run>_akd.jpg")
    p.add_argument("--worst", type=int, default=8, help="with --akd: frames on the sheet")
    p.add_argument("--head-limit", type=float, default=None,
                   help="engines.warp.parts.HEAD_TURN_LIMIT for this run (0: the head's similarity alone)")
    p.add_argument("--out", default="runs/bones")
    return p


def _run_name(spec: str) -> str:
    """A run's file name in --out: the clip's stem, or IMAGE_by_CLIP (stems: a path given whole must
    not lead the outputs out of --out, next to the media)."""
    image, _, clip = spec.rpartition(":")
    return f"{Path(image).stem}_by_{Path(clip).stem}" if image else Path(clip).stem


def _save(path: Path, got: dict) -> None:
    import pickle

    with open(path, "wb") as f:
        pickle.dump({"summary": got["summary"], **{k: [r[k] for r in got["rows"]] for k in (
            "out", "floor", "i", "poses", "pred", "drawn", "akd", "akd_floor", "present", "outside",
            "frame_akd")}}, f)


def main(argv: list[str] | None = None) -> int:
    import logging

    from realtime import quiet
    from realtime.app.flags import check_number
    from realtime.errors import InputError
    from realtime.outputs import check_output

    args = _parser().parse_args(argv)
    quiet.configure(False)
    logging.basicConfig(level=logging.WARNING)
    try:
        check_number("--max-frames", args.max_frames, 0, 1_000_000_000)
        check_number("--worst", args.worst, 1, 1000)
        if args.head_limit is not None:
            check_number("--head-limit", args.head_limit, 0.0, 1.0)
        if not args.selfs and not args.cross:
            raise InputError("nothing to run: give --self CLIP or --cross IMAGE:CLIP")
        specs = [*args.selfs, *args.cross]
        for spec in specs:   # every run's flags checked before the first one starts
            evaluate_args(spec, args)
        check_output(args.out, "--out", folder=True)
        out_dir = Path(args.out)
        out_dir.mkdir(parents=True, exist_ok=True)
        if args.head_limit is not None:
            import engines.warp.parts as parts

            parts.HEAD_TURN_LIMIT = args.head_limit
        for spec in specs:
            with quiet.StderrFilter():
                got = run(spec, args)
            name = _run_name(spec)
            text = report(name, got, out_dir) + ("\n" + akd_report(name, got, out_dir) if args.akd else "")
            print(text, flush=True)
            _save(out_dir / f"{name}.pkl", got)
    except InputError as e:
        print(f"bone_report.py: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
