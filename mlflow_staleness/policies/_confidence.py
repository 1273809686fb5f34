"""The default policy's confidence, calibrated on the decision benchmark.

A raw confidence is the probability that a decision's margin has the sign it was given (under a
normal error), times how much evidence there is. :func:`calibrated` maps it, through the
non-decreasing map of :mod:`~mlflow_staleness.policies._confidence_map` (fitted by
``scripts/calibrate_confidence.py`` on the tuning streams), to the share of decisions of that raw
confidence that were right: the first move of the best schedule in hindsight. So a confidence of
0.8 means that advice like it was right about 80% of the time.
"""

from __future__ import annotations

import numpy as np

from mlflow_staleness.policies import _confidence_map

__all__ = ["calibrated"]

#: Set to False to get the raw confidence (what the calibration is fitted on).
ENABLED = True


def calibrated(raw: float) -> float:
    """The calibrated confidence of a raw one, in ``[0, 1]``.

    Examples
    --------
    >>> 0.0 <= calibrated(0.5) <= 1.0
    True
    """
    if not ENABLED:
        return float(raw)
    return float(np.interp(raw, _confidence_map.RAW, _confidence_map.RIGHT))
