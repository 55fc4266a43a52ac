"""The session report as tables of text: what the Markdown summary and the HTML report both show.

Built once here so that the CI job summary and the HTML page cannot drift apart; each renderer
only decides how a `Table` is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pytest_smendpoint.aws.backends import kind_of
from pytest_smendpoint.reporting.comparisons import ComparisonSummary

LATENCY_KEYS = ("p50", "p95", "p99", "max")


@dataclass(frozen=True)
class Table:
    """A heading, column headers and rows of cell text."""

    heading: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def headline(report: Any, exit_status: int | None) -> str:
    """One line a reviewer reads first: did the gates and the tests pass."""
    if report.gates:
        missed = [result for result in report.gates if not result.met]
        gates = (
            f"gates: {len(missed)} of {len(report.gates)} MISSED"
            if missed
            else f"gates: all {len(report.gates)} met"
        )
    else:
        gates = "no gates"
    tests = "" if exit_status is None else f"; pytest exit status {exit_status}"
    warning = getattr(report, "packages_warning", None)
    return f"{gates}{tests}" + (f"; {warning}" if warning else "")


def endpoint_table(endpoint: Any) -> Table:
    """One endpoint's deploy, traffic and teardown (an EndpointReport)."""
    latency = endpoint.latency_ms
    rows = [
        ("name", endpoint.name),
        ("backend", f"{endpoint.backend} ({endpoint.region})"),
        ("endpoint kind", str(getattr(endpoint, "kind", "real-time"))),
        *_capacity_rows(endpoint),
        (
            "served by",
            endpoint.serving_runtime or kind_of(endpoint.backend).unrecorded_serving,
        ),
        ("deploy time (s)", f"{endpoint.deploy_seconds:.2f}"),
        ("invocations", cell(endpoint.invocations)),
        ("rows", cell(endpoint.rows)),
        ("errors", cell(endpoint.errors)),
        *((f"latency {key} (ms)", cell(latency.get(key))) for key in LATENCY_KEYS),
        ("teardown", str(endpoint.teardown)),
    ]
    return Table(f"Endpoint {endpoint.name}", ("field", "value"), tuple(rows))


def _capacity_rows(endpoint: Any) -> tuple[tuple[str, str], ...]:
    """A serverless endpoint's configuration, or the instances of the others."""
    serverless = getattr(endpoint, "serverless", None)
    if serverless:
        return (
            ("memory (MB)", cell(serverless.get("memory_mb"))),
            ("max concurrency", cell(serverless.get("max_concurrency"))),
            ("provisioned concurrency", cell(serverless.get("provisioned_concurrency"))),
        )
    return (
        ("instance type", endpoint.instance_type or "as deployed"),
        ("instance count", cell(endpoint.instance_count)),
    )


def metrics_table(report: Any) -> Table | None:
    """The metrics tests recorded with sm_metrics (several values under pytest-xdist)."""
    if not report.metrics:
        return None
    rows = tuple(
        (name, ", ".join(dict.fromkeys(cell(item.value) for item in values)))
        for name, values in report.metrics.items()
    )
    return Table("Metrics", ("metric", "value"), rows)


def gates_table(report: Any) -> Table | None:
    """Every gate with its outcome and deciding value, the missed ones first."""
    if not report.gates:
        return None
    ordered = sorted(report.gates, key=lambda result: result.met)  # stable: missed, then met
    rows = tuple(
        ("met" if result.met else "MISSED", str(result.gate), cell(result.value), result.detail)
        for result in ordered
    )
    return Table("Gates", ("result", "gate", "value", "detail"), rows)


def comparison_tables(comparison: ComparisonSummary) -> list[Table]:
    """A comparison's figures, its label cross-table and its worst rows."""
    cut = "" if comparison.threshold is None else f" (scores cut at {comparison.threshold:g})"
    tables = [
        Table(
            f"Comparison {comparison.name}: {comparison.candidate} (candidate) vs "
            f"{comparison.baseline} (baseline){cut}",
            ("figure", "value"),
            tuple((name, cell(value)) for name, value in comparison.figures.items()),
        )
    ]
    if comparison.crosstab:
        tables.append(
            Table(
                f"Labels of comparison {comparison.name}",
                ("candidate label", "baseline label", "rows"),
                tuple((cell(c), cell(b), str(n)) for c, b, n in comparison.crosstab),
            )
        )
    if comparison.worst:
        features = list(dict.fromkeys(name for row in comparison.worst for name in row.features))
        tables.append(
            Table(
                f"Rows that differ most in comparison {comparison.name}",
                ("index", "candidate", "baseline", "abs diff", *features),
                tuple(
                    (
                        cell(row.index),
                        cell(row.candidate),
                        cell(row.baseline),
                        cell(row.abs_diff),
                        *(cell(row.features.get(name)) for name in features),
                    )
                    for row in comparison.worst
                ),
            )
        )
    return tables


def session_tables(report: Any) -> list[Table]:
    """Every table of the report, in reading order: gates first (the decision), then the
    endpoints, metrics and comparisons that explain it."""
    tables: list[Table | None] = [gates_table(report)]
    tables += [endpoint_table(endpoint) for endpoint in report.endpoints]
    tables.append(metrics_table(report))
    for comparison in report.comparisons:
        tables += comparison_tables(comparison)
    tables.append(transforms_table(report))
    return [table for table in tables if table is not None]


def transforms_table(report: Any) -> Table | None:
    """sm_transform's jobs (TransformReports), one row each."""
    jobs = getattr(report, "transforms", ())
    if not jobs:
        return None
    return Table(
        "Batch Transform jobs (sm_transform)",
        ("job", "status", "instances", "rows", "objects", "rows/s", "job (s)", "call (s)"),
        tuple(
            (
                job.job_name,
                job.status if job.failure is None else f"{job.status}: {job.failure}",
                f"{job.instance_type} x {job.instance_count}",
                cell(job.rows),
                cell(job.objects),
                cell(None if job.rows_per_second is None else round(job.rows_per_second)),
                f"{job.job_seconds:.2f}",
                f"{job.call_seconds:.2f}",
            )
            for job in jobs
        ),
    )


def cell(value: Any) -> str:
    """A value as table text: numbers short, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ", ".join(cell(item) for item in value)
    return str(value)
