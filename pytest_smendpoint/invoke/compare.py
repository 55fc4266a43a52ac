"""`sm_compare`: the candidate and the baseline (production) on the same rows, side by side.

Both endpoints get the same frame through their own `Invoker`, with the same options, so the
payloads are split identically (the splitting depends only on the frame and the budgets). The two
run at once, one thread each: an evaluation set costs about what the slower endpoint takes, not
the sum. What comes back is a `Comparison` aligned with `df.index`; its `figures()` are the names
`--sm-gate` can check (`agreement`, `score_diff_p99`, `accuracy_delta`, ...).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from pytest_smendpoint.invoke.errors import FrameError, InvokeArgumentError, InvokeError
from pytest_smendpoint.reporting.gates import COMPARISON_FIGURES, METRIC_NAME

if TYPE_CHECKING:
    from pytest_smendpoint.invoke.invoker import Invoker

DEFAULT_TOP = 10

Metric = Callable[[pd.Series, Any], float]


class ComparisonError(InvokeError, ValueError):
    """The two endpoints' answers cannot be compared, or one endpoint refused the frame."""


@dataclass(frozen=True)
class DiffStats:
    """Max, mean and 99th percentile of a per-row difference."""

    max: float
    mean: float
    p99: float

    @classmethod
    def of(cls, values: pd.Series) -> DiffStats:
        array = values.to_numpy(dtype="float64")
        return cls(float(array.max()), float(array.mean()), float(np.percentile(array, 99)))


@dataclass(frozen=True)
class Comparison:
    """What `sm_compare(df)` returns; every per-row Series is aligned with `df.index`.

    `agree` says per row whether the two labels match (the predictions themselves, or scores
    thresholded at `threshold`); `abs_diff` and `rel_diff` are the score differences (None when
    the predictions are not numbers); `worst` holds the rows that disagree most, with their
    features; the metric figures are None when the frame has no label column.
    """

    name: str
    candidate_endpoint: str
    baseline_endpoint: str
    candidate: pd.Series | pd.DataFrame
    baseline: pd.Series | pd.DataFrame
    candidate_labels: pd.Series
    baseline_labels: pd.Series
    agree: pd.Series
    abs_diff: pd.Series | None
    rel_diff: pd.Series | None
    worst: pd.DataFrame
    threshold: float | None = None
    metric_name: str | None = None
    candidate_metric: float | None = None
    baseline_metric: float | None = None
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return len(self.agree)

    @property
    def agreement(self) -> float:
        """Share of rows whose labels match (1.0 for an empty frame: nothing disagrees)."""
        return float(self.agree.mean()) if len(self.agree) else 1.0

    @property
    def disagreements(self) -> int:
        return int((~self.agree).sum())

    @property
    def score_diff(self) -> DiffStats | None:
        """|candidate - baseline| per row (for several outputs, the largest of the row)."""
        return DiffStats.of(self.abs_diff) if self.abs_diff is not None and self.rows else None

    @property
    def score_rel_diff(self) -> DiffStats | None:
        """|c - b| / max(|c|, |b|) per row: 0 when both are 0, never above 2, always finite."""
        return DiffStats.of(self.rel_diff) if self.rel_diff is not None and self.rows else None

    @property
    def metric_delta(self) -> float | None:
        """Candidate's metric minus the baseline's: negative when the candidate is worse."""
        if self.candidate_metric is None or self.baseline_metric is None:
            return None
        return self.candidate_metric - self.baseline_metric

    def figures(self) -> dict[str, float]:
        """The comparison's gate-able figures, by name (only those it could compute)."""
        figures = {
            "agreement": self.agreement,
            "disagreements": float(self.disagreements),
            "compared_rows": float(self.rows),
        }
        for kind, stats in (("diff", self.score_diff), ("rel_diff", self.score_rel_diff)):
            if stats is not None:
                for stat in ("max", "mean", "p99"):
                    figures[f"score_{kind}_{stat}"] = getattr(stats, stat)
        assert set(figures) <= set(COMPARISON_FIGURES)
        if self.metric_name is not None and self.metric_delta is not None:
            assert self.candidate_metric is not None and self.baseline_metric is not None
            figures[f"{self.metric_name}_candidate"] = self.candidate_metric
            figures[f"{self.metric_name}_baseline"] = self.baseline_metric
            figures[f"{self.metric_name}_delta"] = self.metric_delta
        # NaN predictions make NaN differences: such a figure is left out (a gate on it then
        # misses as never measured) rather than written into the JSON report as NaN.
        return {name: value for name, value in figures.items() if math.isfinite(value)}


def compare(
    candidate: Invoker,
    baseline: Invoker,
    df: pd.DataFrame,
    *,
    name: str,
    threshold: float | None = None,
    metric: Metric | None = None,
    metric_name: str | None = None,
    label: Hashable | Sequence[Hashable] | None = None,
    top: int = DEFAULT_TOP,
    **invoke_options: Any,
) -> Comparison:
    """Send `df` to both endpoints at once (same options, same payloads) and compare."""
    chosen_metric, chosen_name = _metric(metric, metric_name)
    threshold = _threshold(threshold)
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise ComparisonError(f"top={top!r}: must be a whole number of rows, 0 or more")
    started = time.perf_counter()
    with ThreadPoolExecutor(2, thread_name_prefix="sm-compare") as pool:
        sides = {
            "candidate": pool.submit(candidate, df, label=label, **invoke_options),
            "baseline": pool.submit(baseline, df, label=label, **invoke_options),
        }
        answers: dict[str, Any] = {}
        for side, future in sides.items():
            error = future.exception()
            if isinstance(error, InvokeError) and not isinstance(error, ComparisonError):
                endpoint = (candidate if side == "candidate" else baseline).endpoint_name
                if _frame_problem(error):  # the frame itself: the same for both sides
                    raise error
                raise ComparisonError(
                    f"sm_compare: the {side} (endpoint {endpoint!r}) could not predict the "
                    f"frame: {error}"
                ) from error
            answers[side] = future.result()
    seconds = time.perf_counter() - started
    c_answer, b_answer = answers["candidate"], answers["baseline"]
    _check_shapes(c_answer, b_answer)
    c_labels = labels_of(c_answer, threshold, "candidate")
    b_labels = labels_of(b_answer, threshold, "baseline")
    agree = pd.Series(_equal(c_labels, b_labels), index=df.index, name="agree")
    abs_diff, rel_diff = score_differences(c_answer, b_answer)
    truth = _truth(df, label, candidate)
    c_metric = b_metric = None
    if truth is not None and len(df):
        c_metric = _score(chosen_metric, truth, c_answer, c_labels, chosen_name)
        b_metric = _score(chosen_metric, truth, b_answer, b_labels, chosen_name)
    return Comparison(
        name=name,
        candidate_endpoint=candidate.endpoint_name,
        baseline_endpoint=baseline.endpoint_name,
        candidate=c_answer,
        baseline=b_answer,
        candidate_labels=c_labels,
        baseline_labels=b_labels,
        agree=agree,
        abs_diff=abs_diff,
        rel_diff=rel_diff,
        worst=worst_rows(df, c_labels, b_labels, agree, abs_diff, top),
        threshold=threshold,
        metric_name=chosen_name if truth is not None else None,
        candidate_metric=c_metric,
        baseline_metric=b_metric,
        seconds=seconds,
    )


def accuracy(truth: pd.Series, labels: pd.Series) -> float:
    """The default metric: share of rows whose label equals the label column."""
    return float(np.mean(_equal(labels, truth)))


def labels_of(answer: pd.Series | pd.DataFrame, threshold: float | None, side: str) -> pd.Series:
    """The label each row was given: the prediction itself, the score thresholded (`>=`), or,
    for several outputs per row, the column with the highest score."""
    if isinstance(answer, pd.DataFrame):
        if answer.shape[1] == 1:
            answer = answer.iloc[:, 0]
        else:
            if not all(ptypes.is_numeric_dtype(t) for t in answer.dtypes):
                raise ComparisonError(
                    f"the {side} answered {answer.shape[1]} outputs per row, not all numbers: "
                    "sm_compare compares one label per row, or one score per class"
                )
            if threshold is not None:
                raise ComparisonError(
                    f"threshold={threshold:g} applies to one score per row, but the {side} "
                    f"answered {answer.shape[1]} per row (their label is the highest score's "
                    "column: leave threshold out)"
                )
            return answer.idxmax(axis=1)
    if threshold is not None:
        if not _numeric(answer):
            raise ComparisonError(
                f"threshold={threshold:g} needs numeric scores, but the {side} answered "
                f"{answer.dtype} predictions"
            )
        return answer >= threshold
    if ptypes.is_float_dtype(answer.dtype):
        values = answer.to_numpy(dtype="float64")
        if not np.array_equal(values, np.round(values), equal_nan=True):
            raise ComparisonError(
                f"the {side} answered scores (non-whole numbers), not labels: give "
                "threshold= (e.g. sm_compare(df, threshold=0.5)) to compare them as labels"
            )
    return answer


def score_differences(
    candidate: pd.Series | pd.DataFrame, baseline: pd.Series | pd.DataFrame
) -> tuple[pd.Series | None, pd.Series | None]:
    """|c - b| and |c - b| / max(|c|, |b|) per row (the row's largest for several outputs);
    None, None when the predictions are not numbers."""
    if not (_numeric(candidate) and _numeric(baseline)):
        return None, None
    c = candidate.to_numpy(dtype="float64")
    b = baseline.to_numpy(dtype="float64")
    absolute = np.abs(c - b)
    scale = np.maximum(np.abs(c), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.where(scale > 0, absolute / np.where(scale > 0, scale, 1.0), 0.0)
    if absolute.ndim == 2:
        absolute, relative = absolute.max(axis=1), relative.max(axis=1)
    index = candidate.index
    return pd.Series(absolute, index=index, name="abs_diff"), pd.Series(
        relative, index=index, name="rel_diff"
    )


def worst_rows(
    df: pd.DataFrame,
    c_labels: pd.Series,
    b_labels: pd.Series,
    agree: pd.Series,
    abs_diff: pd.Series | None,
    top: int,
) -> pd.DataFrame:
    """The `top` rows that disagree most: differing labels first, then the largest score
    difference, then frame order; with every column of the frame and both predictions."""
    if top == 0 or len(df) == 0:
        positions = np.array([], dtype=int)
    else:
        diff = abs_diff.to_numpy() if abs_diff is not None else np.zeros(len(df))
        # lexsort: the last key sorts first. Positions keep ties in frame order.
        order = np.lexsort((np.arange(len(df)), -diff, agree.to_numpy(dtype=bool)))
        positions = order[:top]
        positions = positions[(~agree.to_numpy(dtype=bool))[positions] | (diff[positions] > 0)]
    worst = df.iloc[positions].copy()
    added = {
        "candidate": c_labels.iloc[positions].to_numpy(),
        "baseline": b_labels.iloc[positions].to_numpy(),
        "abs_diff": (
            abs_diff.iloc[positions].to_numpy()
            if abs_diff is not None
            else np.full(len(positions), math.nan)
        ),
    }
    for column, values in added.items():
        while column in worst.columns:  # never overwrite one of the frame's own columns
            column = "_" + column
        worst[column] = values
    return worst


def _metric(metric: Metric | None, metric_name: str | None) -> tuple[Metric | None, str]:
    if metric is not None and not callable(metric):
        raise ComparisonError(f"metric={metric!r}: must be a callable (y_true, predictions)")
    name = metric_name or (getattr(metric, "__name__", "") if metric is not None else "accuracy")
    if not isinstance(name, str) or not METRIC_NAME.match(name):
        raise ComparisonError(
            f"metric name {name!r} cannot name a figure (letters, digits, _ and . only, not "
            'starting with a digit): give metric_name=, e.g. metric_name="auc"'
        )
    return metric, name


def _threshold(threshold: float | None) -> float | None:
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
        raise ComparisonError(f"threshold={threshold!r}: must be a number")
    value = float(threshold)
    if not math.isfinite(value):
        raise ComparisonError(f"threshold={threshold!r}: must be finite")
    return value


def _frame_problem(error: InvokeError) -> bool:
    """An error about the frame or the call's options, raised before any request is made."""
    return isinstance(error, (FrameError, InvokeArgumentError))


def _check_shapes(candidate: pd.Series | pd.DataFrame, baseline: pd.Series | pd.DataFrame) -> None:
    widths = [1 if isinstance(a, pd.Series) else a.shape[1] for a in (candidate, baseline)]
    if widths[0] != widths[1]:
        raise ComparisonError(
            f"the candidate answered {widths[0]} output(s) per row and the baseline "
            f"{widths[1]}: their predictions cannot be compared"
        )


def _truth(
    df: pd.DataFrame, label: Hashable | Sequence[Hashable] | None, candidate: Invoker
) -> pd.Series | None:
    """The label column the metric is computed on: the first of the labels present."""
    if label is None:
        labels: tuple[Hashable, ...] = tuple(candidate.settings.label) or ("label",)
    elif isinstance(label, str) or not isinstance(label, Sequence):
        labels = (label,)
    else:
        labels = tuple(label)
    for column in labels:
        if column in df.columns:
            return df[column]
    return None


def _score(
    metric: Metric | None,
    truth: pd.Series,
    answer: pd.Series | pd.DataFrame,
    labels: pd.Series,
    name: str,
) -> float:
    value = accuracy(truth, labels) if metric is None else metric(truth, answer)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ComparisonError(f"metric {name!r} returned {value!r}, not a number")
    if not math.isfinite(float(value)):
        raise ComparisonError(f"metric {name!r} returned {value!r}, not a finite number")
    return float(value)


def _numeric(answer: pd.Series | pd.DataFrame) -> bool:
    if isinstance(answer, pd.DataFrame):
        return all(
            ptypes.is_numeric_dtype(t) and not ptypes.is_bool_dtype(t) for t in answer.dtypes
        )
    return ptypes.is_numeric_dtype(answer.dtype) and not ptypes.is_bool_dtype(answer.dtype)


def _equal(left: pd.Series, right: pd.Series) -> np.ndarray:
    """Row-by-row equality by position (labels that are both NaN count as equal)."""
    a, b = left.to_numpy(), right.to_numpy()
    equal = np.asarray(a == b, dtype=bool)
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        equal |= pd.isna(a) & pd.isna(b)
    return equal


class Comparer:
    """What the `sm_compare` fixture hands to tests: `sm_compare(df, threshold=0.5)`.

    Each call is one comparison of the session report, named by `name=` or else after the
    calling test; `record` receives every Comparison (the plugin keeps its summary).
    """

    def __init__(
        self,
        candidate: Invoker,
        baseline: Invoker,
        record: Callable[[Comparison], None] = lambda comparison: None,
    ) -> None:
        self.candidate = candidate
        self.baseline = baseline
        self.record = record
        self._names: set[str] = set()

    def __call__(
        self,
        df: pd.DataFrame,
        *,
        threshold: float | None = None,
        metric: Metric | None = None,
        metric_name: str | None = None,
        label: Hashable | Sequence[Hashable] | None = None,
        top: int = DEFAULT_TOP,
        name: str | None = None,
        **invoke_options: Any,
    ) -> Comparison:
        """Predictions of both endpoints for every row of `df`, compared; see `Comparison`.

        `threshold`: compare scores as labels `score >= threshold` (without it the predictions
        are compared as labels as they are). `metric(y_true, predictions)`: computed for each
        side on the label column (default: accuracy of the labels). Other keywords go to both
        invokers, as to `sm_invoke`."""
        comparison = compare(
            self.candidate,
            self.baseline,
            df,
            name=self._unique(name or _current_test() or "sm_compare"),
            threshold=threshold,
            metric=metric,
            metric_name=metric_name,
            label=label,
            top=top,
            **invoke_options,
        )
        self.record(comparison)
        return comparison

    def _unique(self, name: str) -> str:
        """The name, or the name with #2, #3, ... when this process has used it already."""
        chosen, number = name, 1
        while chosen in self._names:
            number += 1
            chosen = f"{name} #{number}"
        self._names.add(chosen)
        return chosen


def _current_test() -> str | None:
    """The running test's name, from the variable pytest sets during each test
    (`path::name (call)`)."""
    import os

    current = os.environ.get("PYTEST_CURRENT_TEST")
    if not current:
        return None
    return current.rsplit(" (", 1)[0].rsplit("::", 1)[-1] or None
