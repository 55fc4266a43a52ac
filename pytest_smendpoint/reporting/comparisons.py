"""A comparison (`sm_compare`) as the session report holds it: its figures, its worst rows, and
just enough of its predictions to draw (a sample of score pairs, a label cross-table).

Plain JSON-able values only, so that pytest-xdist workers can hand comparisons to the
controller and the report can be written without pandas.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The HTML scatter draws at most this many candidate-vs-baseline score pairs (evenly sampled):
# a 200,000-row evaluation set must not make a 20 MB page.
MAX_POINTS = 1000
# A label cross-table is kept only for this many distinct labels on each side.
MAX_CROSSTAB_LABELS = 20
POINTS_KEY = "_points"  # in an xdist worker's payload only, as the report's latencies are


@dataclass(frozen=True)
class WorstRow:
    """One of the rows the two endpoints disagree on most."""

    index: Any
    candidate: Any
    baseline: Any
    abs_diff: float | None
    features: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "candidate": self.candidate,
            "baseline": self.baseline,
            "abs_diff": self.abs_diff,
            "features": dict(self.features),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorstRow:
        return cls(
            data["index"], data["candidate"], data["baseline"], data["abs_diff"], data["features"]
        )


@dataclass(frozen=True)
class ComparisonSummary:
    """One sm_compare call of the session."""

    name: str
    candidate: str  # endpoint names
    baseline: str
    rows: int
    threshold: float | None
    metric: str | None  # the metric's name when the frame had a label column
    figures: Mapping[str, float]
    worst: tuple[WorstRow, ...] = ()
    crosstab: tuple[tuple[Any, Any, int], ...] = ()  # (candidate label, baseline label, rows)
    points: tuple[tuple[float, float], ...] = ()  # (baseline score, candidate score), sampled

    @classmethod
    def from_comparison(cls, comparison: Any) -> ComparisonSummary:
        """From an invoke.compare.Comparison (duck-typed: this module imports no pandas)."""
        worst = []
        extra = {"candidate", "baseline", "abs_diff"}
        for position in range(len(comparison.worst)):
            row = comparison.worst.iloc[position]
            features = {
                str(column): json_value(value)
                for column, value in row.items()
                if column not in extra
            }
            diff = json_value(row.get("abs_diff"))
            worst.append(
                WorstRow(
                    json_value(comparison.worst.index[position]),
                    json_value(row["candidate"]),
                    json_value(row["baseline"]),
                    diff if isinstance(diff, float) else None,
                    features,
                )
            )
        return cls(
            name=comparison.name,
            candidate=comparison.candidate_endpoint,
            baseline=comparison.baseline_endpoint,
            rows=comparison.rows,
            threshold=comparison.threshold,
            metric=comparison.metric_name,
            figures=comparison.figures(),
            worst=tuple(worst),
            crosstab=_crosstab(comparison.candidate_labels, comparison.baseline_labels),
            points=_points(comparison.candidate, comparison.baseline),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "candidate": self.candidate,
            "baseline": self.baseline,
            "rows": self.rows,
            "threshold": self.threshold,
            "metric": self.metric,
            "figures": dict(self.figures),
            "worst_rows": [row.to_json() for row in self.worst],
            "crosstab": [list(cell) for cell in self.crosstab],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ComparisonSummary:
        return cls(
            name=data["name"],
            candidate=data["candidate"],
            baseline=data["baseline"],
            rows=int(data["rows"]),
            threshold=data["threshold"],
            metric=data["metric"],
            figures=dict(data["figures"]),
            worst=tuple(WorstRow.from_json(row) for row in data.get("worst_rows", ())),
            crosstab=tuple((c, b, int(n)) for c, b, n in data.get("crosstab", ())),
            points=tuple((float(b), float(c)) for b, c in data.get(POINTS_KEY, ())),
        )

    @property
    def title(self) -> str:
        return f"comparison {self.name}: {self.candidate} (candidate) vs {self.baseline} (baseline)"

    def summary_lines(self) -> list[str]:
        """The terminal summary's lines for this comparison."""
        figures = self.figures
        cut = f", scores cut at {self.threshold:g}" if self.threshold is not None else ""
        lines = [
            self.title,
            f"  agreement {figures['agreement']:.4f} ({int(figures['disagreements'])} of "
            f"{self.rows} rows differ{cut})",
        ]
        if "score_diff_max" in figures:
            lines.append(
                "  score diff: "
                + ", ".join(
                    f"{stat} {figures[f'score_diff_{stat}']:.4g}" for stat in ("max", "mean", "p99")
                )
                + "; relative: "
                + ", ".join(
                    f"{stat} {figures[f'score_rel_diff_{stat}']:.4g}"
                    for stat in ("max", "mean", "p99")
                )
            )
        if self.metric is not None:
            lines.append(
                f"  {self.metric}: candidate {figures[f'{self.metric}_candidate']:.4f}, "
                f"baseline {figures[f'{self.metric}_baseline']:.4f}, "
                f"delta {figures[f'{self.metric}_delta']:+.4f}"
            )
        return lines


def json_value(value: Any) -> Any:
    """A cell as plain JSON: numpy scalars unwrapped, NaN and infinities as None, others as text."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def _crosstab(candidate: Any, baseline: Any) -> tuple[tuple[Any, Any, int], ...]:
    """Rows per (candidate label, baseline label), when both sides have few distinct labels."""
    if candidate.nunique() > MAX_CROSSTAB_LABELS or baseline.nunique() > MAX_CROSSTAB_LABELS:
        return ()
    counts = (
        candidate.reset_index(drop=True)
        .to_frame("c")
        .assign(b=baseline.reset_index(drop=True))
        .value_counts(sort=False)
    )
    cells = [(json_value(c), json_value(b), int(n)) for (c, b), n in counts.items()]
    return tuple(sorted(cells, key=lambda cell: (str(cell[0]), str(cell[1]))))


def _points(candidate: Any, baseline: Any) -> tuple[tuple[float, float], ...]:
    """An even sample of (baseline, candidate) score pairs, for one float score per row (whole
    number labels are drawn as the cross-table instead)."""
    import numpy as np
    from pandas.api import types as ptypes

    if getattr(candidate, "ndim", 2) != 1 or getattr(baseline, "ndim", 2) != 1:
        return ()
    if not all(ptypes.is_float_dtype(s.dtype) for s in (candidate, baseline)):
        return ()
    count = len(candidate)
    if count == 0:
        return ()
    positions = np.unique(np.linspace(0, count - 1, min(count, MAX_POINTS)).astype(int))
    c = candidate.to_numpy(dtype="float64")[positions]
    b = baseline.to_numpy(dtype="float64")[positions]
    keep = np.isfinite(c) & np.isfinite(b)
    return tuple(zip(b[keep].tolist(), c[keep].tolist(), strict=True))
