"""The report built from endpoint records and invoker counters: figures, teardown outcomes, the
JSON schema and the terminal lines, with no session around them."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from pytest_smendpoint.aws.records import EndpointRecord
from pytest_smendpoint.invoke.invoker import InvocationStats
from pytest_smendpoint.reporting.report import EndpointReport, SessionReport, build_report
from pytest_smendpoint.reporting.tables import endpoint_table
from pytest_smendpoint.settings.endpoint_kinds import (
    AsyncSettings,
    EndpointKind,
    ServerlessSettings,
)
from pytest_smendpoint.settings.options import Gate


def record(name: str = "ep", **changes: object) -> EndpointRecord:
    values: dict[str, object] = dict(
        name=name,
        config_name=name,
        model_names=(f"{name}-model",),
        region="eu-west-1",
        backend="aws",
        deploy_seconds=312.5,
        owned=True,
        instance_type="ml.m5.xlarge",
        instance_count=2,
        source="model data s3://b/m.tar.gz",
        teardown="deleted",
    )
    values.update(changes)
    return EndpointRecord(**values)  # type: ignore[arg-type]


def stats(
    latencies: list[float], errors: int = 0, client: tuple[float, ...] = ()
) -> InvocationStats:
    counters = InvocationStats(
        rows=100 * len(latencies),
        requests=len(latencies),
        bytes_sent=2_500_000,
        errors=errors,
        retries=1,
    )
    counters.latencies_ms.extend(latencies)
    counters.client_ms.extend(client)
    return counters


def test_latency_figures_are_the_invokers_own_percentiles() -> None:
    latencies = list(np.random.default_rng(7).gamma(2.0, 20.0, size=333))
    counters = stats(latencies)
    report = EndpointReport.from_record(record(), counters)
    assert report.latency_ms == pytest.approx(
        {"p50": counters.p50, "p95": counters.p95, "p99": counters.p99, "max": counters.max}
    )
    assert (report.invocations, report.rows, report.bytes_sent, report.errors, report.retries) == (
        333,
        33300,
        2_500_000,
        0,
        1,
    )


def test_json_has_the_documented_schema(tmp_path: Path) -> None:
    report = build_report(
        [record("a"), record("b", teardown="not owned", owned=False, deploy_seconds=0.0)],
        {"a": stats([10.0, 20.0, 30.0], client=(0.5, 0.25))},
        {"auc": 0.95},
        report_path=str(tmp_path / "r.json"),
    ).with_gates([Gate("auc", ">=", 0.9), Gate("p99_ms", "<=", 25)])
    report.written(exit_status=1)
    data = json.loads((tmp_path / "r.json").read_text())
    assert set(data) == {
        "schema_version",
        "exit_status",
        "image_packages",
        "endpoints",
        "metrics",
        "gates",
        "gates_met",
        "comparisons",
        "transforms",
    }
    assert data["comparisons"] == []  # sm_compare was not called
    assert data["transforms"] == []  # nor sm_transform
    a, b = data["endpoints"]
    for endpoint in (a, b):
        assert {
            "name",
            "backend",
            "instance_type",
            "instance_count",
            "deploy_seconds",
            "invocations",
            "rows",
            "errors",
            "latency_ms",
            "teardown",
        } <= set(endpoint)
        assert set(endpoint["latency_ms"]) == {"p50", "p95", "p99", "max"}
        assert set(endpoint["client_ms"]) == {"calls", "p50", "p95", "p99", "max", "total"}
    assert a["latency_ms"] == {"p50": 20.0, "p95": 29.0, "p99": 29.8, "max": 30.0}
    assert a["client_ms"] == pytest.approx(
        {"calls": 2, "p50": 0.375, "p95": 0.4875, "p99": 0.4975, "max": 0.5, "total": 0.75}
    )
    assert (a["invocations"], a["rows"], a["errors"], a["teardown"]) == (3, 300, 0, "deleted")
    assert a["model_names"] == ["a-model"] and a["owned"] is True  # the record's other fields
    assert b["teardown"] == "not owned" and b["invoked"] is False and b["invocations"] == 0
    assert b["latency_ms"] == {"p50": None, "p95": None, "p99": None, "max": None}
    assert b["client_ms"] == {
        "calls": 0,
        "p50": None,
        "p95": None,
        "p99": None,
        "max": None,
        "total": 0,
    }
    assert data["metrics"] == {"auc": 0.95}
    assert data["exit_status"] == 1 and data["gates_met"] is False
    assert data["gates"][1] == {
        "gate": "p99_ms<=25",
        "metric": "p99_ms",
        "operator": "<=",
        "threshold": 25.0,
        "value": 29.8,
        "met": False,
        "detail": "p99_ms = 29.8 (endpoint a)",
    }
    assert not list(tmp_path.glob(".sm-*"))  # no temporary file left behind


def test_summary_shows_every_figure_and_how_to_finish_a_failed_teardown() -> None:
    command = "aws sagemaker delete-endpoint --endpoint-name ep --region eu-west-1"
    report = build_report(
        [record(teardown="failed", manual_commands=[command])],
        {"ep": stats([5.0, 7.0], client=(0.5, 2000.5))},
        {},
    )
    assert report.summary_lines() == [
        ("ep (aws, eu-west-1): deployed in 312.50 s, teardown failed", True),
        ("  model: model data s3://b/m.tar.gz; instances: ml.m5.xlarge x 2", True),
        (
            "  sm_invoke: 2 requests, 200 rows, 2.5 MB sent, 0 errors, 1 retries; "
            "latency ms p50 6.0, p95 6.9, p99 7.0, max 7.0; "
            "client ms per call p50 1000.50, p95 1900.50, max 2000.50 (2 calls, 2.00 s in all)",
            True,
        ),
        ("  teardown FAILED: delete by hand with:", True),
        (f"  {command}", True),
    ]


def test_kept_and_not_owned_endpoints_say_what_became_of_them() -> None:
    report = build_report(
        [
            record("kept", teardown="kept", manual_commands=["aws sagemaker delete-endpoint x"]),
            record("prod", teardown="not owned", owned=False, instance_type=None),
        ],
        {},
        {},
    )
    lines = [line for line, _ in report.summary_lines()]
    assert lines == [
        "kept (aws, eu-west-1): deployed in 312.50 s, teardown kept",
        "  model: model data s3://b/m.tar.gz; instances: ml.m5.xlarge x 2",
        "  kept (--sm-keep-endpoint): delete it by hand with:",
        "  aws sagemaker delete-endpoint x",
        "prod (aws, eu-west-1): deployed in 312.50 s, teardown not owned",
        "  model: model data s3://b/m.tar.gz; instances: as deployed",
        "  an existing endpoint: nothing was created, nothing was deleted",
    ]


def test_counts_sum_over_endpoints_and_latency_gates_check_each_endpoint() -> None:
    report = build_report(
        [record("a"), record("b")],
        {"a": stats([10.0], errors=1), "b": stats([90.0, 100.0], errors=2)},
        {},
    ).with_gates([Gate("errors", "<=", 3), Gate("invocations", ">=", 4), Gate("max_ms", "<", 95)])
    assert [(r.met, r.detail) for r in report.gates] == [
        (True, "errors = 3 (sum over 2 endpoints)"),
        (False, "invocations = 3 (sum over 2 endpoints)"),
        (False, "max_ms = 100 (endpoint b); 1 of 2 values meet it"),
    ]


def test_xdist_workers_endpoints_and_metrics_join_the_controllers_report() -> None:
    from pytest_smendpoint.reporting.report import worker_payload

    payloads = [
        json.loads(json.dumps(worker_payload("gw0", [record("w0")], {"w0": stats([4.0])}, {}))),
        json.loads(json.dumps(worker_payload("gw1", [record("w1")], {}, {"auc": 0.91}))),
    ]
    report = build_report([], {}, {"auc": 0.95}, worker_payloads=payloads)
    assert [e.name for e in report.endpoints] == ["w0", "w1"]
    assert report.endpoints[0].latency_ms["p99"] == 4.0
    assert report.endpoints[0].config_name == "w0"
    assert report.to_json()["metrics"] == {"auc": [0.95, 0.91]}
    [gate] = report.with_gates([Gate("auc", ">=", 0.92)]).gates
    assert gate.detail == "auc = 0.91 (worker gw1); 1 of 2 values meet it"


def test_report_that_cannot_be_written_is_noted_not_raised(tmp_path: Path) -> None:
    target = tmp_path / "gone" / "r.json"
    report = SessionReport((), {}, report_path=str(target)).written(0)
    assert report.write_error is not None and report.write_error.startswith("FileNotFoundError")
    assert report.summary_lines() == [
        (f"report: could not write {target}: {report.write_error}", True)
    ]


@dataclass
class RecordWithNewField:
    """A later EndpointRecord with a field the report's schema does not name."""

    name: str = "ep"
    region: str = "us-east-1"
    backend: str = "moto"
    deploy_seconds: float = 1.0
    teardown: str = "deleted"
    deletion_confirmed: bool = True
    waiter: object = field(default_factory=object)  # not JSON: left out


def test_json_entries_hold_the_declared_schema_and_nothing_else() -> None:
    from pytest_smendpoint.reporting.report import ENDPOINT_JSON_KEYS

    data = EndpointReport.from_record(RecordWithNewField(), None).to_json()
    assert data["deletion_confirmed"] is True and "waiter" not in data
    assert tuple(data) == ENDPOINT_JSON_KEYS


def test_an_endpoint_shared_by_xdist_workers_is_one_entry_with_pooled_figures() -> None:
    from pytest_smendpoint.reporting.report import worker_payload

    first, second = stats([1.0, 2.0], client=(1.0,)), stats([3.0, 40.0], client=(3.0, 8.0))
    payloads = [
        json.loads(json.dumps(worker_payload("gw0", [record("s")], {"s": first}, {}))),
        json.loads(json.dumps(worker_payload("gw1", [record("s")], {"s": second}, {}))),
    ]
    [endpoint] = build_report([], {}, {}, worker_payloads=payloads).endpoints
    assert (endpoint.invocations, endpoint.rows) == (4, 400)
    pooled = [1.0, 2.0, 3.0, 40.0]
    assert endpoint.latency_ms == pytest.approx(
        {"p50": 2.5, "p95": np.percentile(pooled, 95), "p99": np.percentile(pooled, 99), "max": 40}
    )
    assert endpoint.client_ms == pytest.approx(
        {"calls": 3, "p50": 3.0, "p95": 7.5, "p99": 7.9, "max": 8.0, "total": 12.0}
    )
    assert "_latencies_ms" not in endpoint.to_json() and "_client_ms" not in endpoint.to_json()


SERVERLESS = ServerlessSettings(memory_mb=2048, max_concurrency=5, provisioned_concurrency=2)
ASYNC = AsyncSettings(enabled=True, output_path="s3://b/out/", invocation_timeout=900)


def serverless_record(name: str = "sl") -> EndpointRecord:
    return record(
        name,
        instance_type=None,
        instance_count=None,
        kind=EndpointKind.SERVERLESS,
        serverless=SERVERLESS,
    )


def test_a_serverless_endpoint_is_reported_by_its_configuration_not_instances() -> None:
    report = EndpointReport.from_record(serverless_record(), None)
    assert report.summary_lines()[1] == (
        "  model: model data s3://b/m.tar.gz; endpoint: serverless 2048 MB, max concurrency 5, "
        "provisioned concurrency 2"
    )
    data = report.to_json()
    assert (data["kind"], data["instance_type"], data["instance_count"]) == (
        "serverless",
        None,
        None,
    )
    assert data["serverless"] == {
        "memory_mb": 2048,
        "max_concurrency": 5,
        "provisioned_concurrency": 2,
    }
    assert data["async_inference"] is None
    fields = {row[0]: row[1] for row in endpoint_table(report).rows}
    assert "instance type" not in fields
    assert (fields["endpoint kind"], fields["memory (MB)"], fields["max concurrency"]) == (
        "serverless",
        "2048",
        "5",
    )
    assert fields["provisioned concurrency"] == "2"


def test_an_async_endpoint_is_reported_as_async_beside_its_instances() -> None:
    report = EndpointReport.from_record(
        record("as", kind=EndpointKind.ASYNC, async_inference=ASYNC), None
    )
    assert report.summary_lines()[1].endswith("; instances: ml.m5.xlarge x 2, async")
    data = report.to_json()
    assert (data["kind"], data["serverless"]) == ("async", None)
    assert data["async_inference"] == {
        "output_path": "s3://b/out/",
        "failure_path": None,
        "max_concurrent_invocations_per_instance": None,
        "invocation_timeout": 900,
    }
    fields = {row[0]: row[1] for row in endpoint_table(report).rows}
    assert (fields["endpoint kind"], fields["instance type"]) == ("async", "ml.m5.xlarge")


def test_a_real_time_endpoint_says_so_and_the_schema_version_says_the_kinds_are_there() -> None:
    from pytest_smendpoint.reporting.report import SCHEMA_VERSION

    data = EndpointReport.from_record(record(), None).to_json()
    assert (data["kind"], data["serverless"], data["async_inference"]) == ("real-time", None, None)
    assert SCHEMA_VERSION == 6


def test_a_serverless_record_crosses_from_an_xdist_worker_whole() -> None:
    from pytest_smendpoint.endpoints.xdist.shared import record_from_json, record_to_json
    from pytest_smendpoint.reporting.report import worker_payload

    for original in (
        serverless_record(),
        record("as", kind=EndpointKind.ASYNC, async_inference=ASYNC),
    ):
        back = record_from_json(json.dumps(record_to_json(original)))
        assert back == original
        assert back.capacity == original.capacity
    payload = json.loads(json.dumps(worker_payload("gw0", [serverless_record()], {}, {})))
    [endpoint] = build_report([], {}, {}, worker_payloads=[payload]).endpoints
    assert endpoint.kind == "serverless"
    assert endpoint.serverless == dataclasses.asdict(SERVERLESS)
