"""The report, gates and progress through the plugin, as users run them (pytester, moto default):
terminal summary, --sm-report JSON, --junitxml properties and exit codes."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from helpers.container_setup import ROW_KEEPING_SCRIPT, SKLEARN_ENV_ARGS

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"

INVOKING_TESTS = """
import json
from sklearn.datasets import load_iris

def test_accuracy(sm_invoke, sm_metrics):
    features, labels = load_iris(return_X_y=True, as_frame=True)
    predicted = sm_invoke(features)
    sm_invoke.rows(features.head(5))
    sm_metrics.record("accuracy", float((predicted.to_numpy() == labels.to_numpy()).mean()))

def test_zz_dump_the_invokers_own_counters(sm_invoke):
    with open({dump!r}, "w") as handle:
        json.dump(sm_invoke.stats.latencies_ms, handle)
"""


def test_summary_json_and_junitxml_report_the_invokers_own_figures(
    pytester: pytest.Pytester, sklearn_model_dir: Path
) -> None:
    dump = pytester.path / "latencies.json"
    pytester.makepyfile(INVOKING_TESTS.format(dump=str(dump)))
    report_file = pytester.path / "out" / "report.json"
    report_file.parent.mkdir()
    model_dir = pytester.path / "model"  # sm_invoke.rows: single rows must stay 2-D
    shutil.copytree(sklearn_model_dir, model_dir)
    (model_dir / "code" / "inference.py").write_text(ROW_KEEPING_SCRIPT)
    result = pytester.runpytest(
        f"--sm-model-data={model_dir}",
        f"--sm-image-uri={IMAGE}",
        *SKLEARN_ENV_ARGS,
        "--sm-instance-type=ml.c5.large",
        "--sm-max-rows-per-request=40",
        "--sm-report=out/report.json",
        "--junitxml=junit.xml",
        "--sm-gate=accuracy>=0.9",
        "--sm-gate=p99_ms<=60000",
        "--sm-gate=errors<=0",
    )
    assert result.ret == 0
    result.assert_outcomes(passed=2)
    # Moto is InService at the first poll: the final progress line, in the captured output.
    result.stdout.fnmatch_lines(
        ["smendpoint: endpoint pytest-sm-* InService after 0 s (ml.c5.large x 1)"]
    )
    result.stdout.fnmatch_lines(
        [
            "*= smendpoint =*",
            "pytest-sm-* (moto, us-east-1): deployed in * s, teardown deleted",
            f"  model: model data {model_dir}; instances: ml.c5.large x 1",
            "  sm_invoke: 9 requests, 155 rows, 0.0 MB sent, 0 errors, 0 retries; "
            "latency ms p50 *, p95 *, p99 *, max *",
            "metrics: accuracy 0.9*",
            "gates: all 3 met",
            "  met    accuracy>=0.9: accuracy = 0.9*",
            "  met    p99_ms<=60000: p99_ms = * (endpoint pytest-sm-*)",
            "  met    errors<=0: errors = 0",
            f"report: {report_file}",
        ]
    )
    latencies = json.loads(dump.read_text())
    data = json.loads(report_file.read_text())
    [endpoint] = data["endpoints"]
    assert endpoint["name"].startswith("pytest-sm-")
    assert (endpoint["backend"], endpoint["instance_type"], endpoint["instance_count"]) == (
        "moto",
        "ml.c5.large",
        1,
    )
    assert (endpoint["invocations"], endpoint["rows"], endpoint["errors"]) == (9, 155, 0)
    assert endpoint["teardown"] == "deleted" and endpoint["deploy_seconds"] > 0
    assert len(latencies) == 9
    assert endpoint["latency_ms"] == pytest.approx(
        {
            "p50": np.percentile(latencies, 50),
            "p95": np.percentile(latencies, 95),
            "p99": np.percentile(latencies, 99),
            "max": max(latencies),
        }
    )
    assert data["metrics"]["accuracy"] > 0.9
    assert [(g["gate"], g["met"]) for g in data["gates"]] == [
        ("accuracy>=0.9", True),
        ("p99_ms<=60000", True),
        ("errors<=0", True),
    ]
    assert data["exit_status"] == 0 and data["gates_met"] is True

    suite = ET.parse(pytester.path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    properties = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
    name = endpoint["name"]
    assert properties[f"smendpoint.{name}.teardown"] == "deleted"
    assert properties[f"smendpoint.{name}.invocations"] == "9"
    assert properties[f"smendpoint.{name}.instance_type"] == "ml.c5.large"
    assert float(properties[f"smendpoint.{name}.latency_ms.p99"]) == pytest.approx(
        endpoint["latency_ms"]["p99"], rel=1e-5
    )
    assert properties["smendpoint.metric.accuracy"].startswith("0.9")
    assert properties["smendpoint.gate.errors<=0"] == "met: errors = 0"


GATED_METRICS = """
def test_quality(sm_metrics):
    sm_metrics.record("auc", 0.9)
    sm_metrics.record("latency_budget_used", 0.5)
"""


def test_missed_gate_fails_a_session_whose_tests_all_passed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(GATED_METRICS)
    result = pytester.runpytest(
        "--sm-gate=auc>=0.92",
        "--sm-gate=latency_budget_used<1",
        "--sm-gate=f1>=0.8",
        "--sm-report=report.json",
    )
    result.assert_outcomes(passed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*= smendpoint =*",
            "metrics: auc 0.9, latency_budget_used 0.5",
            "gates: 2 of 3 MISSED: the session fails",
            "  MISSED auc>=0.92: auc = 0.9",
            "  met    latency_budget_used<1: latency_budget_used = 0.5",
            "  MISSED f1>=0.8: f1 was never recorded: "
            'no test called sm_metrics.record("f1", value)',
        ]
    )
    data = json.loads((pytester.path / "report.json").read_text())
    assert data["exit_status"] == 1 and data["gates_met"] is False
    assert data["endpoints"] == [] and data["metrics"] == {"auc": 0.9, "latency_budget_used": 0.5}


def test_met_gates_from_the_ini_leave_the_exit_code_alone(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsm_gate =\n    auc>=0.85\n    auc<=1\n")
    pytester.makepyfile(GATED_METRICS)
    result = pytester.runpytest()
    assert result.ret == 0
    result.stdout.fnmatch_lines(["gates: all 2 met"])


def test_latency_gate_without_any_invocation_misses(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(GATED_METRICS)
    result = pytester.runpytest("--sm-gate=p99_ms<=200")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["  MISSED p99_ms<=200: p99_ms was never measured: no test called sm_invoke"]
    )


def test_report_is_written_when_tests_fail(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_records_then_fails(sm_metrics):
            sm_metrics.record("auc", 0.99)
            assert False
        """
    )
    result = pytester.runpytest("--sm-report=report.json", "--sm-gate=auc>=0.9")
    result.assert_outcomes(failed=1)
    assert result.ret == 1
    data = json.loads((pytester.path / "report.json").read_text())
    assert data["exit_status"] == 1 and data["gates_met"] is True


def test_collect_only_checks_no_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(GATED_METRICS)
    result = pytester.runpytest("--collect-only", "--sm-gate=auc>=0.92")
    assert result.ret == 0
    assert "MISSED" not in result.stdout.str()


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_gates_see_metrics_recorded_in_xdist_workers(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("part", range(4))
        def test_part(sm_metrics, part):
            sm_metrics.record(f"part{part}", part / 10)
        """
    )
    result = pytester.runpytest_subprocess(
        "-n", "2", "--sm-report=report.json", "--sm-gate=part3>=0.3", "--sm-gate=part0>0"
    )
    result.assert_outcomes(passed=4)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["  MISSED part0>0: part0 = 0 (worker gw*)"])
    data = json.loads((pytester.path / "report.json").read_text())
    assert data["metrics"] == {"part0": 0.0, "part1": 0.1, "part2": 0.2, "part3": 0.3}
    assert [g["met"] for g in data["gates"]] == [True, False]
