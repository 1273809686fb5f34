"""The default policy's confidence map, fitted by ``scripts/calibrate_confidence.py``.

Identity until the script has run. Generated; do not edit by hand."""

RAW = [0.0, 1.0]
RIGHT = [0.0, 1.0]
