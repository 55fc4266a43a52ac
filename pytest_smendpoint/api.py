"""The plugin's machinery without pytest: deploy an endpoint, invoke it, tear it down, from a
plain script, a notebook or a benchmark. The fixtures are this library plus pytest's hooks and
the session report (fixtures.py opens its account with `open_account` and its invokers with
`make_invoker`), the way pytest-httpserver's fixture is a thin layer over its HTTPServer.

    from pytest_smendpoint import deploy

    with deploy(model_data="model/", image_uri=IMAGE, instance_type="ml.m5.large") as endpoint:
        predictions = endpoint.invoke(holdout.drop(columns="label"))

Everything the session guarantees holds here too: the endpoint, its config and its model are
deleted when the block ends, whatever happened in it; SIGTERM/SIGHUP stop the script after that
cleanup; credentials and `env` values never reach a log.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_smendpoint.errors import SettingsError
from pytest_smendpoint.settings.endpoint_kinds import (
    ASYNC_DEFAULT_INVOCATION_TIMEOUT,
    AsyncSettings,
    ServerlessSettings,
)
from pytest_smendpoint.settings.options import OPTIONS_BY_NAME, Settings, validate_overrides

if TYPE_CHECKING:
    from pytest_smendpoint.aws.backends import Backend
    from pytest_smendpoint.aws.records import EndpointRecord
    from pytest_smendpoint.endpoints.provider import EndpointProvider
    from pytest_smendpoint.invoke.async_invocations import AsyncRequests
    from pytest_smendpoint.invoke.invoker import Invoker
    from pytest_smendpoint.transform.runner import Transformer

__all__ = [
    "DeployedEndpoint",
    "deploy",
    "make_invoker",
    "make_settings",
    "open_account",
    "transformer",
]


def make_settings(base: Settings | None = None, /, **options: Any) -> Settings:
    """Settings from options named as in the ini file without `sm_` (`instance_type=`,
    `model_data=`, `backend=`, `env={...}`), checked by the options' own rules over `base`
    (default: every option at its default). A bad value raises SettingsError naming the option;
    an unknown name raises TypeError. A relative path is relative to the working directory."""
    base = base if base is not None else Settings()
    unknown = sorted(set(options) - set(OPTIONS_BY_NAME))
    if unknown:
        raise TypeError(
            f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            "known: " + ", ".join(sorted(OPTIONS_BY_NAME))
        )
    given = {name: value for name, value in options.items() if value is not None}
    raw = dict(given)
    if isinstance(raw.get("env"), Mapping):
        raw["env"] = [f"{key}={value}" for key, value in raw["env"].items()]
    if "model_data" in raw and "image_uri" not in raw and base.image_uri:
        raw["image_uri"] = base.image_uri  # the base's image serves the new artifacts
    try:
        checked = validate_overrides(raw, "pytest_smendpoint.make_settings()", Path.cwd())
    except ValueError as error:
        raise SettingsError(str(error)) from None
    changes: dict[str, Any] = {}
    grouped: dict[str, dict[str, Any]] = {}
    for name in raw:
        for target in OPTIONS_BY_NAME[name].fills:
            group, _, field = target.rpartition(".")
            if group:  # a field of a settings group: Settings.invoke, Settings.transform
                grouped.setdefault(group, {})[field] = getattr(getattr(checked, group), field)
            else:
                changes[field] = getattr(checked, field)
    for group, values in grouped.items():
        changes[group] = dataclasses.replace(getattr(base, group), **values)
    for group in KIND_GROUPS:  # the rules between their options fill fields (MaxConcurrency 5,
        if group in grouped:  # an output path turns async on): the kind as checked, whole
            changes[group] = getattr(checked, group)
    return dataclasses.replace(base, **changes)


# Settings groups that describe the kind of endpoint (settings/endpoint_kinds.py).
KIND_GROUPS = ("serverless", "async_inference")


@contextlib.contextmanager
def open_account(settings: Settings, provider: EndpointProvider | None = None) -> Iterator[Backend]:
    """The account the settings name (a moto-mocked one, or AWS), with its credentials and the
    `env` values masked in every AWS library's log; on exit, the S3 uploads made for it are
    deleted (after its endpoints, which the caller closes first). The sm_backend fixture is this
    with the session's provider (under pytest-xdist, the run's shared account)."""
    from pytest_smendpoint.aws.redaction import credentials_redacted

    if provider is None:
        from pytest_smendpoint.endpoints.provider import InProcessProvider

        provider = InProcessProvider()
    with contextlib.ExitStack() as stack:
        backend = stack.enter_context(provider.open_backend(settings))
        stack.enter_context(credentials_redacted(backend.boto_session, also=settings.env.values()))
        stack.callback(provider.release_uploads, backend, settings)
        yield backend


def make_invoker(
    boto_session: Any,
    settings: Settings,
    endpoint_name: str,
    serverless: ServerlessSettings | None = None,
    *,
    csv_float32: bool = False,
    asynchronous: AsyncSettings | None = None,
    account: Backend | None = None,
    session_id: str | None = None,
    progress: Callable[[str, str, str], Callable[[str, float], None]] | None = None,
) -> Invoker:
    """`sm_invoke` for an endpoint: a DataFrame in, its predictions out, aligned with its index.
    A serverless endpoint's configuration (its record's `serverless`) keeps its payloads to 4 MB
    and its requests in flight to MaxConcurrency. `csv_float32`: the endpoint reads CSV numbers
    as float32 (its record says whether), so the invoker may send the shortest text of each
    float32 (unless --sm-no-float32-csv). An asynchronous endpoint (its record's
    `async_inference`) is invoked through S3: its inputs go under the session's prefix
    (`session_id`'s) in the account's SageMaker bucket, and what a request leaves behind is
    deleted with `account`'s uploads (after the endpoint is gone); `progress(endpoint,
    inference_id, rows)` makes the status callback of a request that takes a while."""
    from pytest_smendpoint.invoke.invoker import Invoker, make_runtime_client

    runtime = make_runtime_client(boto_session, settings.invoke)
    requests = None
    if asynchronous is not None and asynchronous.enabled:
        requests = _async_requests(
            boto_session, settings, endpoint_name, asynchronous, account, session_id
        )
        requests.progress = progress
    return Invoker(
        runtime,
        endpoint_name,
        settings.invoke,
        serverless,
        csv_float32=csv_float32,
        asynchronous=requests,
    )


def _async_requests(
    boto_session: Any,
    settings: Settings,
    endpoint_name: str,
    asynchronous: AsyncSettings,
    account: Backend | None,
    session_id: str | None,
) -> AsyncRequests:
    from pytest_smendpoint.aws.artifacts import default_bucket
    from pytest_smendpoint.aws.signal_holding import stopping
    from pytest_smendpoint.aws.uploads import session_key_prefix
    from pytest_smendpoint.aws.waiting import WaitStopped
    from pytest_smendpoint.invoke.async_invocations import AsyncRequests

    # As sm_transform's: no checksum where S3 does not require one (botocore's default sends
    # bodies aws-chunked, a slow decode under moto) and no SHA-256 of each body in the
    # signature; a connection per concurrent request.
    options: dict[str, Any] = {
        "request_checksum_calculation": "when_required",
        "s3": {"payload_signing_enabled": False},
        "max_pool_connections": max(10, settings.invoke.max_concurrency),
    }
    if account is not None:
        s3 = account.client("s3", **options)
        sts = account.client("sts")
    else:
        from botocore.config import Config

        s3 = boto_session.client("s3", config=Config(**options))
        sts = boto_session.client("sts")
    folder = session_key_prefix(session_id or endpoint_name)

    def input_prefix() -> str:
        bucket = default_bucket(s3, sts, s3.meta.region_name)
        return f"s3://{bucket}/{folder}/async/{endpoint_name}/input/"

    serving = account.serving if account is not None else None

    def pause(inference_id: str, seconds: float) -> None:
        """Between looks at a request's objects: a backend that answers the request itself
        ends the pause when it is answered; a stop signal ends the wait (the request's input
        is deleted and what may still appear is left for the session's end)."""
        if serving is None or serving.inference_ended(inference_id, seconds) is None:
            stopping.wait(seconds)
        if stopping.is_set():
            raise WaitStopped(inference_id, "InProgress", "asynchronous request")

    # The endpoint's own timeout (its plan's: the session's or an override's); an endpoint
    # read from its config (an existing one) has none, so the session's option says.
    timeout = asynchronous.invocation_timeout
    if timeout == ASYNC_DEFAULT_INVOCATION_TIMEOUT:
        timeout = settings.async_inference.invocation_timeout
    return AsyncRequests(
        s3=s3,
        input_prefix=input_prefix,
        invocation_timeout=timeout,
        leftovers=account.uploads if account is not None else [],
        pause=pause,
    )


@dataclasses.dataclass(frozen=True)
class DeployedEndpoint:
    """A deployed endpoint and the account it lives in, as `deploy()` yields it."""

    record: EndpointRecord
    backend: Backend
    settings: Settings

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def boto_session(self) -> Any:
        """The boto3 session of the account (under moto: the mocked one)."""
        return self.backend.boto_session

    @cached_property
    def invoker(self) -> Invoker:
        """The endpoint's invoker (`sm_invoke`): `endpoint.invoker(frame)`, `.rows(frame)`."""
        return make_invoker(
            self.boto_session,
            self.settings,
            self.name,
            self.record.serverless,
            csv_float32=self.record.csv_float32,
            asynchronous=self.record.async_inference,
            account=self.backend,
        )

    def invoke(self, frame: Any) -> Any:
        """Predictions for every row of `frame`, aligned with its index (see Invoker)."""
        return self.invoker(frame)

    def predictor(self) -> Any:
        """The installed SDK's handle: a v2 Predictor with a CSVSerializer, or a v3 Endpoint."""
        from pytest_smendpoint.endpoints.predictors import make_predictor

        return make_predictor(self.record, self.boto_session)


@contextlib.contextmanager
def deploy(
    model: Any = None,
    *,
    settings: Settings | None = None,
    account: Backend | None = None,
    on_status: Callable[[str, float], None] | None = None,
    **options: Any,
) -> Iterator[DeployedEndpoint]:
    """Deploy `model` (a ModelSpec, an ExistingEndpoint, a SageMaker SDK model or estimator; by
    default the source the settings name), wait for InService and yield it; on exit delete what
    was created, as the plugin's session does. `options` are `make_settings` options over
    `settings`. `account` (from `open_account`) deploys into an account the caller holds, e.g.
    several endpoints in one mocked account; by default the block has an account of its own.
    `on_status(status, elapsed_seconds)` hears the deploy's progress.

    A stop signal (SIGTERM, SIGHUP) in the block raises SessionStopped (a KeyboardInterrupt)
    after nothing more is created; one during the cleanup is held until the cleanup is done,
    then raised."""
    from pytest_smendpoint.endpoints.overrides import DeploymentSettings
    from pytest_smendpoint.endpoints.provider import DeployHooks, InProcessProvider, opener
    from pytest_smendpoint.endpoints.signals import SessionStopped, SignalGuard

    chosen = make_settings(settings, **options) if options else (settings or Settings())
    if model is None and chosen.model_source is None:
        raise SettingsError(
            "deploy() needs a model: pass one, or a model source (model_data= with image_uri=, "
            "training_job= or existing_endpoint=)"
        )
    guard = SignalGuard()
    with contextlib.ExitStack() as stack:
        stack.enter_context(guard.installed())
        provider = InProcessProvider()
        backend = account or stack.enter_context(open_account(chosen, provider))
        open_endpoint = opener(
            provider, backend, provider.identity(chosen.run_label), DeployHooks(on_status=on_status)
        )
        record = stack.enter_context(open_endpoint(DeploymentSettings(chosen, {}, model)))
        stack.callback(setattr, guard, "finishing", True)  # from here on, nothing cuts cleanup
        yield DeployedEndpoint(record, backend, chosen)
    if guard.received:  # a stop signal arrived during the cleanup: stop now that it is done
        raise SessionStopped(guard.received[0])


@contextlib.contextmanager
def transformer(
    model: Any = None,
    *,
    settings: Settings | None = None,
    account: Backend | None = None,
    **options: Any,
) -> Iterator[Transformer]:
    """`sm_transform` without pytest: `with transformer(model) as transform: transform(frame)`
    runs Batch Transform jobs of `model` (by default the source the settings name); on exit
    every job still running is stopped and the jobs' model and data are deleted."""
    from pytest_smendpoint.settings.naming import SessionIdentity
    from pytest_smendpoint.transform.runner import Transformer

    chosen = make_settings(settings, **options) if options else (settings or Settings())
    if model is None and chosen.model_source is None:
        raise SettingsError(
            "transformer() needs a model: pass one, or a model source (model_data= with "
            "image_uri=, training_job= or existing_endpoint=)"
        )
    with contextlib.ExitStack() as stack:
        backend = account or stack.enter_context(open_account(chosen))
        identity = SessionIdentity.new(chosen.run_label)

        def session_model() -> Any:
            if model is not None:
                return model
            from pytest_smendpoint.aws.resolve import aws_context, resolve_from_settings

            context = aws_context(backend, identity, backend.client("sagemaker"))
            return resolve_from_settings(chosen, context)

        made = Transformer(backend, chosen, identity, session_model, [])
        stack.callback(made.close)
        yield made
