"""A transform job's answers, read back: each shard's `.out` object parsed as sm_invoke parses an
endpoint's answer (same formats, same errors), checked to hold one prediction per input row,
and joined in shard order, aligned with the input's index."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from pytest_smendpoint.invoke.errors import PredictionCountError
from pytest_smendpoint.invoke.prediction_parsing import (
    JSON_TYPES,
    Predictions,
    parse_predictions,
    to_pandas,
)
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
    *,
    single_record: bool = False,
) -> pd.Series | pd.DataFrame:
    """Every shard's `.out` (`read(key)`), parsed and counted against the rows it was sent."""
    parts: list[Predictions] = []
    first = 0
    for shard, key in zip(shards, keys, strict=True):
        where = f"transform job {job_name}, {key}"
        parsed = _parsed(read(key), accept, shard.rows, where, single_record)
        received = sum(len(part.rows) for part in parsed)
        if received != shard.rows:
            rows = _rows_text(index, first, shard.rows)
            raise PredictionCountError(
                job_name, f"{rows} ({key})", shard.rows, received, what="transform job"
            )
        parts += parsed
        first += shard.rows
    return to_pandas(parts, index)


def _parsed(
    body: bytes, accept: str, rows: int, where: str, single_record: bool
) -> list[Predictions]:
    """A `.out` as sm_invoke parses an answer. With AssembleWith Line the job writes each
    request's answer followed by a newline: CSV and JSON lines simply continue, but JSON answers
    are one document per request, read one by one (a request of one record, with SingleRecord,
    is one row)."""
    media = accept.split(";", 1)[0].strip().lower()
    if media not in JSON_TYPES:
        return [parse_predictions(body, accept, rows, where)]
    spans = _json_spans(body.decode("utf-8", errors="replace"))
    if len(spans) <= 1 and not single_record:
        return [parse_predictions(body, accept, rows, where)]
    text = body.decode("utf-8")
    expected = 1 if single_record else 2  # only one row, or not: settles a flat list's reading
    return [
        parse_predictions(text[start:end].encode("utf-8"), accept, expected, where)
        for start, end in spans
    ]


def _json_spans(text: str) -> list[tuple[int, int]]:
    """Where each JSON document of a newline-joined run of them starts and ends (an unreadable
    rest is left for the parser to report)."""
    decoder = json.JSONDecoder()
    spans: list[tuple[int, int]] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return spans
        try:
            _, end = decoder.raw_decode(text, position)
        except ValueError:
            return [*spans, (position, len(text))]
        spans.append((position, end))
        position = end


def _rows_text(index: pd.Index, first: int, count: int) -> str:
    labels: Any = index[first : first + count]
    if count == 0:
        return "no rows"
    return f"rows {labels[0]!r} to {labels[-1]!r}" if count > 1 else f"row {labels[0]!r}"
