"""A transform job's answers, read back: each shard's `.out` object parsed as sm_invoke parses an
endpoint's answer (same formats, same errors), checked to hold one prediction per input row,
and joined in shard order, aligned with the input's index."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from pytest_smendpoint.invoke.errors import PredictionCountError
from pytest_smendpoint.invoke.prediction_parsing import Predictions, parse_predictions, to_pandas
from pytest_smendpoint.transform.shards import Shard


def output_key(shard: Shard, input_prefix_key: str, output_prefix_key: str) -> str:
    """Where SageMaker writes a shard's answers: its key relative to the input prefix, under
    the output path, with `.out` appended."""
    relative = shard.key[len(input_prefix_key) :].lstrip("/")
    return (
        f"{output_prefix_key.rstrip('/')}/{relative}.out"
        if output_prefix_key
        else (f"{relative}.out")
    )


def joined_predictions(
    shards: Sequence[Shard],
    read: Callable[[str], bytes],
    keys: Sequence[str],
    accept: str,
    index: pd.Index,
    job_name: str,
) -> pd.Series | pd.DataFrame:
    """Every shard's `.out` (`read(key)`), parsed and counted against the rows it was sent."""
    parts: list[Predictions] = []
    first = 0
    for shard, key in zip(shards, keys, strict=True):
        where = f"transform job {job_name}, {key}"
        parsed = parse_predictions(read(key), accept, shard.rows, where)
        received = len(parsed.rows)
        if received != shard.rows:
            rows = _rows_text(index, first, shard.rows)
            raise PredictionCountError(
                job_name, f"{rows} ({key})", shard.rows, received, what="transform job"
            )
        parts.append(parsed)
        first += shard.rows
    return to_pandas(parts, index)


def _rows_text(index: pd.Index, first: int, count: int) -> str:
    labels: Any = index[first : first + count]
    if count == 0:
        return "no rows"
    return f"rows {labels[0]!r} to {labels[-1]!r}" if count > 1 else f"row {labels[0]!r}"
