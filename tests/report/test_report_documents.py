"""The report as documents people read: the Markdown job summary and the HTML report, read back
through parsers (a Markdown table parser, the stdlib html.parser), never compared as snapshots;
and their paths checked at start-up."""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from helpers.container_setup import SKLEARN_ENV_ARGS
from helpers.markdown_tables import parse_markdown_tables, title

from pytest_smendpoint.aws.records import TeardownStatus
from pytest_smendpoint.reporting.comparisons import ComparisonSummary, WorstRow
from pytest_smendpoint.reporting.gates import Observed
from pytest_smendpoint.reporting.html_report import html_page, html_section
from pytest_smendpoint.reporting.markdown import markdown_summary
from pytest_smendpoint.reporting.report import EndpointReport, SessionReport, latency_summary
from pytest_smendpoint.settings.options import Gate

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
LATENCIES = (10.0, 12.0, 15.0, 30.0, 11.0)


def endpoint(name: str = "pytest-sm-1", **changes: Any) -> EndpointReport:
    values: dict[str, Any] = {
        "name": name,
        "backend": "moto",
        "region": "us-east-1",
        "source": "model data /m",
        "instance_type": "ml.c5.large",
        "instance_count": 2,
        "deploy_seconds": 0.25,
        "invocations": 5,
        "rows": 150,
        "bytes_sent": 1000,
        "errors": 0,
        "retries": 0,
        "latency_ms": latency_summary(LATENCIES),
        "teardown": TeardownStatus.DELETED,
        "invoked": True,
        "latencies": LATENCIES,
    }
    values.update(changes)
    return EndpointReport(**values)


def comparison() -> ComparisonSummary:
    return ComparisonSummary(
        name="holdout",
        candidate="pytest-sm-1",
        baseline="prod|uction",  # a pipe must stay inside its Markdown cell
        rows=4,
        threshold=0.5,
        metric="accuracy",
        figures={"agreement": 0.75, "disagreements": 1.0, "accuracy_delta": 0.25},
        worst=(WorstRow("r3", True, False, 0.4, {"x": 0.7, "note": "a|b"}),),
        crosstab=((False, False, 2), (True, False, 1), (True, True, 1)),
        points=((0.1, 0.1), (0.2, 0.25), (0.3, 0.7), (0.9, 0.9)),
    )


def session_report() -> SessionReport:
    report = SessionReport(
        endpoints=(endpoint(), endpoint("production", teardown=TeardownStatus.NOT_OWNED)),
        metrics={"auc": (Observed(0.93),)},
        comparisons=(comparison(),),
    )
    return report.with_gates(
        [
            Gate("auc", ">=", 0.9),
            Gate("agreement", ">=", 0.98),
            Gate("p99_ms", "<=", 500),
            Gate("accuracy_delta", ">=", 0.5),
        ]
    )


def test_markdown_has_a_table_per_endpoint_metrics_comparisons_and_missed_gates_first() -> None:
    text = markdown_summary(session_report(), exit_status=1)
    assert title(text) == "smendpoint: gates: 2 of 4 MISSED; pytest exit status 1"
    tables = parse_markdown_tables(text)
    assert [row["result"] for row in tables["Gates"]] == ["MISSED", "MISSED", "met", "met"]
    assert tables["Gates"][0] == {
        "result": "MISSED",
        "gate": "agreement>=0.98",
        "value": "0.75",
        "detail": "agreement = 0.75 (comparison holdout)",
    }
    assert [row["gate"] for row in tables["Gates"]] == [
        "agreement>=0.98",
        "accuracy_delta>=0.5",
        "auc>=0.9",
        "p99_ms<=500",
    ]
    fields = {row["field"]: row["value"] for row in tables["Endpoint pytest-sm-1"]}
    assert fields == {
        "name": "pytest-sm-1",
        "backend": "moto (us-east-1)",
        "endpoint kind": "real-time",
        "instance type": "ml.c5.large",
        "instance count": "2",
        "served by": "not recorded",
        "deploy time (s)": "0.25",
        "invocations": "5",
        "rows": "150",
        "errors": "0",
        "latency p50 (ms)": "12",
        "latency p95 (ms)": "27",
        "latency p99 (ms)": "29.4",
        "latency max (ms)": "30",
        "teardown": "deleted",
    }
    assert {r["field"]: r["value"] for r in tables["Endpoint production"]}["teardown"] == (
        "not owned"
    )
    assert tables["Metrics"] == [{"metric": "auc", "value": "0.93"}]
    heading = (
        "Comparison holdout: pytest-sm-1 (candidate) vs prod|uction (baseline) (scores cut at 0.5)"
    )
    assert {row["figure"]: row["value"] for row in tables[heading]} == {
        "agreement": "0.75",
        "disagreements": "1",
        "accuracy_delta": "0.25",
    }
    assert tables["Rows that differ most in comparison holdout"] == [
        {
            "index": "r3",
            "candidate": "True",
            "baseline": "False",
            "abs diff": "0.4",
            "x": "0.7",
            "note": "a|b",
        }
    ]
    assert len(tables["Labels of comparison holdout"]) == 3


def test_markdown_without_gates_says_so() -> None:
    text = markdown_summary(SessionReport(endpoints=(endpoint(),), metrics={}))
    assert title(text) == "smendpoint: no gates"
    assert list(parse_markdown_tables(text)) == ["Endpoint pytest-sm-1"]


class Page(HTMLParser):
    """What the tests look at in the HTML: tables (caption, headers, rows), charts, resources."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, Any]] = {}
        self.svgs: list[dict[str, Any]] = []
        self.section_ids: list[str] = []
        self.external: list[str] = []
        self._table: dict[str, Any] | None = None
        self._row: list[str] | None = None
        self._text: list[str] | None = None
        self._row_class: str | None = None
        self._in_svg = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "section" and attributes.get("id"):
            self.section_ids.append(str(attributes["id"]))
        for name in ("src", "href"):
            value = attributes.get(name)
            if value and not value.startswith(("#", "data:")):
                self.external.append(value)
        if tag == "svg":
            self._in_svg = True
            self.svgs.append({"label": attributes.get("aria-label"), "bars": 0, "points": 0})
        elif self._in_svg and tag == "rect" and attributes.get("class") == "bar":
            self.svgs[-1]["bars"] += 1
            self.svgs[-1].setdefault("counts", []).append(int(attributes["data-count"] or 0))
        elif self._in_svg and tag == "circle" and attributes.get("class") == "point":
            self.svgs[-1]["points"] += 1
        elif tag == "table":
            self._table = {"caption": "", "headers": [], "rows": [], "missed_rows": 0}
        elif tag == "tr":
            self._row = []
            self._row_class = attributes.get("class")
        elif tag in ("th", "td", "caption"):
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._in_svg = False
        elif tag == "caption" and self._table is not None and self._text is not None:
            self._table["caption"] = "".join(self._text)
            self._text = None
        elif tag in ("th", "td") and self._row is not None and self._text is not None:
            self._row.append("".join(self._text))
            self._text = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            if not self._table["headers"]:
                self._table["headers"] = self._row
            else:
                self._table["rows"].append(self._row)
                self._table["missed_rows"] += self._row_class == "missed"
            self._row = None
        elif tag == "table" and self._table is not None:
            self.tables[self._table["caption"]] = self._table
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def parse_html(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def test_html_page_holds_the_same_tables_a_latency_histogram_and_a_score_scatter() -> None:
    report = session_report()
    page = parse_html(html_page(report, exit_status=1))
    markdown = parse_markdown_tables(markdown_summary(report, 1))
    assert page.section_ids == ["smendpoint"]
    assert page.external == []  # self-contained
    assert set(page.tables) == set(markdown)
    for caption, table in page.tables.items():
        rows = [dict(zip(table["headers"], row, strict=True)) for row in table["rows"]]
        assert rows == markdown[caption], caption
    assert page.tables["Gates"]["missed_rows"] == 2
    histograms = [svg for svg in page.svgs if svg["bars"]]
    assert [svg["label"] for svg in histograms] == [
        "sm_invoke latency, pytest-sm-1",
        "sm_invoke latency, production",
    ]
    assert sum(histograms[0]["counts"]) == len(LATENCIES)
    [scatter] = [svg for svg in page.svgs if svg["points"]]
    assert scatter == {"label": "scores, comparison holdout", "bars": 0, "points": 4}


def test_html_section_is_one_section_for_pytest_html() -> None:
    page = parse_html(html_section(SessionReport(endpoints=(), metrics={})))
    assert page.section_ids == ["smendpoint"] and page.tables == {} and page.svgs == []


def run_with_model(pytester: pytest.Pytester, model: Path, *args: str) -> pytest.RunResult:
    pytester.makepyfile(
        """
        from sklearn.datasets import load_iris

        def test_predict(sm_invoke, sm_metrics):
            features, labels = load_iris(return_X_y=True, as_frame=True)
            sm_invoke(features, max_rows_per_request=30)
            sm_metrics.record("auc", 0.9)
        """
    )
    return pytester.runpytest(
        f"--sm-model-data={model}", f"--sm-image-uri={IMAGE}", *SKLEARN_ENV_ARGS, *args
    )


@pytest.mark.slow
def test_pytest_html_report_gets_the_section_and_sm_report_html_the_same_page(
    pytester: pytest.Pytester, sklearn_model_dir: Path
) -> None:
    pytest.importorskip("pytest_html")
    result = run_with_model(
        pytester,
        sklearn_model_dir,
        "--html=pytest.html",
        "--self-contained-html",
        "--sm-report-html=out.html",
        "--sm-gate=auc>=0.95",
    )
    result.assert_outcomes(passed=1)
    assert result.ret == 1
    for name in ("pytest.html", "out.html"):
        page = parse_html((pytester.path / name).read_text())
        assert "smendpoint" in page.section_ids, name
        assert page.tables["Gates"]["rows"] == [["MISSED", "auc>=0.95", "0.9", "auc = 0.9"]], name
        [endpoint_table] = [t for c, t in page.tables.items() if c.startswith("Endpoint ")]
        fields = dict(endpoint_table["rows"])
        assert (fields["invocations"], fields["rows"], fields["errors"]) == ("5", "150", "0")
        [histogram] = [svg for svg in page.svgs if svg.get("counts")]
        assert sum(histogram["counts"]) == 5
    result.stdout.fnmatch_lines([f"html report: {pytester.path / 'out.html'}"])


@pytest.mark.slow
def test_without_pytest_html_sm_report_html_writes_the_page_on_its_own(
    pytester: pytest.Pytester, sklearn_model_dir: Path
) -> None:
    result = run_with_model(pytester, sklearn_model_dir, "-p", "no:html", "--sm-report-html=r.html")
    result.assert_outcomes(passed=1)
    page = parse_html((pytester.path / "r.html").read_text())
    assert page.section_ids == ["smendpoint"] and page.external == []
    assert page.tables["Metrics"]["rows"] == [["auc", "0.9"]]


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in (root ignores permission bits: use sysfs)."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o500)
        return folder
    folder = Path("/sys/kernel")
    try:
        (folder / "sm-probe.md").open("x").close()
    except OSError:
        return folder
    pytest.skip("no folder here refuses a new file to root")


def usage_error(result: pytest.RunResult, message: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stderr.str()
    assert f"ERROR: {message}" in result.stderr.lines
    result.stdout.no_fnmatch_line("collected *")


def test_unwritable_summary_and_html_paths_stop_the_run_at_start_up(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    locked = unwritable_folder(tmp_path)
    (pytester.path / "out").mkdir()
    missing = pytester.path / "no" / "such"
    usage_error(
        pytester.runpytest(f"--sm-summary-md={locked}/summary.md"),
        f"--sm-summary-md={locked}/summary.md (command line): cannot be written: Permission denied",
    )
    usage_error(
        pytester.runpytest("--sm-summary-md=no/such/summary.md"),
        f"--sm-summary-md=no/such/summary.md (command line): the folder {missing} does not exist",
    )
    usage_error(
        pytester.runpytest("--sm-report-html=out"),
        "--sm-report-html=out (command line): is a folder, not a file",
    )
    pytester.makeini("[pytest]\nsm_summary_md = out\n")
    usage_error(pytester.runpytest(), "sm_summary_md = out in tox.ini: is a folder, not a file")
    assert sorted(p.name for p in pytester.path.iterdir()) == ["out", "tox.ini"]


def test_unwritable_github_step_summary_stops_the_run_at_start_up(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = pytester.path / "gone" / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(missing))
    usage_error(
        pytester.runpytest(),
        f"GITHUB_STEP_SUMMARY={missing} (environment): the folder {missing.parent} does not exist",
    )


def test_github_step_summary_is_left_alone_by_a_suite_that_never_used_the_plugin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pytester.path / "step.md"
    summary.write_text("before\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makepyfile("def test_plain(): pass")
    pytester.runpytest().assert_outcomes(passed=1)
    assert summary.read_text() == "before\n"
