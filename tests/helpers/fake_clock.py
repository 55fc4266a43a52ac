"""Time that moves only when the code under test sleeps: for wait loops driven by Stubber."""

from __future__ import annotations


class FakeClock:
    """Call it for the time; pass `.sleep` where the code sleeps; `.sleeps` lists the waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
