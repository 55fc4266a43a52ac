"""Which production variant answers a call that names no TargetVariant: one drawn by weight from
a pseudo-random sequence each endpoint starts afresh, so a run's routing repeats exactly."""

from __future__ import annotations

import bisect
import itertools
import random
import threading
from collections.abc import Sequence

# Every endpoint's sequence starts from this seed when the endpoint is loaded: the n-th call
# without TargetVariant to an endpoint goes to the same variant on every run (for the same
# variants and weights, and calls made in the same order), whatever the endpoint is named.
ROUTING_SEED = 0


class VariantPicker:
    """Weighted choice among an endpoint's variants, as SageMaker spreads calls by weight;
    thread-safe. A call with TargetVariant does not draw, so it never shifts the sequence."""

    def __init__(self, seed: int = ROUTING_SEED) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def pick(self, weights: Sequence[float]) -> int | None:
        """The index of the variant that answers, or None when every weight is 0."""
        if len(weights) == 1:  # one variant takes every call: no draw, nothing to reproduce
            return 0 if weights[0] > 0 else None
        bounds = list(itertools.accumulate(max(w, 0.0) for w in weights))
        total = bounds[-1]
        if total <= 0:
            return None
        with self._lock:
            draw = self._random.random() * total
        # The first variant whose cumulative weight exceeds the draw; a 0-weight variant's
        # bound equals its predecessor's, so it is never picked.
        index = bisect.bisect_right(bounds, draw)
        if index == len(bounds):  # the product rounded up to the total: the last one with weight
            index = max(i for i, weight in enumerate(weights) if weight > 0)
        return index
