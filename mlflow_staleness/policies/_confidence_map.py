"""The default policy's confidence map, fitted by
``scripts/calibrate_confidence.py``.

A raw confidence (the probability that a decision's margin has the sign it was
given, times how much evidence there is) is mapped to the share of decisions of that
raw confidence that were right on the benchmark's tuning streams (4522 decisions).
Generated; do not edit by hand."""

RAW = [
    0.0,
    0.05,
    0.1,
    0.15,
    0.2,
    0.25,
    0.3,
    0.35,
    0.4,
    0.45,
    0.5,
    0.55,
    0.6,
    0.65,
    0.7,
    0.75,
    0.8,
    0.85,
    0.9,
    0.95,
    1.0,
]

RIGHT = [
    0.4167,
    0.4167,
    0.4167,
    0.4167,
    0.4167,
    0.4167,
    0.6018,
    0.6672,
    0.6672,
    0.743,
    0.8619,
    0.8619,
    0.8619,
    0.8619,
    0.8619,
    0.8619,
    0.8619,
    0.8619,
    0.8619,
    0.8619,
    0.8619,
]
