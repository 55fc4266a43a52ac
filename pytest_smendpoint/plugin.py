"""pytest wiring: options, settings, the hooks, and the session-end safety net.

No AWS calls, no parsing and no fixtures here (fixtures.py holds them, state.py what they share
with the hooks, reporting/session_end.py the report flow); heavy modules (boto3, moto, pandas,
sagemaker) are imported only by the hooks and fixtures that need them, so a suite that uses none
of them pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pytest_smendpoint import hookspecs
from pytest_smendpoint.reporting.writers import has_report
from pytest_smendpoint.settings.naming import SessionIdentity
from pytest_smendpoint.settings.pytest_config import add_options, build_settings
from pytest_smendpoint.state import (
    GUARD_KEY,
    NO_MODEL_SOURCE,
    SETTINGS_KEY,
    STATE_KEY,
    SessionState,
)

# The fixtures, registered with this plugin (and left out with it: `-p no:smendpoint`).
FIXTURES_MODULE = "pytest_smendpoint.fixtures"
pytest_plugins = [FIXTURES_MODULE]

BASELINE_FIXTURE_NAMES = frozenset({"sm_baseline_endpoint", "sm_baseline_invoke", "sm_compare"})
ENDPOINT_FIXTURES = frozenset(
    {"sm_model", "sm_endpoint", "sm_predictor", "sm_invoke", "sm_transform"}
)


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
        from pytest_smendpoint.endpoints.xdist.worker import worker_provider

        provider = worker_provider(config)
        config.stash[STATE_KEY] = SessionState(provider.identity(run_label), provider)
    else:
        config.stash[STATE_KEY] = SessionState(SessionIdentity.new(run_label))
    from pytest_smendpoint.endpoints.signal_hooks import PLUGIN_NAME, SignalStop

    stop = SignalStop(config.stash[STATE_KEY])
    config.stash[GUARD_KEY] = stop
    config.pluginmanager.register(stop, PLUGIN_NAME)
    if _under_xdist(config):  # the controller's coordinator; imported only under xdist
        from pytest_smendpoint.endpoints.xdist.session import configure as configure_xdist

        configure_xdist(config, config.stash[SETTINGS_KEY], config.stash[STATE_KEY])


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
    from pytest_smendpoint.aws.backends import kind_of

    settings = config.stash[SETTINGS_KEY]
    fallback = kind_of(settings.backend).region_fallback
    region = settings.region or "boto3's default" + (f", else {fallback}" if fallback else "")
    return (
        f"smendpoint: backend={settings.backend}, region={region}, "
        f"model={settings.model_source or 'from the sm_model fixture'}, "
        + (
            f"endpoint={settings.capacity}"
            if settings.serverless.enabled
            else f"instances={settings.capacity}"
        )
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`@pytest.mark.sm_endpoint(**overrides)` is an indirect parameter of `sm_endpoint`, so
    pytest caches (and orders tests by) one endpoint per configuration."""
    if "sm_endpoint" not in metafunc.fixturenames:  # most tests: no marker look-up (start-up)
        return
    marker = metafunc.definition.get_closest_marker("sm_endpoint")
    if marker is None:
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
        if definitions and definitions[-1].func.__module__ != FIXTURES_MODULE:
            continue  # a conftest overrides sm_model: it is the model source
        raise pytest.UsageError(f"{item.nodeid} needs an endpoint, but {NO_MODEL_SOURCE}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Safety net: anything a fixture still holds (its teardown never ran) is released here;
    then the report (reporting/session_end.py)."""
    state = session.config.stash.get(STATE_KEY, None)
    if state is not None:
        state.close_leftovers()
        if _under_xdist(session.config):  # xdist controller: the run's endpoints, at the end
            from pytest_smendpoint.endpoints.xdist.session import finish

            finish(session)
        settings = session.config.stash[SETTINGS_KEY]
        if hasattr(session.config, "workeroutput") or has_report(settings, state):
            from pytest_smendpoint.reporting.session_end import finish_report

            finish_report(session, settings, state)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    """After the last test (endpoints torn down): the report as --junitxml properties. The
    junitxml plugin writes its file before our pytest_sessionfinish runs, so it is done here."""
    result = yield
    config = session.config
    settings, state = config.stash[SETTINGS_KEY], config.stash[STATE_KEY]
    if has_report(settings, state):
        from pytest_smendpoint.reporting.session_end import add_junit_properties

        add_junit_properties(session, settings, state)
    return result


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist controller: a worker's endpoints and metrics join the session report."""
    payload = getattr(node, "workeroutput", {}).get("smendpoint")
    if payload is not None:
        node.config.stash[STATE_KEY].worker_payloads.append(payload)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is not None and state.report is not None:
        from pytest_smendpoint.reporting.session_end import terminal_section

        terminal_section(terminalreporter, config.stash[SETTINGS_KEY], state.report, exitstatus)


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_summary(
    prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
) -> None:
    """pytest-html: its report gets the smendpoint section (pytest-html's own trylast
    sessionfinish, registered after this plugin, runs after finish_report built the report)."""
    state = session.config.stash.get(STATE_KEY, None)
    if state is not None and state.report is not None:
        from pytest_smendpoint.reporting.session_end import html_results_summary

        settings = session.config.stash[SETTINGS_KEY]
        html_results_summary(postfix, settings, state.report, int(session.exitstatus))
