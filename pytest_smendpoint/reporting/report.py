"""The session report: per endpoint what was deployed, how it answered and what became of it,
plus the metrics tests recorded and the gates' outcome. One record feeds the terminal summary,
the `--sm-report` JSON file and the `--junitxml` properties, so the three always agree.

Built from the plugin's own records (`EndpointRecord`, `InvocationStats`, duck-typed here so
that importing this module costs nothing), and from the payloads of pytest-xdist workers.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_smendpoint.aws.records import TeardownStatus
from pytest_smendpoint.reporting.comparisons import POINTS_KEY, ComparisonSummary
from pytest_smendpoint.reporting.gates import COUNT_FIGURES, GateResult, Observed, evaluate, missed
from pytest_smendpoint.reporting.percentiles import percentile
from pytest_smendpoint.reporting.transforms import TransformReport, transform_figures
from pytest_smendpoint.settings.options import Gate

# 2: endpoint entries have a fixed set of keys (ENDPOINT_JSON_KEYS); 3: client_ms, comparisons;
# 4: serving_runtime per endpoint, image_packages for the session; 5: transforms (sm_transform);
# 6: kind, serverless and async_inference per endpoint (instance_type and instance_count are null
# for a serverless endpoint).
SCHEMA_VERSION = 6
WORKER_LATENCIES = "_latencies_ms"  # in an xdist worker's payload only
WORKER_CLIENT_MS = "_client_ms"  # likewise: each call's client overhead
PERCENTILES = (("p50", 50), ("p95", 95), ("p99", 99))
# What the summary adds under an endpoint's first line, by teardown result.
TEARDOWN_NOTES = {
    TeardownStatus.KEPT: "  kept (--sm-keep-endpoint): delete it by hand with:",
    TeardownStatus.FAILED: "  teardown FAILED: delete by hand with:",
    TeardownStatus.NOT_OWNED: "  an existing endpoint: nothing was created, nothing was deleted",
    TeardownStatus.PENDING: "  teardown never ran (the session was interrupted)",
}
# The JSON report's endpoint entries hold exactly these keys, in this order (schema_version 2).
ENDPOINT_JSON_KEYS = (
    "name",
    "backend",
    "region",
    "source",
    "config_name",
    "model_names",
    "owned",
    "instance_type",
    "instance_count",
    "deploy_seconds",
    "invocations",
    "rows",
    "bytes_sent",
    "errors",
    "retries",
    "timeouts",
    "latency_ms",
    "client_ms",
    "teardown",
    "manual_commands",
    "deletion_confirmed",
    "invoked",
    "serving_runtime",
    "kind",
    "serverless",
    "async_inference",
)
# What an endpoint's "serverless" and "async_inference" entries hold (the settings' fields).
SERVERLESS_JSON_KEYS = ("memory_mb", "max_concurrency", "provisioned_concurrency")
ASYNC_JSON_KEYS = (
    "output_path",
    "failure_path",
    "max_concurrent_invocations_per_instance",
    "invocation_timeout",
)


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
    teardown: TeardownStatus
    manual_commands: tuple[str, ...] = ()
    invoked: bool = False  # whether an sm_invoke invoker was made for it at all
    config_name: str | None = None
    model_names: tuple[str, ...] = ()
    owned: bool | None = None
    deletion_confirmed: bool | None = None  # after teardown, DescribeEndpoint said it is gone
    latencies: tuple[float, ...] = ()  # raw, for merging xdist workers' counts (not in the JSON)
    # sm_invoke's own work per call (wall time with no request in flight): calls, p50, p95,
    # p99, max, total; and the raw per-call figures, as for the latencies.
    client_ms: Mapping[str, float | int | None] = dataclasses.field(
        default_factory=lambda: client_summary(())
    )
    client_calls_ms: tuple[float, ...] = ()
    # Under moto: the Python and packages that served the model (None: SageMaker served it).
    serving_runtime: str | None = None
    # Requests cut at the invocation bound or the client's read timeout (InvocationStats).
    timeouts: int = 0
    # "real-time", "serverless" or "async"; a serverless endpoint's ServerlessConfig and an
    # asynchronous one's AsyncInferenceConfig, as SERVERLESS_JSON_KEYS / ASYNC_JSON_KEYS (None:
    # not that kind).
    kind: str = "real-time"
    serverless: Mapping[str, Any] | None = None
    async_inference: Mapping[str, Any] | None = None

    @classmethod
    def from_record(cls, record: Any, stats: Any | None) -> EndpointReport:
        """From an EndpointRecord and its InvocationStats (None when sm_invoke was not used)."""
        latencies = list(getattr(stats, "latencies_ms", ()) or ())
        client = tuple(getattr(stats, "client_ms", ()) or ())
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
            timeouts=int(getattr(stats, "timeouts", 0)),
            latency_ms=latency_summary(latencies),
            teardown=TeardownStatus(record.teardown),
            manual_commands=tuple(getattr(record, "manual_commands", ()) or ()),
            invoked=stats is not None,
            config_name=getattr(record, "config_name", None),
            model_names=tuple(getattr(record, "model_names", ()) or ()),
            owned=getattr(record, "owned", None),
            deletion_confirmed=getattr(record, "deletion_confirmed", None),
            latencies=tuple(latencies),
            client_ms=client_summary(client),
            client_calls_ms=client,
            serving_runtime=getattr(record, "serving_runtime", None),
            kind=str(getattr(record, "kind", "real-time")),
            serverless=_fields(getattr(record, "serverless", None), SERVERLESS_JSON_KEYS),
            async_inference=_fields(getattr(record, "async_inference", None), ASYNC_JSON_KEYS),
        )

    @property
    def capacity(self) -> str:
        """`ml.m5.large x 1`, `ml.m5.large x 1, async`, or the serverless configuration."""
        from pytest_smendpoint.settings.endpoint_kinds import ServerlessSettings, capacity

        serverless = ServerlessSettings(**self.serverless) if self.serverless else None
        return capacity(
            self.instance_type,
            self.instance_count,
            serverless,
            asynchronous=self.kind == "async",
        )

    def to_json(self) -> dict[str, Any]:
        """The endpoint's entry in the JSON report: ENDPOINT_JSON_KEYS, nothing else."""
        values = {
            "deploy_seconds": round(self.deploy_seconds, 3),
            "latency_ms": dict(self.latency_ms),
            "client_ms": dict(self.client_ms),
            "teardown": self.teardown.value,
            "manual_commands": list(self.manual_commands),
            "model_names": list(self.model_names),
            "serverless": dict(self.serverless) if self.serverless is not None else None,
            "async_inference": (
                dict(self.async_inference) if self.async_inference is not None else None
            ),
        }
        return {key: values.get(key, getattr(self, key, None)) for key in ENDPOINT_JSON_KEYS}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EndpointReport:
        """Back from `to_json` (how xdist workers hand their endpoints to the controller)."""
        values = {key: data[key] for key in ENDPOINT_JSON_KEYS if key in data}
        values["manual_commands"] = tuple(values.get("manual_commands", ()))
        values["model_names"] = tuple(values.get("model_names", ()))
        values["teardown"] = TeardownStatus(values["teardown"])
        return cls(
            **values,
            latencies=tuple(data.get(WORKER_LATENCIES, ())),
            client_calls_ms=tuple(data.get(WORKER_CLIENT_MS, ())),
        )

    def merged(self, other: EndpointReport) -> EndpointReport:
        """One endpoint seen by several xdist workers (a shared endpoint): counts add up, the
        percentiles are recomputed over every worker's latencies."""
        latencies = self.latencies + other.latencies
        client = self.client_calls_ms + other.client_calls_ms
        teardown = self.teardown if self.teardown is not TeardownStatus.PENDING else other.teardown
        return dataclasses.replace(
            self,
            deploy_seconds=max(self.deploy_seconds, other.deploy_seconds),
            invocations=self.invocations + other.invocations,
            rows=self.rows + other.rows,
            bytes_sent=self.bytes_sent + other.bytes_sent,
            errors=self.errors + other.errors,
            retries=self.retries + other.retries,
            timeouts=self.timeouts + other.timeouts,
            latency_ms=latency_summary(latencies),
            teardown=teardown,
            manual_commands=self.manual_commands or other.manual_commands,
            invoked=self.invoked or other.invoked,
            latencies=latencies,
            client_ms=client_summary(client),
            client_calls_ms=client,
        )

    def summary_lines(self) -> list[str]:
        runs_on = "endpoint" if self.kind == "serverless" else "instances"
        lines = [
            f"{self.name} ({self.backend}, {self.region}): "
            f"deployed in {self.deploy_seconds:.2f} s, teardown {self.teardown}",
            f"  model: {self.source or 'unknown'}; {runs_on}: {self.capacity}",
        ]
        if self.serving_runtime:
            lines.append(f"  served by: {self.serving_runtime}")
        if self.invoked:
            line = (
                f"  sm_invoke: {self.invocations} requests, {self.rows} rows, "
                f"{self.bytes_sent / 1e6:.1f} MB sent, {self.errors} errors, "
                f"{self.retries} retries"
            )
            if self.timeouts:
                line += f", {self.timeouts} timeouts"
            if self.latency_ms.get("max") is not None:
                line += "; latency ms " + ", ".join(
                    f"{key} {value:.1f}" for key, value in self.latency_ms.items()
                )
            if self.client_ms.get("calls"):
                client = self.client_ms
                line += (
                    f"; client ms per call p50 {client['p50']:.2f}, p95 {client['p95']:.2f}, "
                    f"max {client['max']:.2f} ({client['calls']} calls, "
                    f"{(client['total'] or 0) / 1000:.2f} s in all)"
                )
            lines.append(line)
        if self.teardown in TEARDOWN_NOTES:
            lines.append(TEARDOWN_NOTES[self.teardown])
        lines += [f"  {command}" for command in self.manual_commands]
        return lines


def client_summary(client_ms: Sequence[float]) -> dict[str, float | int | None]:
    """The calls' client overhead: how many, p50/p95/p99/max as for latencies, and the total."""
    return {"calls": len(client_ms), **latency_summary(client_ms), "total": sum(client_ms)}


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99 (linear interpolation, as numpy's default and InvocationStats.percentile)
    and max of the invoker's own latencies."""
    if not latencies_ms:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(latencies_ms)
    summary: dict[str, float | None] = {key: percentile(ordered, q) for key, q in PERCENTILES}
    summary["max"] = ordered[-1]
    return summary


@dataclass(frozen=True)
class SessionReport:
    """Everything the session reports: endpoints, recorded metrics and gate results."""

    endpoints: tuple[EndpointReport, ...]
    metrics: Mapping[str, tuple[Observed, ...]]
    gates: tuple[GateResult, ...] = ()
    report_path: str | None = None
    write_error: str | None = None
    comparisons: tuple[ComparisonSummary, ...] = ()  # sm_compare calls, in order
    # Other documents written at the end (Markdown summary, HTML page): (what, path, error).
    documents: tuple[tuple[str, str, str | None], ...] = ()
    # --sm-image-packages: "image", or "test-env" (every result is then marked as not the
    # image's packages).
    image_packages: str = "image"
    transforms: tuple[TransformReport, ...] = ()  # sm_transform's jobs, in order

    @property
    def packages_warning(self) -> str | None:
        """The line every output leads with when the models were not served by their images'
        packages."""
        if self.image_packages != "test-env":
            return None
        return (
            "NOT the image's packages: models were served with the test environment's Python "
            "and packages (--sm-image-packages=test-env); a model that passes here may fail on "
            "SageMaker"
        )

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
        for comparison in self.comparisons:  # every comparison must meet a gate on its figures
            for name, value in comparison.figures.items():
                observed.setdefault(name, []).append(
                    Observed(value, f"comparison {comparison.name}")
                )
        for name, values in transform_figures(self.transforms).items():
            observed[name] = [Observed(value, origin) for value, origin in values]
        return observed

    def with_gates(self, gates: Iterable[Gate]) -> SessionReport:
        return dataclasses.replace(self, gates=tuple(evaluate(gates, self.figures())))

    def to_json(self, exit_status: int | None = None) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "exit_status": exit_status,
            "image_packages": self.image_packages,
            "endpoints": [endpoint.to_json() for endpoint in self.endpoints],
            "metrics": {name: _metric_json(values) for name, values in self.metrics.items()},
            "gates": [result.to_json() for result in self.gates],
            "gates_met": self.gates_met,
            "comparisons": [comparison.to_json() for comparison in self.comparisons],
            "transforms": [job.to_json() for job in self.transforms],
        }

    def write(self, path: str, exit_status: int | None = None) -> None:
        """Write the JSON atomically: a CI step reading it never sees half a file."""
        from pytest_smendpoint.reporting.documents import replace_text

        replace_text(path, json.dumps(self.to_json(exit_status), indent=2, allow_nan=False) + "\n")

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
                "kind",
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
            for key, value in endpoint.client_ms.items():
                properties.append((f"{prefix}.client_ms.{key}", _text(value)))
        for name, values in self.metrics.items():
            properties.append((f"smendpoint.metric.{name}", _text(_metric_json(values))))
        for comparison in self.comparisons:
            for name, value in comparison.figures.items():
                properties.append((f"smendpoint.compare.{comparison.name}.{name}", _text(value)))
        for job in self.transforms:
            for key in ("status", "rows", "objects", "call_seconds", "rows_per_second"):
                value = job.to_json()[key]
                properties.append((f"smendpoint.transform.{job.job_name}.{key}", _text(value)))
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
        lines = [(self.packages_warning, True)] if self.packages_warning else []
        lines += [
            (line, e.teardown is TeardownStatus.FAILED)
            for e in self.endpoints
            for line in e.summary_lines()
        ]
        if self.metrics:
            shown = ", ".join(
                f"{name} {_text(_metric_json(values))}" for name, values in self.metrics.items()
            )
            lines.append((f"metrics: {shown}", False))
        for comparison in self.comparisons:
            lines += [(line, False) for line in comparison.summary_lines()]
        for job in self.transforms:
            lines += [(line, not job.completed) for line in job.summary_lines()]
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
        for what, path, error in self.documents:
            if error:
                lines.append((f"{what}: could not write {path}: {error}", True))
            else:
                lines.append((f"{what}: {path}", False))
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
    comparisons: Sequence[ComparisonSummary] = (),
    image_packages: str = "image",
    transforms: Sequence[Any] = (),
) -> SessionReport:
    """This process's endpoints, metrics and comparisons, plus those pytest-xdist workers sent
    back."""
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
    compared = list(comparisons)
    for payload in worker_payloads:
        compared += [ComparisonSummary.from_json(item) for item in payload.get("comparisons", ())]
    jobs = [TransformReport.from_record(record) for record in transforms]
    for payload in worker_payloads:
        jobs += [TransformReport.from_json(item) for item in payload.get("transforms", ())]
    return SessionReport(
        endpoints=tuple(by_name.values()),
        metrics={name: tuple(values) for name, values in observed.items()},
        report_path=report_path,
        comparisons=tuple(compared),
        image_packages=image_packages,
        transforms=tuple(jobs),
    )


def worker_payload(
    worker: str,
    records: Iterable[Any],
    invocation_stats: Mapping[str, Any],
    metrics: Mapping[str, float],
    comparisons: Sequence[ComparisonSummary] = (),
    transforms: Sequence[Any] = (),
) -> dict[str, Any]:
    """What an xdist worker sends its controller (through `config.workeroutput`): plain JSON."""
    return {
        "worker": worker,
        "endpoints": [
            {
                **report.to_json(),
                WORKER_LATENCIES: list(report.latencies),
                WORKER_CLIENT_MS: list(report.client_calls_ms),
            }
            for report in (
                EndpointReport.from_record(record, invocation_stats.get(record.name))
                for record in records
            )
        ],
        "metrics": dict(metrics),
        "comparisons": [
            {**item.to_json(), POINTS_KEY: [list(point) for point in item.points]}
            for item in comparisons
        ],
        "transforms": [TransformReport.from_record(record).to_json() for record in transforms],
    }


def _fields(settings: Any, keys: tuple[str, ...]) -> dict[str, Any] | None:
    """A ServerlessSettings / AsyncSettings as its JSON entry (None stays None)."""
    if settings is None:
        return None
    return {key: getattr(settings, key, None) for key in keys}
