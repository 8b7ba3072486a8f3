"""Find the library poses nearest to a query pose (vantage-point tree over Move Mirror vectors,
re-ranked by the full comparison).

The library is a folder of images, a video (each frame is a pose), or a pose .json written by
`repose pose` (an image's or a video's): save a video's poses once with
`repose pose VIDEO -o library.json` and search that file without estimating again.
QUERY is an image or a pose .json.
"""
from __future__ import annotations

import argparse
import json
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--library", required=True, metavar="DIR_OR_VIDEO",
                   help="a folder of images, a video, or a repose pose .json")
    p.add_argument("query", metavar="QUERY", help="an image or a pose .json")
    p.add_argument("-k", type=int, default=5, help="how many matches (default 5)")
    p.add_argument("--mirror", action="store_true", help="also match mirrored poses")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def load_library(path: str):
    """(poses, items) of a library; items are file names or frame labels."""
    from realtime.app.commands.common import progress
    from realtime.errors import InputError
    from realtime.inputs import open_input

    poses, items = [], []
    with open_input(path, accept=("folder", "video", "json"),
                    expected="a folder of images, a video or a pose .json as the library") as library:
        for f in progress(library, library.total, "index"):
            if f.pose is not None:
                poses.append(f.pose)
                items.append({"file": f.name} if library.kind == "folder"
                             else {"frame": f.index, "time_s": round(f.time_s, 3)})
    if not poses:
        raise InputError(f"{path}: no person found in the library; expected images or frames showing a person")
    return poses, items


def run(args: argparse.Namespace) -> int:
    from realtime.errors import InputError
    from realtime.inputs import pose_from_path
    from realtime.search import PoseIndex

    if args.k < 1:
        raise InputError(f"-k must be at least 1, got {args.k}")
    query = pose_from_path(args.query)
    poses, items = load_library(args.library)
    matches = PoseIndex(poses, items).search(query, args.k, mirror=args.mirror)
    rows = [{"rank": m.rank, **m.item, "cosine_similarity": round(m.comparison.cosine_similarity, 5),
             "euclidean_distance": round(m.comparison.euclidean_distance, 5),
             "weighted_distance": round(m.comparison.weighted_distance, 5),
             "keypoints_used": m.comparison.keypoints_used, "mirrored": m.comparison.mirrored}
            for m in matches]
    if args.json:
        json.dump({"library_size": len(poses), "matches": rows}, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(f"{len(poses)} poses indexed from {args.library}")
    label = lambda r: r.get("file") or f"frame {r['frame']} ({r['time_s']:.2f} s)"
    print(f"{'rank':>4}  {'match':<28} {'cosine':>8} {'distance':>9} {'keypoints':>9}")
    for r in rows:
        print(f"{r['rank']:>4}  {label(r):<28} {r['cosine_similarity']:>8.4f} "
              f"{r['euclidean_distance']:>9.4f} {r['keypoints_used']:>9}" + ("  (mirrored)" if r["mirrored"] else ""))
    return 0
