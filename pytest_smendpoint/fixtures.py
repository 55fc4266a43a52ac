"""The plugin's fixtures, registered by plugin.py (`pytest_plugins`; never imported by it, so
pytest imports it first and rewrites its asserts as a plugin's). Each is thin: it reads the
settings and the session's state from `config.stash` (state.py) and hands the work to the
modules below; heavy modules (boto3, moto, pandas, sagemaker) are imported inside the fixtures
that need them, so a suite that uses none of them pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_smendpoint.settings.options import Settings
from pytest_smendpoint.state import GUARD_KEY, NO_MODEL_SOURCE, SETTINGS_KEY, STATE_KEY

if TYPE_CHECKING:
    import boto3

    from pytest_smendpoint.aws.backends import Backend
    from pytest_smendpoint.aws.records import EndpointRecord
    from pytest_smendpoint.endpoints.factory import EndpointFactory
    from pytest_smendpoint.invoke.compare import Comparer
    from pytest_smendpoint.invoke.invoker import Invoker
    from pytest_smendpoint.reporting.gates import MetricRecorder
    from pytest_smendpoint.transform.runner import Transformer


@pytest.fixture(scope="session")
def sm_settings(pytestconfig: pytest.Config) -> Settings:
    """The validated settings of this run."""
    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def sm_backend(pytestconfig: pytest.Config, sm_settings: Settings) -> Iterator[Backend]:
    """The started backend (moto account or AWS) for the session: credentials and --sm-env
    values masked in every log; the session's S3 uploads deleted after every endpoint (they
    depend on this fixture) is gone."""
    from pytest_smendpoint.api import open_account

    state = pytestconfig.stash[STATE_KEY]
    with state.holding() as stack:
        stack.enter_context(pytestconfig.stash[GUARD_KEY].guard.installed())
        yield stack.enter_context(open_account(sm_settings, state.provider))


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
    from pytest_smendpoint.aws.resolve import aws_context, resolve_from_settings
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
    sm_backend: Backend,
    sm_settings: Settings,
) -> Invoker:
    """Call with a DataFrame: predictions for every row, aligned with its index
    (`sm_invoke.rows(df)` sends one request per row). On an asynchronous endpoint each request
    goes through S3 and InvokeEndpointAsync, with the same checks, parsing and errors."""
    return _counted_invoker(pytestconfig, sm_backend, sm_settings, sm_endpoint)


def _counted_invoker(
    config: pytest.Config, backend: Backend, settings: Settings, endpoint: EndpointRecord
) -> Invoker:
    """An Invoker whose counters feed the session report: one count per endpoint, however
    often a marker or parameter switch re-creates the invoker. An asynchronous endpoint's
    leftovers in S3 go with the session's uploads (sm_backend's teardown)."""
    from pytest_smendpoint.api import make_invoker

    state = config.stash[STATE_KEY]
    invoker = make_invoker(
        backend.boto_session,
        settings,
        endpoint.name,
        endpoint.serverless,
        csv_float32=getattr(endpoint, "csv_float32", False),
        asynchronous=endpoint.async_inference,
        account=backend,
        session_id=state.identity.session_id,
        progress=_async_progress(config, settings),
    )
    stats = state.invocation_stats
    invoker.stats = stats.setdefault(endpoint.name, invoker.stats)
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
def sm_transform(
    request: pytest.FixtureRequest,
    pytestconfig: pytest.Config,
    sm_settings: Settings,
    sm_backend: Backend,
) -> Iterator[Transformer]:
    """`sm_transform(df_or_files_or_s3_prefix, **overrides)`: the session's model over a data set
    of any size, as a Batch Transform job; predictions aligned with the input, as sm_invoke's.
    Deploys no endpoint; the jobs' model and data are deleted at the session's end."""
    from pytest_smendpoint.transform.runner import Transformer

    state = pytestconfig.stash[STATE_KEY]
    transformer = Transformer(
        sm_backend,
        sm_settings,
        state.identity,
        lambda: request.getfixturevalue("sm_model"),
        state.transforms,
        base_dir=pytestconfig.invocation_params.dir,
        progress=_transform_progress(pytestconfig, sm_settings),
    )
    with state.holding() as stack:
        stack.callback(transformer.close)
        yield transformer


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
    sm_backend: Backend,
    sm_settings: Settings,
) -> Invoker:
    """`sm_invoke` for the baseline endpoint: the same rows, production's predictions."""
    return _counted_invoker(pytestconfig, sm_backend, sm_settings, sm_baseline_endpoint)


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


def _async_progress(config: pytest.Config, settings: Settings) -> Any:
    """A progress line per asynchronous request that takes a while (it may take an hour)."""
    from pytest_smendpoint.reporting.progress import AsyncRequestProgress

    base = _progress_printer(config, settings)
    return lambda endpoint, inference_id, rows: AsyncRequestProgress(
        base, endpoint, inference_id, rows
    )


def _transform_progress(config: pytest.Config, settings: Settings) -> Any:
    """A progress line per transform job, as the session's deploy has (a job takes minutes)."""
    from pytest_smendpoint.reporting.progress import TransformProgress

    base = _progress_printer(config, settings)
    return lambda job, instances, done: TransformProgress(base, job, instances, done)


def _progress_printer(config: pytest.Config, settings: Settings) -> Any:
    """Deploy progress through the terminal reporter (a real deploy takes minutes)."""
    from pytest_smendpoint.reporting.progress import DeployProgress

    return DeployProgress.for_reporter(
        config.pluginmanager.get_plugin("terminalreporter"),
        config.pluginmanager.get_plugin("capturemanager"),
        settings.capacity,
    )
