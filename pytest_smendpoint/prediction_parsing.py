"""Read an endpoint's answer as one prediction record per row sent, whatever format it chose.

Formats: CSV (a line per row, or one line of one value per row), JSON (a list of values or of
lists, or `{"predictions": [...]}` of values, lists or dicts), JSON lines and NPY (the inference
toolkit's third output type). The response's content type decides; a missing or unknown one
(`text/plain` servers) is sniffed from the body.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pytest_smendpoint.invoke_errors import ResponseFormatError

CSV_TYPES = frozenset({"text/csv", "application/csv"})
JSON_TYPES = frozenset({"application/json", "text/json", "application/x-json"})
JSON_LINES_TYPES = frozenset(
    {
        "application/jsonlines",
        "application/x-jsonlines",
        "application/jsonl",
        "application/json-lines",
        "application/x-ndjson",
        "application/ndjson",
    }
)
NPY_TYPES = frozenset({"application/x-npy", "application/npy"})


@dataclass(frozen=True)
class Predictions:
    """One request's answer: a list of outputs per row, named when the endpoint named them."""

    rows: list[list[Any]]
    columns: tuple[str, ...] | None = None


def parse_predictions(
    body: bytes, content_type: str | None, expected_rows: int, where: str
) -> Predictions:
    """Parse `body`; `expected_rows` only settles the one-row ambiguity (a flat list of k values
    is k rows, except when one row was sent: then it is that row's k outputs)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in NPY_TYPES:
        try:
            array = np.load(io.BytesIO(body), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ResponseFormatError(
                f"{where}: cannot read the {content_type} response as a NumPy array ({exc})"
            ) from None
        return _from_items(array.tolist() if array.ndim else [array.item()], expected_rows)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResponseFormatError(
            f"{where}: the {content_type or 'untyped'} response is not UTF-8 text ({exc})"
        ) from None
    try:
        if media in CSV_TYPES:
            parsed = _from_csv(text, expected_rows)
        elif media in JSON_TYPES:
            parsed = _from_items(_json_items(json.loads(text)), expected_rows)
        elif media in JSON_LINES_TYPES:
            parsed = _from_items(_json_lines(text), expected_rows)
        else:
            parsed = _sniffed(text, expected_rows)
        if any(not row for row in parsed.rows):
            raise ValueError("a prediction holds no value")
        return parsed
    except (ValueError, TypeError) as exc:
        shown = text[:200] + ("..." if len(text) > 200 else "")
        raise ResponseFormatError(
            f"{where}: cannot read the {content_type or 'untyped'} response as predictions "
            f"({exc}); it begins {shown!r}"
        ) from None


def _sniffed(text: str, expected_rows: int) -> Predictions:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return _from_items(_json_items(json.loads(text)), expected_rows)
        except json.JSONDecodeError:
            return _from_items(_json_lines(text), expected_rows)
    return _from_csv(text, expected_rows)


def _from_csv(text: str, expected_rows: int) -> Predictions:
    lines = [line for line in csv.reader(io.StringIO(text)) if line]
    rows = [[_scalar(field) for field in line] for line in lines]
    if len(rows) == 1 and expected_rows > 1 and len(rows[0]) == expected_rows:
        # One line of one value per row: how SageMaker's XGBoost answers a CSV batch.
        rows = [[value] for value in rows[0]]
    return Predictions(rows)


def _scalar(field: str) -> Any:
    text = field.strip()
    if not text:
        return float("nan")
    try:
        number = float(text)
    except ValueError:
        return text
    if text.lstrip("+-").isdigit():
        return int(text)
    return number


def _json_items(document: Any) -> list[Any]:
    if isinstance(document, dict) and "predictions" in document:
        document = document["predictions"]
    if isinstance(document, list):
        return document
    return [document]  # a single record: a scalar or a dict of named outputs


def _json_lines(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _from_items(items: list[Any], expected_rows: int) -> Predictions:
    if expected_rows == 1 and len(items) != 1 and all(_is_scalar(item) for item in items):
        return Predictions([list(items)])  # one row's outputs, e.g. class probabilities
    if items and all(isinstance(item, dict) for item in items):
        columns = tuple(str(key) for key in items[0])
        for item in items:
            if set(map(str, item)) != set(columns):
                raise ValueError(
                    f"prediction records have different keys: {columns} and {tuple(item)}"
                )
        return Predictions([[item[key] for key in items[0]] for item in items], columns)
    if any(isinstance(item, dict) for item in items):
        raise ValueError("some predictions are records with named fields and some are not")
    rows = [list(item) if isinstance(item, list) else [item] for item in items]
    return Predictions(rows)


def _is_scalar(item: Any) -> bool:
    return not isinstance(item, (list, dict))


def to_pandas(parts: Sequence[Predictions], index: pd.Index) -> pd.Series | pd.DataFrame:
    """Series for one output per row, DataFrame for several; aligned with the frame's index."""
    rows = [row for part in parts for row in part.rows]
    columns = {part.columns for part in parts}
    widths = {len(row) for row in rows}
    if len(columns) > 1:
        raise ResponseFormatError(
            f"requests were answered with different named outputs: {sorted(map(str, columns))}"
        )
    if len(widths) > 1:
        raise ResponseFormatError(
            f"requests were answered with different numbers of outputs per row: {sorted(widths)}"
        )
    names = columns.pop()
    if widths == {1}:
        return pd.Series([row[0] for row in rows], index=index, name=names[0] if names else None)
    return pd.DataFrame(rows, index=index, columns=list(names) if names else None)
