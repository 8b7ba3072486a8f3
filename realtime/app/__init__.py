"""The application layer: the `repose` command line, its commands and the pose editor.

The only part of `realtime` that imports `engines` and `calibration`; the rest of `realtime` is the
core those two build on.
"""
