"""pyarrow's CSV reader where the serving interpreter has it: the codecs' shortcut for large
bodies of plain numbers, whose result equals the container's own steps (the differential tests
compare both). The image runtimes install pyarrow where the image ships it (every recorded image
does), so the model's code finds it there as in the container; without it the container's own
steps run."""

from __future__ import annotations

from typing import Any


def pyarrow_csv() -> tuple[Any, Any] | None:
    """(pyarrow, pyarrow.csv), or None when pyarrow is not installed."""
    try:
        import pyarrow
        import pyarrow.csv
    except ImportError:
        return None
    return pyarrow, pyarrow.csv
