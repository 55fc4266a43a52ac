"""Turn a user's DataFrame into the exact columns to send, or say precisely why it cannot be sent.

Every check runs on the whole frame before any request, so bad input never half-runs. The frame
that comes out holds only CSV-ready columns: integers, float64 (narrower floats widened, which is
exact), text when allowed, and, as the one exception, long doubles (see `CsvEncoder`).

The checks read `DataFrame.dtypes` once and test the plain numeric columns (numpy integers and
float64, nearly every feature frame) as one array; only the other columns, and columns found at
fault, are looked at one by one. Per-column pandas access costs tens of microseconds a column,
which made a one-row call cost milliseconds and a 400,000-column row tens of seconds.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from pytest_smendpoint.invoke.errors import FrameError, InvokeArgumentError, shown

if TYPE_CHECKING:
    from pytest_smendpoint.settings.options import InvokeSettings

_SHOWN_COLUMNS = 20
_FLOAT64 = np.dtype(np.float64)


@dataclass(frozen=True)
class FrameRules:
    """What to drop and what to expect; built per call from InvokeSettings and keyword overrides."""

    labels: tuple[Hashable, ...] = ("label",)
    labels_explicit: bool = False
    features: tuple[str, ...] | int | None = None
    allow_nan: bool = False
    allow_strings: bool = False


@dataclass(frozen=True)
class PreparedFrame:
    """The columns to send, in the caller's order, and what was done to get them."""

    frame: pd.DataFrame
    dropped_labels: tuple[Hashable, ...]
    text_columns: tuple[Hashable, ...]


def frame_rules(
    settings: InvokeSettings,
    label: Hashable | Sequence[Hashable] | None,
    features: Sequence[str] | int | None,
    allow_nan: bool,
    allow_strings: bool,
) -> FrameRules:
    """The rules of one call: its keywords over the settings (sm_invoke's and sm_transform's)."""
    labels: tuple[Hashable, ...]
    if label is None:
        # An InvokeSettings built by hand may leave label empty: that means the default.
        explicit = settings.label_explicit
        labels = tuple(settings.label) if explicit or settings.label else ("label",)
    elif isinstance(label, str) or not isinstance(label, Sequence):
        labels, explicit = (label,), True
    else:
        labels, explicit = tuple(label), True
    wanted: tuple[str, ...] | int | None = settings.features
    if isinstance(features, str):
        wanted = (features,)
    elif features is not None:
        wanted = features if isinstance(features, int) else tuple(features)
    if isinstance(wanted, int) and (isinstance(wanted, bool) or wanted <= 0):
        raise InvokeArgumentError(f"features={wanted!r}: a feature count must be positive")
    return FrameRules(labels, explicit, wanted, allow_nan, allow_strings)


def names(items: Sequence[object]) -> str:
    """`'a', 'b', 'c'` (shortened past 20), the way every message here lists columns."""
    text = ", ".join(shown(item) for item in items[:_SHOWN_COLUMNS])
    if len(items) > _SHOWN_COLUMNS:
        text += f", ... ({len(items)} in all)"
    return text


def prepare(df: object, rules: FrameRules) -> PreparedFrame:
    """Drop labels, check features, dtypes and values; raise FrameError naming what is wrong."""
    if not isinstance(df, pd.DataFrame):
        raise FrameError(f"sm_invoke takes a pandas DataFrame, got {type(df).__name__}")
    if not df.columns.is_unique:
        duplicated = list(dict.fromkeys(df.columns[df.columns.duplicated()]))
        raise FrameError(f"the DataFrame has duplicate column names: {names(duplicated)}")
    dropped = _labels_to_drop(df, rules)
    frame = df.drop(columns=list(dropped)) if dropped else df
    if rules.features is not None:
        _check_features(list(frame.columns), rules.features, dropped)
    if len(frame) == 0:
        return PreparedFrame(frame, dropped, ())
    if frame.shape[1] == 0:
        after = f" after dropping {names(list(dropped))}" if dropped else ""
        raise FrameError(f"the DataFrame has no feature columns to send{after}")
    dtypes = frame.dtypes.tolist()
    converted, text_columns = _csv_ready_columns(frame, rules.allow_strings, dtypes)
    if converted is not frame:
        frame, dtypes = converted, converted.dtypes.tolist()
    _check_values(frame, rules.allow_nan, dtypes)
    return PreparedFrame(frame, dropped, text_columns)


def is_plain(dtype: object) -> bool:
    """A numpy integer or float64 column: sent as it is, and never missing unless float."""
    return isinstance(dtype, np.dtype) and (dtype.kind in "iu" or dtype == _FLOAT64)


def column_label(frame: pd.DataFrame, position: int) -> Hashable:
    """The column's name as iterating the columns gives it (`frame.columns[i]` gives numpy
    scalars, whose repr differs)."""
    label: Hashable = frame.columns[position]
    return label.item() if isinstance(label, np.generic) else label


def _labels_to_drop(df: pd.DataFrame, rules: FrameRules) -> tuple[Hashable, ...]:
    present = [label for label in rules.labels if label in df.columns]
    if rules.labels_explicit:
        absent = [label for label in rules.labels if label not in df.columns]
        if absent:
            noun = "label column" if len(absent) == 1 else "label columns"
            verb = "is" if len(absent) == 1 else "are"
            raise FrameError(
                f"{noun} {names(absent)} {verb} not in the DataFrame "
                f"(columns: {names(list(df.columns))})"
            )
    return tuple(present)


def _check_features(
    columns: list[Hashable], expected: tuple[str, ...] | int | None, dropped: tuple[Hashable, ...]
) -> None:
    if expected is None:
        return
    after = f" after dropping {names(list(dropped))}" if dropped else ""
    if isinstance(expected, int):
        if len(columns) != expected:
            raise FrameError(
                f"expected {expected} feature columns, the DataFrame has {len(columns)}{after}: "
                f"{names(columns)}"
            )
        return
    # Settings give names as text; compare as text so integer column labels (0, 1, ...) match.
    got = [str(column) for column in columns]
    want = [str(name) for name in expected]
    if got == want:
        return
    problems = []
    missing = [name for name in want if name not in got]
    unexpected = [name for name in got if name not in want]
    if missing:
        problems.append(f"missing {names(missing)}")
    if unexpected:
        problems.append(f"unexpected {names(unexpected)}")
    got_common = [name for name in got if name in want]
    want_common = [name for name in want if name in got]
    if got_common != want_common:
        problems.append(f"out of order: expected {names(want_common)}, got {names(got_common)}")
    raise FrameError(f"feature columns differ from the expected ones{after}: {'; '.join(problems)}")


def _csv_ready_columns(
    frame: pd.DataFrame, allow_strings: bool, dtypes: list[object]
) -> tuple[pd.DataFrame, tuple[Hashable, ...]]:
    """Convert what must be converted; reject what CSV cannot carry as a model feature. Plain
    columns need neither, so only the others are visited."""
    replaced: dict[int, pd.Series | np.ndarray] = {}
    text: list[Hashable] = []
    refused: list[str] = []
    text_refused = False
    for position in [i for i, dtype in enumerate(dtypes) if not is_plain(dtype)]:
        name, column = column_label(frame, position), frame.iloc[:, position]
        original = column
        if isinstance(column.dtype, pd.SparseDtype):
            column = column.sparse.to_dense()
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = _decategorize(column)
        dtype = column.dtype
        if ptypes.is_bool_dtype(dtype):
            # Sent as 1/0: what scikit-learn and XGBoost make of a bool feature anyway, and
            # unlike pyarrow's true/false, what every numeric CSV reader parses.
            column = column.astype("UInt8" if column.hasnans else np.uint8)
        elif ptypes.is_integer_dtype(dtype):
            pass
        elif ptypes.is_float_dtype(dtype):
            if dtype != np.float64 and not (isinstance(dtype, np.dtype) and dtype.itemsize > 8):
                # float16/float32/nullable/pyarrow floats widen exactly to float64, so the model
                # parses the very value that predicting on the frame locally would see; missing
                # values become NaN, which the encoder writes as an empty field.
                column = pd.Series(
                    column.to_numpy(dtype=np.float64, na_value=np.nan), index=column.index
                )
        elif _is_text(column):
            if not allow_strings:
                text_refused = True
                refused.append(f"{shown(name)} ({original.dtype})")
                continue
            text.append(name)
        else:
            refused.append(f"{shown(name)} ({original.dtype})")
            continue
        if column is not original:
            replaced[position] = column
    if refused:
        hint = (
            "; pass allow_strings=True to send text columns as quoted CSV fields"
            if text_refused
            else "; convert them to numbers first"
        )
        raise FrameError(
            f"cannot send non-numeric columns as CSV features: {', '.join(refused)}{hint}"
        )
    if replaced:
        frame = frame.copy(deep=False)
        for position, column in replaced.items():
            frame.isetitem(position, column)
    return frame, tuple(text)


def _decategorize(column: pd.Series) -> pd.Series:
    """A categorical column as its values, so it is checked and written like any other."""
    categories = column.cat.categories.dtype
    if ptypes.is_integer_dtype(categories) and column.hasnans:
        return column.astype("Int64")
    return column.astype(categories)


def _is_text(column: pd.Series) -> bool:
    if column.dtype == object:
        kind: str = pd.api.types.infer_dtype(column, skipna=True)
        return kind in ("string", "empty")
    return bool(ptypes.is_string_dtype(column.dtype))


def _check_values(frame: pd.DataFrame, allow_nan: bool, dtypes: list[object]) -> None:
    """Refuse missing (unless allowed) and infinite values. The float64 columns are tested as one
    array; a column is read on its own only when it is not plain or that test found it at fault,
    so the messages are those of a column-by-column pass."""
    suspects = [i for i, dtype in enumerate(dtypes) if not is_plain(dtype)]
    floats = [i for i, dtype in enumerate(dtypes) if is_plain(dtype) and dtype == _FLOAT64]
    if floats:
        block = frame if len(floats) == len(dtypes) else frame.iloc[:, floats]
        values = block.to_numpy()
        faulty = np.isinf(values).any(axis=0)
        if not allow_nan:
            faulty |= np.isnan(values).any(axis=0)
        if faulty.any():
            suspects = sorted(suspects + [floats[k] for k in np.flatnonzero(faulty)])
    missing: list[str] = []
    infinite: list[str] = []
    for position in suspects:
        name, column = column_label(frame, position), frame.iloc[:, position]
        if ptypes.is_float_dtype(column.dtype):
            values = column.to_numpy()
            nan_mask = np.isnan(values)
            inf_mask = np.isinf(values)
            if inf_mask.any():
                infinite.append(_first(name, frame.index, inf_mask))
        else:
            nan_mask = column.isna().to_numpy()
        if not allow_nan and nan_mask.any():
            missing.append(_first(name, frame.index, nan_mask))
    problems = []
    if missing:
        problems.append(
            f"NaN or missing values in columns {', '.join(missing)}: drop or fill them, or pass "
            "allow_nan=True to send them as empty fields"
        )
    if infinite:
        problems.append(
            f"infinite values in columns {', '.join(infinite)}: CSV has no portable infinity, "
            "clip or drop them (allow_nan does not cover them)"
        )
    if problems:
        raise FrameError("\n".join(problems))


def _first(name: Hashable, index: pd.Index, mask: np.ndarray) -> str:
    return f"{shown(name)} (first at row {shown(index[int(np.argmax(mask))])})"
