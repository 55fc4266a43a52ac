"""Latency percentiles, computed one way for the invoker's counters and the merged report."""

from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (numpy's linear interpolation), None when there are no values."""
    if not values:
        return None
    import numpy as np  # loaded by pandas already wherever latencies exist

    return float(np.percentile(values, q))
