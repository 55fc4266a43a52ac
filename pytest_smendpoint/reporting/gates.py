"""Metrics the tests record (`sm_metrics`) and the `--sm-gate` thresholds checked against them.

A gate names a metric a test recorded, or one of the figures the plugin computes from the
invokers' counters (`FIGURES`). A metric can have several values: latency figures have one per
endpoint, and under pytest-xdist each worker records its own. A gate is met only when every value
meets it, so the value shown for a missed gate is the one that missed. A gate whose metric has no
value at all is missed, never silently passed.
"""

from __future__ import annotations

import math
import numbers
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from pytest_smendpoint.errors import SmEndpointError
from pytest_smendpoint.settings.options import Gate

# Latency figures are per endpoint (every endpoint's must meet the gate); counts are summed over
# every endpoint of the session.
LATENCY_FIGURES = ("p50_ms", "p95_ms", "p99_ms", "max_ms")
COUNT_FIGURES = ("errors", "invocations", "rows")
FIGURES = LATENCY_FIGURES + COUNT_FIGURES
# What each sm_compare computes (every comparison of the session must meet a gate); the score
# figures exist when the predictions are numbers. With a label column in the frame it adds
# <metric>_candidate, <metric>_baseline and <metric>_delta (accuracy_delta by default).
COMPARISON_FIGURES = (
    "agreement",
    "disagreements",
    "compared_rows",
    *(f"score_{kind}_{stat}" for kind in ("diff", "rel_diff") for stat in ("max", "mean", "p99")),
)
COMPARISON_METRIC_SUFFIXES = ("_candidate", "_baseline", "_delta")
# The same shape settings.GATE accepts for a gate's metric, so every recorded name can be gated.
METRIC_NAME = re.compile(r"^[A-Za-z_][\w.]*$")

OPERATORS: Mapping[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}


class MetricError(SmEndpointError, ValueError):
    """A metric cannot be recorded under that name or with that value."""


class MetricRecorder:
    """What the `sm_metrics` fixture hands to tests: `sm_metrics.record("auc", 0.93)`.

    Recording a name again replaces its value (the last figure a test computed is the one that
    counts). The values land in the session report and are what `--sm-gate` checks.
    """

    def __init__(self, values: dict[str, float]) -> None:
        self._values = values

    def record(self, name: str, value: float) -> None:
        if not isinstance(name, str) or not METRIC_NAME.match(name):
            raise MetricError(
                f"metric name {name!r} must start with a letter or _ and hold only letters, "
                "digits, _ and . (the names a --sm-gate can refer to)"
            )
        if name in FIGURES:
            raise MetricError(
                f"metric name {name!r} is a figure the plugin computes from sm_invoke's counters "
                f"({', '.join(FIGURES)}): record yours under another name"
            )
        if name in COMPARISON_FIGURES:
            raise MetricError(
                f"metric name {name!r} is a figure sm_compare computes "
                f"({', '.join(COMPARISON_FIGURES)}): record yours under another name"
            )
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise MetricError(f"metric {name!r}: value {value!r} is not a real number")
        number = float(value)
        if not math.isfinite(number):
            raise MetricError(f"metric {name!r}: value {number!r} is not finite")
        self._values[name] = number

    def __getitem__(self, name: str) -> float:
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def as_dict(self) -> dict[str, float]:
        return dict(self._values)


@dataclass(frozen=True)
class Observed:
    """One value of a metric and where it came from ("endpoint pytest-sm-...", "worker gw1")."""

    value: float
    origin: str = ""


@dataclass(frozen=True)
class GateResult:
    """A gate, whether it was met, and the value that decided it (None when never recorded)."""

    gate: Gate
    met: bool
    value: float | None
    detail: str

    def line(self) -> str:
        return f"{'met' if self.met else 'MISSED':<6} {self.gate}: {self.detail}"

    def to_json(self) -> dict[str, object]:
        return {
            "gate": str(self.gate),
            "metric": self.gate.metric,
            "operator": self.gate.operator,
            "threshold": self.gate.threshold,
            "value": self.value,
            "met": self.met,
            "detail": self.detail,
        }


def evaluate(gates: Iterable[Gate], observed: Mapping[str, Sequence[Observed]]) -> list[GateResult]:
    """Check each gate against every value of its metric; the first miss decides."""
    results = []
    for gate in gates:
        values = observed.get(gate.metric, ())
        if not values:
            results.append(GateResult(gate, False, None, _never_recorded(gate.metric)))
            continue
        meets = OPERATORS[gate.operator]
        missed = [item for item in values if not meets(item.value, gate.threshold)]
        decisive = missed[0] if missed else values[0]
        detail = f"{gate.metric} = {decisive.value:g}"
        if decisive.origin:
            detail += f" ({decisive.origin})"
        if len(values) > 1:
            detail += f"; {len(values) - len(missed)} of {len(values)} values meet it"
        results.append(GateResult(gate, not missed, decisive.value, detail))
    return results


def _never_recorded(metric: str) -> str:
    if metric in LATENCY_FIGURES or metric in COUNT_FIGURES:
        return f"{metric} was never measured: no test called sm_invoke"
    if metric in COMPARISON_FIGURES:
        return f"{metric} was never measured: no test called sm_compare"
    if metric in ("transform_rows_per_s", "transform_errors"):
        return f"{metric} was never measured: no test called sm_transform"
    if metric.endswith(COMPARISON_METRIC_SUFFIXES):
        return (
            f"{metric} was never recorded: no sm_compare on a frame with a label column, "
            f'nor sm_metrics.record("{metric}", value)'
        )
    return f'{metric} was never recorded: no test called sm_metrics.record("{metric}", value)'


def missed(results: Iterable[GateResult]) -> list[GateResult]:
    return [result for result in results if not result.met]
