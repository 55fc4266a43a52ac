"""The package root's names: what loads on first use is what a type checker sees exported."""

from __future__ import annotations

import pytest_smendpoint


def test_the_literal_all_lists_exactly_the_lazily_loaded_names() -> None:
    # mypy reads only a literal __all__; the names themselves load through _LAZY.
    assert pytest_smendpoint.__all__ == sorted(pytest_smendpoint._LAZY)
