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

from . import hookspecs
from .naming import SessionIdentity
from .settings import Settings, add_options, build_settings

if TYPE_CHECKING:
    from .backends import Backend
    from .lifecycle import EndpointRecord

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
    open_stacks: list[contextlib.ExitStack] = field(default_factory=list)
    endpoints: list[EndpointRecord] = field(default_factory=list)
    # Per endpoint name, the invokers' counters (pytest_smendpoint.invoke.InvocationStats).
    invocation_stats: dict[str, Any] = field(default_factory=dict)

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

    def close_leftovers(self) -> None:
        while self.open_stacks:
            self.open_stacks.pop().close()


SETTINGS_KEY = pytest.StashKey[Settings]()
STATE_KEY = pytest.StashKey[SessionState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SETTINGS_KEY] = build_settings(config)
    config.stash[STATE_KEY] = SessionState(SessionIdentity.new())


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


@pytest.hookimpl(trylast=True)  # after -k/-m deselection: only tests that will run count
def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Fail at start-up, not mid-run, when a test needs an endpoint and nothing says which."""
    settings = session.config.stash[SETTINGS_KEY]
    if settings.model_source is not None:
        return
    for item in items:
        if not ENDPOINT_FIXTURES & set(getattr(item, "fixturenames", ())):
            continue
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


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.endpoints:
        return
    terminalreporter.section("smendpoint")
    for endpoint in state.endpoints:
        terminalreporter.write_line(
            f"{endpoint.name} ({endpoint.backend}, {endpoint.region}): "
            f"deployed in {endpoint.deploy_seconds:.2f} s, teardown {endpoint.teardown}"
        )
        stats = state.invocation_stats.get(endpoint.name)
        if stats is not None and stats.requests:
            terminalreporter.write_line(f"  sm_invoke: {stats.summary()}")
        for command in endpoint.manual_commands:
            terminalreporter.write_line(f"  {command}")


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sm_settings(pytestconfig: pytest.Config) -> Settings:
    """The validated settings of this run."""
    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def sm_backend(pytestconfig: pytest.Config, sm_settings: Settings) -> Iterator[Backend]:
    """The started backend (moto account or AWS) for the session."""
    from .backends import open_backend

    state = pytestconfig.stash[STATE_KEY]
    with state.holding() as stack:
        yield stack.enter_context(open_backend(sm_settings))


@pytest.fixture(scope="session")
def sm_boto_session(sm_backend: Backend) -> Any:
    """The boto3 session the plugin uses (under moto: the mocked account)."""
    return sm_backend.boto_session


@pytest.fixture(scope="session")
def sm_model(pytestconfig: pytest.Config, sm_settings: Settings, sm_backend: Backend) -> Any:
    """What to deploy. Override in a conftest to return a ModelSpec, an ExistingEndpoint or a
    SageMaker SDK v2 Model/Estimator; the default reads the settings."""
    if sm_settings.model_source is None:
        raise pytest.UsageError(NO_MODEL_SOURCE)
    from .deployment import aws_context
    from .resolve import resolve_from_settings

    identity = pytestconfig.stash[STATE_KEY].identity
    context = aws_context(sm_backend, identity, sm_backend.client("sagemaker"))
    return resolve_from_settings(sm_settings, context)


@pytest.fixture(scope="session")
def sm_endpoint(
    pytestconfig: pytest.Config, sm_settings: Settings, sm_backend: Backend, sm_model: Any
) -> Iterator[EndpointRecord]:
    """The deployed endpoint (name, config_name, model_names, region, backend, deploy_seconds)."""
    from .deployment import open_endpoint

    state = pytestconfig.stash[STATE_KEY]
    hook = pytestconfig.hook

    def adjust(model: Any, plan: Any) -> Any:
        return hook.pytest_smendpoint_before_deploy(config=pytestconfig, model=model, plan=plan)

    with state.holding() as stack:
        record = stack.enter_context(
            open_endpoint(
                sm_model,
                settings=sm_settings,
                backend=sm_backend,
                identity=state.identity,
                adjust=adjust,
                on_status=_progress_printer(pytestconfig),
            )
        )
        state.endpoints.append(record)
        stack.callback(hook.pytest_smendpoint_before_teardown, config=pytestconfig, endpoint=record)
        hook.pytest_smendpoint_after_deploy(config=pytestconfig, endpoint=record)
        yield record


@pytest.fixture(scope="session")
def sm_predictor(sm_endpoint: EndpointRecord, sm_boto_session: Any) -> Any:
    """SDK v2: a Predictor with a CSVSerializer; SDK v3: a sagemaker.core.resources.Endpoint."""
    from .predictors import make_predictor

    return make_predictor(sm_endpoint, sm_boto_session)


@pytest.fixture(scope="session")
def sm_invoke(
    pytestconfig: pytest.Config,
    sm_endpoint: EndpointRecord,
    sm_boto_session: Any,
    sm_settings: Settings,
) -> Any:
    """Call with a DataFrame: predictions for every row, aligned with its index
    (`sm_invoke.rows(df)` sends one request per row)."""
    from .invoke import Invoker, make_runtime_client

    runtime = make_runtime_client(sm_boto_session, sm_settings.invoke)
    invoker = Invoker(runtime, sm_endpoint.name, sm_settings.invoke)
    pytestconfig.stash[STATE_KEY].invocation_stats[sm_endpoint.name] = invoker.stats
    return invoker


def _progress_printer(config: pytest.Config) -> Any:
    """Report status changes while waiting (a real deploy takes minutes)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    last: list[str] = []

    def on_status(status: str, elapsed: float) -> None:
        if reporter is None or (last and last[-1] == status and elapsed < 60):
            return
        if status != "InService" or last:
            reporter.write_line(f"smendpoint: endpoint {status} after {elapsed:.0f} s")
        last.append(status)

    return on_status
