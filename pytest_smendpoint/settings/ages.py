"""Ages such as `30m`, `6h`, `2d`: how old a leftover must be before a sweep takes it."""

from __future__ import annotations

from pytest_smendpoint.settings.patterns import LazyPattern

DEFAULT_SWEEP_AGE = "6h"
AGE_RULE = "AGE must be a positive number with s, m, h or d, e.g. 6h"
_AGE = LazyPattern(r"^(\d+)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# A sweep subtracts the age from now: 100 years keeps that far inside datetime's range (year 1
# to 9999), and SageMaker is younger than that.
MAX_AGE_DAYS = 36500
AGE_TOO_LARGE = f"AGE must be at most {MAX_AGE_DAYS}d (100 years)"


def parse_age(text: str) -> int:
    """`30m` -> 1800 seconds; ValueError (AGE_RULE) for anything else, zero included, and
    (AGE_TOO_LARGE) for an age beyond 100 years."""
    match = _AGE.match(text)
    if not match or int(match.group(1)) <= 0:
        raise ValueError(AGE_RULE)
    seconds = int(match.group(1)) * _SECONDS[match.group(2)]
    if seconds > MAX_AGE_DAYS * _SECONDS["d"]:
        raise ValueError(AGE_TOO_LARGE)
    return seconds
