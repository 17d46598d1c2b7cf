"""Nearest-rank percentiles of a benchmark's samples (p99 of 30 samples is the largest)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def nearest_rank(values: Sequence[float], fraction: float) -> float:
    """The smallest sample with at least `fraction` of the samples at or below it."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
