"""The coach: a person's exercise compared with a benchmark, offline (`repose coach`) and live.

One mechanism per job: ``motion`` reads a motion (video, image or pose file), ``score`` is the one
matcher (features and the 0-100 score), ``reps`` segments repetitions from a person's own joint
angles, ``dtw`` aligns two sequences in time, ``analysis`` puts them together for a recorded
exercise, ``plot``/``page``/``frames``/``video`` draw its report, ``live`` is live coach mode.
"""
