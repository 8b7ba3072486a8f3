"""The presenter flags (--face/--no-face, --hands/--no-hands) of live, render, evaluate and editor.

Both default to "auto": on where the reference photo shows a face / hands (a notice, never an error,
when one is asked for but the photo does not show it). Kept apart so that the shared renderer option
group can take them over as they are.
"""
from __future__ import annotations

import argparse


def add_presenter_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--face", action=argparse.BooleanOptionalAction, default=None,
                   help="move the avatar's face with the driver's expression (MediaPipe Face Mesh); "
                        "default: on where the reference shows a face")
    p.add_argument("--hands", action=argparse.BooleanOptionalAction, default=None,
                   help="bend the avatar's fingers like the driver's (MediaPipe Hands); "
                        "default: on where the reference shows an open hand")
