"""Ages such as `30m`, `6h`, `2d`: how old a leftover must be before a sweep takes it."""

from __future__ import annotations

import re

DEFAULT_SWEEP_AGE = "6h"
AGE_RULE = "AGE must be a positive number with s, m, h or d, e.g. 6h"
_AGE = re.compile(r"^(\d+)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> int:
    """`30m` -> 1800 seconds; ValueError (AGE_RULE) for anything else, zero included."""
    match = _AGE.match(text)
    if not match or int(match.group(1)) <= 0:
        raise ValueError(AGE_RULE)
    return int(match.group(1)) * _SECONDS[match.group(2)]
