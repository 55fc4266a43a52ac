"""The session report: per endpoint what was deployed, how it answered and what became of it,
plus the metrics tests recorded and the gates' outcome. One record feeds the terminal summary,
the `--sm-report` JSON file and the `--junitxml` properties, so the three always agree.

Built from the plugin's own records (`EndpointRecord`, `InvocationStats`, duck-typed here so
that importing this module costs nothing), and from the payloads of pytest-xdist workers.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_smendpoint.reporting.gates import COUNT_FIGURES, GateResult, Observed, evaluate, missed
from pytest_smendpoint.settings.options import Gate

SCHEMA_VERSION = 1
WORKER_LATENCIES = "_latencies_ms"  # in an xdist worker's payload only
PERCENTILES = (("p50", 50), ("p95", 95), ("p99", 99))
# EndpointRecord fields the report lays out itself; any other field (added by later features)
# is carried into the JSON as it is, when it is plain data.
_LAID_OUT = frozenset(
    {
        "name",
        "backend",
        "region",
        "source",
        "instance_type",
        "instance_count",
        "deploy_seconds",
        "teardown",
        "manual_commands",
    }
)
# What the summary adds under an endpoint's first line, by teardown result.
TEARDOWN_NOTES = {
    "kept": "  kept (--sm-keep-endpoint): delete it by hand with:",
    "failed": "  teardown FAILED: delete by hand with:",
    "not owned": "  an existing endpoint: nothing was created, nothing was deleted",
    "pending": "  teardown never ran (the session was interrupted)",
}


@dataclass(frozen=True)
class EndpointReport:
    """One endpoint of the session, as reported."""

    name: str
    backend: str
    region: str
    source: str
    instance_type: str | None
    instance_count: int | None
    deploy_seconds: float
    invocations: int
    rows: int
    bytes_sent: int
    errors: int
    retries: int
    latency_ms: Mapping[str, float | None]  # p50, p95, p99, max (None before any request)
    teardown: str  # deleted | kept | failed | not owned | pending
    manual_commands: tuple[str, ...] = ()
    invoked: bool = False  # whether an sm_invoke invoker was made for it at all
    extra: Mapping[str, Any] = field(default_factory=dict)
    latencies: tuple[float, ...] = ()  # raw, for merging xdist workers' counts (not in the JSON)

    @classmethod
    def from_record(cls, record: Any, stats: Any | None) -> EndpointReport:
        """From an EndpointRecord and its InvocationStats (None when sm_invoke was not used)."""
        latencies = list(getattr(stats, "latencies_ms", ()) or ())
        return cls(
            name=record.name,
            backend=record.backend,
            region=record.region,
            source=getattr(record, "source", "") or "",
            instance_type=getattr(record, "instance_type", None),
            instance_count=getattr(record, "instance_count", None),
            deploy_seconds=float(record.deploy_seconds),
            invocations=int(getattr(stats, "requests", 0)),
            rows=int(getattr(stats, "rows", 0)),
            bytes_sent=int(getattr(stats, "bytes_sent", 0)),
            errors=int(getattr(stats, "errors", 0)),
            retries=int(getattr(stats, "retries", 0)),
            latency_ms=latency_summary(latencies),
            teardown=record.teardown,
            manual_commands=tuple(getattr(record, "manual_commands", ()) or ()),
            invoked=stats is not None,
            extra=_plain_fields(record),
            latencies=tuple(latencies),
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "backend": self.backend,
            "region": self.region,
            "source": self.source,
            "instance_type": self.instance_type,
            "instance_count": self.instance_count,
            "deploy_seconds": round(self.deploy_seconds, 3),
            "invocations": self.invocations,
            "rows": self.rows,
            "bytes_sent": self.bytes_sent,
            "errors": self.errors,
            "retries": self.retries,
            "latency_ms": dict(self.latency_ms),
            "teardown": self.teardown,
            "manual_commands": list(self.manual_commands),
            "invoked": self.invoked,
        }
        for key, value in self.extra.items():
            data.setdefault(key, value)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EndpointReport:
        """Back from `to_json` (how xdist workers hand their endpoints to the controller)."""
        known = {f.name for f in dataclasses.fields(cls)} - {"extra", "latencies"}
        values = {key: data[key] for key in known if key in data}
        values["manual_commands"] = tuple(values.get("manual_commands", ()))
        extra = {k: v for k, v in data.items() if k not in known and k != WORKER_LATENCIES}
        return cls(**values, extra=extra, latencies=tuple(data.get(WORKER_LATENCIES, ())))

    def merged(self, other: EndpointReport) -> EndpointReport:
        """One endpoint seen by several xdist workers (a shared endpoint): counts add up, the
        percentiles are recomputed over every worker's latencies."""
        latencies = self.latencies + other.latencies
        teardown = self.teardown if self.teardown != "pending" else other.teardown
        return dataclasses.replace(
            self,
            deploy_seconds=max(self.deploy_seconds, other.deploy_seconds),
            invocations=self.invocations + other.invocations,
            rows=self.rows + other.rows,
            bytes_sent=self.bytes_sent + other.bytes_sent,
            errors=self.errors + other.errors,
            retries=self.retries + other.retries,
            latency_ms=latency_summary(latencies),
            teardown=teardown,
            manual_commands=self.manual_commands or other.manual_commands,
            invoked=self.invoked or other.invoked,
            latencies=latencies,
        )

    def summary_lines(self) -> list[str]:
        instances = (
            f"{self.instance_type} x {self.instance_count}" if self.instance_type else "as deployed"
        )
        lines = [
            f"{self.name} ({self.backend}, {self.region}): "
            f"deployed in {self.deploy_seconds:.2f} s, teardown {self.teardown}",
            f"  model: {self.source or 'unknown'}; instances: {instances}",
        ]
        if self.invoked:
            line = (
                f"  sm_invoke: {self.invocations} requests, {self.rows} rows, "
                f"{self.bytes_sent / 1e6:.1f} MB sent, {self.errors} errors, "
                f"{self.retries} retries"
            )
            if self.latency_ms.get("max") is not None:
                line += "; latency ms " + ", ".join(
                    f"{key} {value:.1f}" for key, value in self.latency_ms.items()
                )
            lines.append(line)
        if self.teardown in TEARDOWN_NOTES:
            lines.append(TEARDOWN_NOTES[self.teardown])
        lines += [f"  {command}" for command in self.manual_commands]
        return lines


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99 (linear interpolation, as numpy's default and InvocationStats.percentile)
    and max of the invoker's own latencies."""
    if not latencies_ms:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(latencies_ms)
    summary: dict[str, float | None] = {key: _percentile(ordered, q) for key, q in PERCENTILES}
    summary["max"] = ordered[-1]
    return summary


def _percentile(ordered: Sequence[float], q: float) -> float:
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def _plain_fields(record: Any) -> dict[str, Any]:
    """The record's other dataclass fields that JSON can hold (config_name, owned, ...)."""
    if not dataclasses.is_dataclass(record):
        return {}
    plain: dict[str, Any] = {}
    for item in dataclasses.fields(record):
        if item.name in _LAID_OUT:
            continue
        value = getattr(record, item.name)
        if isinstance(value, tuple | list):
            value = list(value)
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        plain[item.name] = value
    return plain


@dataclass(frozen=True)
class SessionReport:
    """Everything the session reports: endpoints, recorded metrics and gate results."""

    endpoints: tuple[EndpointReport, ...]
    metrics: Mapping[str, tuple[Observed, ...]]
    gates: tuple[GateResult, ...] = ()
    report_path: str | None = None
    write_error: str | None = None

    @property
    def gates_met(self) -> bool:
        return not missed(self.gates)

    def figures(self) -> dict[str, list[Observed]]:
        """The values gates can name: recorded metrics, each endpoint's latency figures (every
        one must meet a gate) and the session's summed counts."""
        observed: dict[str, list[Observed]] = {k: list(v) for k, v in self.metrics.items()}
        for endpoint in self.endpoints:
            for key, value in endpoint.latency_ms.items():
                if value is not None:
                    observed.setdefault(f"{key}_ms", []).append(
                        Observed(value, f"endpoint {endpoint.name}")
                    )
        invoked = [endpoint for endpoint in self.endpoints if endpoint.invoked]
        if invoked:
            origin = f"sum over {len(invoked)} endpoints" if len(invoked) > 1 else ""
            totals = {
                "errors": sum(e.errors for e in invoked),
                "invocations": sum(e.invocations for e in invoked),
                "rows": sum(e.rows for e in invoked),
            }
            for name in COUNT_FIGURES:
                observed[name] = [Observed(float(totals[name]), origin)]
        return observed

    def with_gates(self, gates: Iterable[Gate]) -> SessionReport:
        return dataclasses.replace(self, gates=tuple(evaluate(gates, self.figures())))

    def to_json(self, exit_status: int | None = None) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "exit_status": exit_status,
            "endpoints": [endpoint.to_json() for endpoint in self.endpoints],
            "metrics": {name: _metric_json(values) for name, values in self.metrics.items()},
            "gates": [result.to_json() for result in self.gates],
            "gates_met": self.gates_met,
        }

    def write(self, path: str, exit_status: int | None = None) -> None:
        """Write the JSON atomically: a CI step reading it never sees half a file."""
        text = json.dumps(self.to_json(exit_status), indent=2, allow_nan=False) + "\n"
        folder = os.path.dirname(path) or "."
        handle, temporary = tempfile.mkstemp(prefix=".sm-report-", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    def written(self, exit_status: int | None = None) -> SessionReport:
        """Write to `report_path`; a failure to write is kept for the summary, not raised
        (the session end is no place for a traceback)."""
        if not self.report_path:
            return self
        try:
            self.write(self.report_path, exit_status)
        except (OSError, ValueError) as error:
            return dataclasses.replace(self, write_error=f"{type(error).__name__}: {error}")
        return self

    def junit_properties(self) -> list[tuple[str, str]]:
        """Testsuite-level properties for --junitxml, named smendpoint.<endpoint>.<figure>,
        smendpoint.metric.<name> and smendpoint.gate.<gate>."""
        properties: list[tuple[str, str]] = []
        for endpoint in self.endpoints:
            prefix = f"smendpoint.{endpoint.name}"
            data = endpoint.to_json()
            for key in (
                "backend",
                "instance_type",
                "instance_count",
                "deploy_seconds",
                "invocations",
                "rows",
                "errors",
                "teardown",
            ):
                properties.append((f"{prefix}.{key}", _text(data[key])))
            for key, value in endpoint.latency_ms.items():
                properties.append((f"{prefix}.latency_ms.{key}", _text(value)))
        for name, values in self.metrics.items():
            properties.append((f"smendpoint.metric.{name}", _text(_metric_json(values))))
        for result in self.gates:
            properties.append(
                (
                    f"smendpoint.gate.{result.gate}",
                    f"{'met' if result.met else 'missed'}: " + result.detail,
                )
            )
        return properties

    def summary_lines(self) -> list[tuple[str, bool]]:
        """Lines for the terminal's smendpoint section, each with whether to show it in red."""
        lines = [
            (line, e.teardown == "failed") for e in self.endpoints for line in e.summary_lines()
        ]
        if self.metrics:
            shown = ", ".join(
                f"{name} {_text(_metric_json(values))}" for name, values in self.metrics.items()
            )
            lines.append((f"metrics: {shown}", False))
        if self.gates:
            misses = missed(self.gates)
            heading = (
                f"gates: all {len(self.gates)} met"
                if not misses
                else f"gates: {len(misses)} of {len(self.gates)} MISSED: the session fails"
            )
            lines.append((heading, bool(misses)))
            lines += [(f"  {result.line()}", not result.met) for result in self.gates]
        if self.report_path and self.write_error:
            lines.append((f"report: could not write {self.report_path}: {self.write_error}", True))
        elif self.report_path:
            lines.append((f"report: {self.report_path}", False))
        return lines


def _metric_json(values: Sequence[Observed]) -> float | list[float]:
    """One number; a list only when xdist workers recorded different values for the name."""
    distinct = list(dict.fromkeys(item.value for item in values))
    return distinct[0] if len(distinct) == 1 else distinct


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    return str(value)


def build_report(
    records: Iterable[Any],
    invocation_stats: Mapping[str, Any],
    metrics: Mapping[str, float],
    *,
    worker_payloads: Sequence[Mapping[str, Any]] = (),
    report_path: str | None = None,
) -> SessionReport:
    """This process's endpoints and metrics, plus those pytest-xdist workers sent back."""
    endpoints = [
        EndpointReport.from_record(record, invocation_stats.get(record.name)) for record in records
    ]
    observed: dict[str, list[Observed]] = {
        name: [Observed(value)] for name, value in metrics.items()
    }
    for payload in worker_payloads:
        endpoints += [EndpointReport.from_json(item) for item in payload.get("endpoints", ())]
    by_name: dict[str, EndpointReport] = {}
    for endpoint in endpoints:
        seen = by_name.get(endpoint.name)
        by_name[endpoint.name] = endpoint if seen is None else seen.merged(endpoint)
    for payload in worker_payloads:
        origin = f"worker {payload.get('worker', '?')}"
        for name, value in payload.get("metrics", {}).items():
            observed.setdefault(name, []).append(Observed(float(value), origin))
    return SessionReport(
        endpoints=tuple(by_name.values()),
        metrics={name: tuple(values) for name, values in observed.items()},
        report_path=report_path,
    )


def worker_payload(
    worker: str,
    records: Iterable[Any],
    invocation_stats: Mapping[str, Any],
    metrics: Mapping[str, float],
) -> dict[str, Any]:
    """What an xdist worker sends its controller (through `config.workeroutput`): plain JSON."""
    return {
        "worker": worker,
        "endpoints": [
            {**report.to_json(), WORKER_LATENCIES: list(report.latencies)}
            for report in (
                EndpointReport.from_record(record, invocation_stats.get(record.name))
                for record in records
            )
        ],
        "metrics": dict(metrics),
    }
