"""pytest wiring: options, settings, fixtures and the session-end safety net.

No AWS calls and no parsing here; heavy modules (boto3, moto, pandas, sagemaker) are imported
inside the fixtures that need them, so a suite that uses none of them pays nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from pytest_smendpoint import hookspecs
from pytest_smendpoint.settings.naming import SessionIdentity
from pytest_smendpoint.settings.options import Settings, add_options, build_settings

if TYPE_CHECKING:
    import boto3

    from pytest_smendpoint.aws.backends import Backend
    from pytest_smendpoint.aws.records import EndpointRecord
    from pytest_smendpoint.endpoints.factory import EndpointFactory
    from pytest_smendpoint.endpoints.provider import EndpointProvider
    from pytest_smendpoint.invoke.compare import Comparer
    from pytest_smendpoint.invoke.invoker import Invoker
    from pytest_smendpoint.reporting.gates import MetricRecorder

BASELINE_FIXTURE_NAMES = frozenset({"sm_baseline_endpoint", "sm_baseline_invoke", "sm_compare"})
ENDPOINT_FIXTURES = frozenset({"sm_model", "sm_endpoint", "sm_predictor", "sm_invoke"})
NO_MODEL_SOURCE = (
    "no model source is configured: give --sm-model-data with --sm-image-uri, "
    "--sm-training-job or --sm-existing-endpoint (or the sm_model_data, sm_training_job, "
    "sm_existing_endpoint ini keys), or override the sm_model fixture in a conftest.py"
)


@dataclass
class SessionState:
    """What the plugin holds for the run: identity, open resources, what happened to them."""

    identity: SessionIdentity
    # Where endpoints come from, chosen once in pytest_configure: an xdist worker's share, or
    # None for this process (the provider module then loads on first use: start-up cost).
    chosen_provider: EndpointProvider | None = None
    open_stacks: list[contextlib.ExitStack] = field(default_factory=list)
    endpoints: list[EndpointRecord] = field(default_factory=list)
    # Per endpoint name, the invokers' counters (pytest_smendpoint.invoke.invoker.InvocationStats).
    invocation_stats: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # sm_metrics.record(name, value)
    worker_payloads: list[dict[str, Any]] = field(default_factory=list)  # from xdist workers
    # sm_compare calls (pytest_smendpoint.reporting.comparisons.ComparisonSummary).
    comparisons: list[Any] = field(default_factory=list)
    report: Any = None  # pytest_smendpoint.reporting.report.SessionReport, built at session end

    @contextlib.contextmanager
    def holding(self) -> Iterator[contextlib.ExitStack]:
        """An exit stack closed by the fixture, or by the safety net if the fixture never is."""
        stack = contextlib.ExitStack()
        self.open_stacks.append(stack)
        try:
            with stack:
                yield stack
        finally:
            if stack in self.open_stacks:
                self.open_stacks.remove(stack)

    @property
    def provider(self) -> EndpointProvider:
        if self.chosen_provider is None:
            from pytest_smendpoint.endpoints.provider import InProcessProvider

            self.chosen_provider = InProcessProvider()
        return self.chosen_provider

    def close_leftovers(self) -> None:
        while self.open_stacks:
            self.open_stacks.pop().close()


SETTINGS_KEY = pytest.StashKey[Settings]()
STATE_KEY = pytest.StashKey[SessionState]()
STOP_KEY = pytest.StashKey["_SignalStop"]()


class _SignalStop:
    """SIGTERM/SIGHUP while resources are held (signals.py): an orderly stop, exit 128 + N."""

    def __init__(self) -> None:
        from pytest_smendpoint.endpoints.signals import SignalGuard

        self.guard = SignalGuard()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        if nextitem is None:  # the last teardown takes the session's endpoint down too
            self.guard.finishing = True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Iterator[None]:
        try:
            return (yield)
        finally:
            self.guard.finishing = True  # session-end teardown: a signal must not cut it short

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Iterator[None]:
        result = yield
        if self.guard.exit_code is not None:
            session.exitstatus = self.guard.exit_code
        return result

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        state = config.stash[STATE_KEY]
        confirmed = [r.name for r in state.endpoints if getattr(r, "deletion_confirmed", None)]
        confirmed += [  # deleted by the xdist controller, reported by the workers
            entry.get("name")
            for payload in state.worker_payloads
            for entry in payload.get("endpoints", ())
            if entry.get("deletion_confirmed")
        ]
        for name in dict.fromkeys(confirmed):
            terminalreporter.write_line(
                f"smendpoint: deletion of {name} confirmed "
                "(DescribeEndpoint: not found or Deleting)"
            )
        note = self.guard.teardown_note()
        if note is not None:
            terminalreporter.write_line(note, red=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sm_endpoint(**overrides): this test's sm_endpoint, sm_invoke and sm_predictor are an "
        "endpoint with these settings overridden (model=, instance_type=, env=, ...)",
    )
    config.stash[SETTINGS_KEY] = build_settings(config)
    run_label = config.stash[SETTINGS_KEY].run_label
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the run's shared endpoints
        from pytest_smendpoint.endpoints.xdist_sharing import worker_provider

        provider = worker_provider(config)
        config.stash[STATE_KEY] = SessionState(provider.identity(run_label), provider)
    else:
        config.stash[STATE_KEY] = SessionState(SessionIdentity.new(run_label))
    config.stash[STOP_KEY] = _SignalStop()
    config.pluginmanager.register(config.stash[STOP_KEY], "smendpoint-signals")
    if _under_xdist(config):  # the controller's coordinator; imported only under xdist
        from pytest_smendpoint.endpoints import xdist_sharing

        xdist_sharing.configure(config, config.stash[SETTINGS_KEY], config.stash[STATE_KEY])


def _under_xdist(config: pytest.Config) -> bool:
    """This process is an xdist worker, or a controller that will start some."""
    return hasattr(config, "workerinput") or config.getoption("dist", "no") != "no"


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """`--sm-sweep[=AGE]`: list (or delete) what crashed sessions left, and run no tests."""
    if config.getoption("sm_sweep") is None and not config.getini("sm_sweep"):
        return None
    from pytest_smendpoint.aws.sweep import sweep_with_settings

    return sweep_with_settings(build_settings(config), lambda line: print(line, flush=True))


def pytest_report_header(config: pytest.Config) -> str:
    settings = config.stash[SETTINGS_KEY]
    region = settings.region or "boto3's default" + (
        ", else us-east-1" if settings.backend == "moto" else ""
    )
    return (
        f"smendpoint: backend={settings.backend}, region={region}, "
        f"model={settings.model_source or 'from the sm_model fixture'}, "
        f"instances={settings.instance_type} x {settings.instance_count}"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`@pytest.mark.sm_endpoint(**overrides)` is an indirect parameter of `sm_endpoint`, so
    pytest caches (and orders tests by) one endpoint per configuration."""
    marker = metafunc.definition.get_closest_marker("sm_endpoint")
    if marker is None or "sm_endpoint" not in metafunc.fixturenames:
        return
    from pytest_smendpoint.endpoints.overrides import (
        override_id,  # the overrides are checked in collection_modifyitems
    )

    overrides = dict(marker.kwargs)
    metafunc.parametrize("sm_endpoint", [overrides], indirect=True, ids=[override_id(overrides)])


@pytest.hookimpl(trylast=True)  # after -k/-m deselection: only tests that will run count
def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Fail at start-up, not mid-run, when a test needs an endpoint and nothing says which."""
    settings = session.config.stash[SETTINGS_KEY]
    configured: dict[str, Any] = {}
    # The factory and baseline modules load only for suites that use them (start-up cost).
    if any("sm_endpoint" in getattr(getattr(i, "callspec", None), "params", {}) for i in items):
        from pytest_smendpoint.endpoints.overrides import checked_item_overrides

        try:  # a marker's or indirect parameter's overrides, checked by the options' rules
            base_dir = session.config.invocation_params.dir
            configured = checked_item_overrides(settings, items, base_dir)
        except (TypeError, ValueError) as error:
            raise pytest.UsageError(str(error)) from None
    if settings.baseline_endpoint is None:
        for item in items:
            used = sorted(BASELINE_FIXTURE_NAMES & set(getattr(item, "fixturenames", ())))
            if used:
                from pytest_smendpoint.endpoints.baseline import NO_BASELINE

                raise pytest.UsageError(f"{item.nodeid} uses {used[-1]}, but {NO_BASELINE}")
    if settings.model_source is not None:
        return
    for item in items:
        if not ENDPOINT_FIXTURES & set(getattr(item, "fixturenames", ())):
            continue
        if item.nodeid in configured and configured[item.nodeid].has_own_source:
            continue  # its sm_endpoint parameter says what to deploy
        definitions = session._fixturemanager.getfixturedefs("sm_model", item)
        if definitions and definitions[-1].func.__module__ != __name__:
            continue  # a conftest overrides sm_model: it is the model source
        raise pytest.UsageError(f"{item.nodeid} needs an endpoint, but {NO_MODEL_SOURCE}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Safety net: anything a fixture still holds (its teardown never ran) is released here."""
    state = session.config.stash.get(STATE_KEY, None)
    if state is not None:
        state.close_leftovers()
        if _under_xdist(session.config):  # xdist controller: the run's endpoints, at the end
            from pytest_smendpoint.endpoints import xdist_sharing

            xdist_sharing.finish(session)
        _finish_report(session, state)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    """After the last test (endpoints torn down): the report as --junitxml properties. The
    junitxml plugin writes its file before our pytest_sessionfinish runs, so it is done here."""
    result = yield
    if not _has_report(session):
        return result
    try:
        from _pytest.junitxml import xml_key  # private, hence guarded
    except ImportError:
        return result
    xml = session.config.stash.get(xml_key, None)
    if xml is not None and hasattr(xml, "add_global_property"):
        for name, value in _session_report(session).junit_properties():
            xml.add_global_property(name, value)
    return result


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist controller: a worker's endpoints and metrics join the session report."""
    payload = getattr(node, "workeroutput", {}).get("smendpoint")
    if payload is not None:
        node.config.stash[STATE_KEY].worker_payloads.append(payload)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    report = state.report if state is not None else None
    if report is None or not (
        report.endpoints or report.metrics or report.gates or report.documents
    ):
        return
    terminalreporter.section("smendpoint")
    for line, red in report.summary_lines():
        terminalreporter.write_line(line, red=red)


def _has_report(session: pytest.Session) -> bool:
    """Anything to report: an endpoint, a metric, a worker's payload, a gate or a report file."""
    settings = session.config.stash[SETTINGS_KEY]
    state = session.config.stash[STATE_KEY]
    return bool(
        state.endpoints
        or state.metrics
        or state.worker_payloads
        or settings.gates
        or settings.report_path
        or settings.summary_md_path
        or settings.report_html_path
    )


def _session_report(session: pytest.Session) -> Any:
    """The report of this run; gates are checked only when tests ran (not --collect-only)."""
    from pytest_smendpoint.reporting.report import build_report

    settings = session.config.stash[SETTINGS_KEY]
    state = session.config.stash[STATE_KEY]
    report = build_report(
        state.endpoints,
        state.invocation_stats,
        state.metrics,
        worker_payloads=state.worker_payloads,
        report_path=settings.report_path,
        comparisons=state.comparisons,
        image_packages=settings.image_packages,
    )
    ran = session.testscollected > 0 and not session.config.option.collectonly
    return report.with_gates(settings.gates) if ran else report


def _finish_report(session: pytest.Session, state: SessionState) -> None:
    """A missed gate fails the session; the JSON report is written whatever happened."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: its controller reports
        from pytest_smendpoint.reporting.report import worker_payload

        workeroutput["smendpoint"] = worker_payload(
            getattr(session.config, "workerinput", {}).get("workerid", "?"),
            state.endpoints,
            state.invocation_stats,
            state.metrics,
            state.comparisons,
        )
        return
    if not _has_report(session):
        return  # nothing was deployed, recorded or asked for: a suite that never used the plugin
    state.report = _session_report(session)
    if not state.report.gates_met and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if state.report.report_path:
        state.report = state.report.written(int(session.exitstatus))
        if state.report.write_error and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    settings = session.config.stash[SETTINGS_KEY]
    if settings.summary_md_path or settings.step_summary_path or settings.report_html_path:
        from pytest_smendpoint.reporting.documents import write_documents

        state.report = write_documents(state.report, settings, int(session.exitstatus))
        failed = any(error for _, _, error in state.report.documents)
        if failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_summary(
    prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
) -> None:
    """pytest-html: its report gets the smendpoint section (pytest-html's own trylast
    sessionfinish, registered after this plugin, runs after _finish_report built the report)."""
    state = session.config.stash.get(STATE_KEY, None)
    if state is None or state.report is None:
        return
    from pytest_smendpoint.reporting.html_report import html_section

    postfix.append(html_section(state.report, int(session.exitstatus)))


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sm_settings(pytestconfig: pytest.Config) -> Settings:
    """The validated settings of this run."""
    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def sm_backend(pytestconfig: pytest.Config, sm_settings: Settings) -> Iterator[Backend]:
    """The started backend (moto account or AWS) for the session."""
    from pytest_smendpoint.aws.redaction import credentials_redacted

    state = pytestconfig.stash[STATE_KEY]
    with state.holding() as stack:
        stack.enter_context(pytestconfig.stash[STOP_KEY].guard.installed())
        backend = stack.enter_context(state.provider.open_backend(sm_settings))
        # botocore's DEBUG logs: credentials, and --sm-env values (CreateModel's body)
        stack.enter_context(
            credentials_redacted(backend.boto_session, also=sm_settings.env.values())
        )
        # After every endpoint (they depend on this fixture) is gone, and with credentials
        # still masked in the logs: the session's S3 uploads.
        stack.callback(state.provider.release_uploads, backend, sm_settings)
        yield backend


@pytest.fixture(scope="session")
def sm_boto_session(sm_backend: Backend) -> boto3.Session:
    """The boto3 session the plugin uses (under moto: the mocked account)."""
    return sm_backend.boto_session


@pytest.fixture(scope="session")
def sm_model(pytestconfig: pytest.Config, sm_settings: Settings, sm_backend: Backend) -> Any:
    """What to deploy. Override in a conftest to return a ModelSpec, an ExistingEndpoint or a
    SageMaker SDK v2 Model/Estimator; the default reads the settings."""
    if sm_settings.model_source is None:
        raise pytest.UsageError(NO_MODEL_SOURCE)
    from pytest_smendpoint.aws.resolve import resolve_from_settings
    from pytest_smendpoint.endpoints.deployment import aws_context
    from pytest_smendpoint.endpoints.provider import SESSION_MODEL_KEY

    state = pytestconfig.stash[STATE_KEY]
    context = aws_context(sm_backend, state.identity, sm_backend.client("sagemaker"))
    # Under pytest-xdist: resolved (a local folder packed and uploaded) once per run.
    return state.provider.resolved_model(
        lambda: resolve_from_settings(sm_settings, context), SESSION_MODEL_KEY
    )


@pytest.fixture(scope="session", name="_sm_session_endpoint")
def _session_endpoint(
    pytestconfig: pytest.Config,
    sm_settings: Settings,
    sm_backend: Backend,
    sm_model: Any,
    sm_endpoint_factory: EndpointFactory,
) -> EndpointRecord:
    """The session's own endpoint (the factory's default configuration): what `sm_endpoint`
    is when no marker or parameter says otherwise. It alone has a progress line."""
    from pytest_smendpoint.endpoints.provider import DeployHooks, opener

    state = pytestconfig.stash[STATE_KEY]
    hooks = DeployHooks.of(pytestconfig, state.endpoints.append)
    progress = _progress_printer(pytestconfig, sm_settings)
    session_opener = opener(
        state.provider, sm_backend, state.identity, hooks.with_progress(progress)
    )
    return sm_endpoint_factory.open_default(session_opener)


@pytest.fixture(scope="session")
def sm_endpoint(request: pytest.FixtureRequest) -> EndpointRecord:
    """The deployed endpoint (name, config_name, model_names, region, backend, deploy_seconds);
    under @pytest.mark.sm_endpoint(...) or an indirect parameter, that configuration's."""
    overrides = getattr(request, "param", None)
    if not overrides:
        record: EndpointRecord = request.getfixturevalue("_sm_session_endpoint")
        return record
    factory: EndpointFactory = request.getfixturevalue("sm_endpoint_factory")
    return factory.submit(factory.configure(overrides, "sm_endpoint parameter")).result()


@pytest.fixture(scope="session")
def sm_predictor(sm_endpoint: EndpointRecord, sm_boto_session: Any) -> Any:
    """SDK v2: a Predictor with a CSVSerializer; SDK v3: a sagemaker.core.resources.Endpoint."""
    from pytest_smendpoint.endpoints.predictors import make_predictor

    return make_predictor(sm_endpoint, sm_boto_session)


@pytest.fixture(scope="session")
def sm_invoke(
    pytestconfig: pytest.Config,
    sm_endpoint: EndpointRecord,
    sm_boto_session: Any,
    sm_settings: Settings,
) -> Invoker:
    """Call with a DataFrame: predictions for every row, aligned with its index
    (`sm_invoke.rows(df)` sends one request per row)."""
    return _counted_invoker(pytestconfig, sm_boto_session, sm_settings, sm_endpoint.name)


def _counted_invoker(
    config: pytest.Config, boto_session: Any, settings: Settings, endpoint_name: str
) -> Invoker:
    """An Invoker whose counters feed the session report: one count per endpoint, however
    often a marker or parameter switch re-creates the invoker."""
    from pytest_smendpoint.invoke.invoker import Invoker, make_runtime_client

    runtime = make_runtime_client(boto_session, settings.invoke)
    invoker = Invoker(runtime, endpoint_name, settings.invoke)
    stats = config.stash[STATE_KEY].invocation_stats
    invoker.stats = stats.setdefault(endpoint_name, invoker.stats)
    return invoker


@pytest.fixture(scope="session")
def sm_endpoint_factory(
    request: pytest.FixtureRequest,
    pytestconfig: pytest.Config,
    sm_settings: Settings,
    sm_backend: Backend,
) -> Iterator[EndpointFactory]:
    """`sm_endpoint_factory(**overrides)`: another endpoint (model=, instance_type=, env=, ...),
    deployed once per configuration, torn down at the session's end; `.many([...])` deploys
    several at once, `.deploy(...)` returns a Future."""
    from pytest_smendpoint.endpoints.factory import EndpointFactory
    from pytest_smendpoint.endpoints.provider import DeployHooks, opener, with_serial_clients

    state = pytestconfig.stash[STATE_KEY]
    provider = state.provider
    backend = with_serial_clients(sm_backend)
    hooks = DeployHooks.of(pytestconfig, state.endpoints.append)
    factory = EndpointFactory(
        sm_settings,
        opener(provider, backend, state.identity, hooks),
        name_base=provider.name_base(sm_settings, state.identity),
        base_dir=pytestconfig.invocation_params.dir,
        default_model=lambda: request.getfixturevalue("sm_model"),
        suffix=provider.name_suffix(backend, state.identity),
    )
    with state.holding() as stack:
        yield stack.enter_context(factory)


@pytest.fixture(scope="session")
def sm_baseline_endpoint(
    pytestconfig: pytest.Config, sm_settings: Settings, sm_backend: Backend
) -> Iterator[EndpointRecord]:
    """The --sm-baseline-endpoint endpoint, attached as it is (owned=False, never modified)."""
    from pytest_smendpoint.endpoints.baseline import open_baseline

    state = pytestconfig.stash[STATE_KEY]
    with state.holding() as stack:
        record = stack.enter_context(open_baseline(sm_settings, sm_backend, state.identity))
        state.endpoints.append(record)
        yield record


@pytest.fixture(scope="session")
def sm_baseline_invoke(
    pytestconfig: pytest.Config,
    sm_baseline_endpoint: EndpointRecord,
    sm_boto_session: Any,
    sm_settings: Settings,
) -> Invoker:
    """`sm_invoke` for the baseline endpoint: the same rows, production's predictions."""
    return _counted_invoker(pytestconfig, sm_boto_session, sm_settings, sm_baseline_endpoint.name)


@pytest.fixture(scope="session")
def sm_compare(
    pytestconfig: pytest.Config, sm_invoke: Invoker, sm_baseline_invoke: Invoker
) -> Comparer:
    """`sm_compare(df, threshold=0.5)`: the candidate (sm_invoke's endpoint) and the baseline
    on the same rows, at once; figures for the report and --sm-gate (agreement, ...)."""
    from pytest_smendpoint.invoke.compare import Comparer
    from pytest_smendpoint.reporting.comparisons import ComparisonSummary

    kept = pytestconfig.stash[STATE_KEY].comparisons
    return Comparer(
        sm_invoke,
        sm_baseline_invoke,
        lambda done: kept.append(ComparisonSummary.from_comparison(done)),
    )


@pytest.fixture(scope="session")
def sm_metrics(pytestconfig: pytest.Config) -> MetricRecorder:
    """Record figures for the session report and the --sm-gate thresholds:
    `sm_metrics.record("auc", 0.93)`."""
    from pytest_smendpoint.reporting.gates import MetricRecorder

    return MetricRecorder(pytestconfig.stash[STATE_KEY].metrics)


def _progress_printer(config: pytest.Config, settings: Settings) -> Any:
    """Deploy progress through the terminal reporter (a real deploy takes minutes)."""
    from pytest_smendpoint.reporting.progress import DeployProgress

    return DeployProgress.for_reporter(
        config.pluginmanager.get_plugin("terminalreporter"),
        config.pluginmanager.get_plugin("capturemanager"),
        settings.instance_type,
        settings.instance_count,
    )
