"""Regular expressions compiled on first use, so that registering the plugin compiles none: a
suite that never gives a setting or uses a fixture should not pay for them (start-up cost)."""

from __future__ import annotations

import re


class LazyPattern:
    """A `re.Pattern` written where it belongs and compiled the first time it is matched."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    def match(self, text: str) -> re.Match[str] | None:
        return self.compiled.match(text)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self.compiled.fullmatch(text)

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled.search(text)
