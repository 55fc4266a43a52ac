"""Create model, endpoint config and endpoint with boto3, wait for InService, and delete exactly
what was created, in reverse, whatever happened in between.

Each kind is created and deleted by its own module (models.py, endpoints.py) over the
resource-kind table (resources.py) and the generic waiter (waiting.py); this module is the one
place that orders them, holds signals while a call runs, keeps what it created marked alive
(liveness.py) and gathers the diagnostics of a failed deploy. A transform job would be one more
module beside those two, composed here (or beside this) the same way.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

from pytest_smendpoint.aws.endpoints import (
    attach,
    confirm_gone,
    create_endpoint,
    create_endpoint_config,
    delete_endpoint,
    delete_endpoint_config,
    models_in_config,
)
from pytest_smendpoint.aws.liveness import LivenessMark
from pytest_smendpoint.aws.models import create_model, delete_model
from pytest_smendpoint.aws.records import EndpointPlan, EndpointRecord, TeardownStatus
from pytest_smendpoint.aws.resolve import ExistingEndpoint, ModelSpec
from pytest_smendpoint.aws.resources import (
    ENDPOINT,
    ENDPOINT_CONFIG,
    MODEL,
    ResourceKind,
    carries_session_tag,
    cli_command,
    delete,
    describe,
    error_reason,
    is_gone,
)
from pytest_smendpoint.aws.signal_holding import hold_signals
from pytest_smendpoint.aws.waiting import DEFAULT_BACKOFF, Backoff, wait_in_service
from pytest_smendpoint.errors import AwsCallError, DeployError, TeardownError


class ServingHooks(Protocol):
    """What a backend does around an endpoint's life (moto serves the model locally)."""

    def endpoint_created(self, endpoint_name: str) -> None: ...

    def endpoint_deleted(self, endpoint_name: str) -> None: ...

    def runtime_description(self, endpoint_name: str) -> str | None: ...

    def reads_csv_as_float32(self, endpoint_name: str) -> bool | None:
        """Whether the endpoint's every variant reads CSV numbers as float32 (False: unknown;
        None: this backend does not serve it, so the image and environment must tell)."""
        ...

    def model_reads_csv_as_float32(self, model_name: str, instance_type: str) -> bool | None:
        """Whether the model, as a transform job on `instance_type` would load it, reads CSV
        numbers as float32 (asked before sm_transform writes its input); None: this backend
        does not serve it, so the image and environment must tell."""
        ...

    def job_ended(self, job_name: str, seconds: float) -> bool | None:
        """Wait up to `seconds` for a transform job this backend runs to end: True once it has,
        False if it still runs, None when the backend cannot tell (then the waiter polls)."""
        ...

    def inference_ended(self, inference_id: str, seconds: float) -> bool | None:
        """Wait up to `seconds` for an asynchronous request this backend answers to be
        answered: True once it is, False if not yet, None when the backend cannot tell."""
        ...


class NoServing:
    """Real SageMaker serves its own endpoints."""

    def endpoint_created(self, endpoint_name: str) -> None:
        return None

    def endpoint_deleted(self, endpoint_name: str) -> None:
        return None

    def runtime_description(self, endpoint_name: str) -> str | None:
        return None

    def reads_csv_as_float32(self, endpoint_name: str) -> bool | None:
        return None  # the deployment judges by the image (its entry script is not seen here)

    def model_reads_csv_as_float32(self, model_name: str, instance_type: str) -> bool | None:
        return None

    def job_ended(self, job_name: str, seconds: float) -> bool | None:
        return None

    def inference_ended(self, inference_id: str, seconds: float) -> bool | None:
        return None


@dataclass
class _Created:
    """What this deployment created so far."""

    models: list[str] = field(default_factory=list)
    config: str | None = None
    endpoint: str | None = None

    def deletion_order(self, extra_models: Sequence[str] = ()) -> list[tuple[ResourceKind, str]]:
        """Endpoint, then its config, then every model: the reverse of creation."""
        order: list[tuple[ResourceKind, str]] = []
        if self.endpoint:
            order.append((ENDPOINT, self.endpoint))
        if self.config:
            order.append((ENDPOINT_CONFIG, self.config))
        order += [(MODEL, name) for name in [*self.models, *extra_models]]
        return order


class Lifecycle:
    """Deploys and tears down through one SageMaker client; the same code for moto and AWS."""

    def __init__(
        self,
        sagemaker: Any,
        *,
        region: str,
        backend: str,
        serving: ServingHooks | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_status: Callable[[str, float], None] | None = None,
        diagnose: Callable[[EndpointPlan, ModelSpec], str] | None = None,
        deletable_wait: float = 600.0,
        liveness: LivenessMark | None = None,
    ) -> None:
        self.liveness = liveness  # what this deployment creates stays marked alive for a sweep
        self.diagnose = diagnose  # diagnostics.deploy_diagnostics: logs, instance, image
        self.deletable_wait = deletable_wait  # bound on waiting for a Creating endpoint to settle
        self.sagemaker = sagemaker
        self.region = region
        self.backend = backend
        self.serving = serving or NoServing()
        self.backoff = backoff
        self.sleep = sleep
        self.clock = clock
        self.on_status = on_status

    @contextlib.contextmanager
    def attached(self, existing: ExistingEndpoint) -> Iterator[EndpointRecord]:
        """Use an endpoint that exists already: read it, never change or delete it."""
        yield attach(self.sagemaker, existing, region=self.region, backend=self.backend)

    def _reads_csv_as_float32(self, model: ModelSpec, plan: EndpointPlan) -> bool:
        """What serves the endpoint says; else (real SageMaker) the image and environment."""
        served = self.serving.reads_csv_as_float32(plan.endpoint_name)
        if served is not None:
            return served
        from pytest_smendpoint.serving.profiles import reads_csv_as_float32_unseen

        return reads_csv_as_float32_unseen(model.image_uri, model.environment)

    @contextlib.contextmanager
    def deployed(
        self, model: ModelSpec, plan: EndpointPlan, *, keep: bool = False
    ) -> Iterator[EndpointRecord]:
        """Create, wait, yield the record; on exit delete what was created (unless kept)."""
        created = _Created()
        started = self.clock()
        held: list[str] = []  # ARNs this deployment keeps marked alive
        try:
            # A signal held until each create returns: a cut-short CreateEndpoint leaves an
            # endpoint that nobody recorded (signal_holding.py).
            with hold_signals():
                response = create_model(self.sagemaker, model, plan.model_name, self._tags(plan))
                created.models.append(plan.model_name)
                self._hold(held, response, MODEL.arn_key)
            with hold_signals():
                response = create_endpoint_config(self.sagemaker, plan, self._tags(plan))
                created.config = plan.config_name
                self._hold(held, response, ENDPOINT_CONFIG.arn_key)
            with hold_signals():
                response = create_endpoint(self.sagemaker, plan, self._tags(plan))
                created.endpoint = plan.endpoint_name
                self._hold(held, response, ENDPOINT.arn_key)
            self.serving.endpoint_created(plan.endpoint_name)
            wait_in_service(
                self.sagemaker,
                plan.endpoint_name,
                plan.deploy_timeout,
                backoff=self.backoff,
                clock=self.clock,
                sleep=self.sleep,
                on_status=self.on_status,
            )
        except BaseException as error:
            # A failed or interrupted deploy is always cleaned up, --sm-keep-endpoint or not.
            details = ""
            if isinstance(error, DeployError) and self.diagnose is not None:
                details = self.diagnose(plan, model) + "\n"  # logs first: cleanup ends them
            summary = self._cleanup_after_failed_deploy(created, plan)
            self._release(held)
            if isinstance(error, DeployError):
                raise DeployError(
                    error.endpoint_name, error.status, error.reason, details + summary
                ) from None
            raise
        record = EndpointRecord(
            name=plan.endpoint_name,
            config_name=plan.config_name,
            model_names=tuple(created.models),
            region=self.region,
            backend=self.backend,
            deploy_seconds=self.clock() - started,
            owned=True,
            # A serverless endpoint has no instances: its ServerlessConfig says what it runs on.
            instance_type=None if plan.serverless is not None else plan.instance_type,
            instance_count=None if plan.serverless is not None else plan.instance_count,
            source=model.source,
            serving_runtime=self.serving.runtime_description(plan.endpoint_name),
            kind=plan.kind,
            serverless=plan.serverless,
            async_inference=plan.async_inference,
            csv_float32=self._reads_csv_as_float32(model, plan),
        )
        try:
            yield record
        finally:
            if keep:  # still marked alive while this process runs (an xdist worker's handover)
                record.teardown = TeardownStatus.KEPT
                record.manual_commands = self.delete_commands(created)
            else:
                try:
                    self._teardown(created, plan, record)
                finally:
                    self._release(held)

    def _hold(self, held: list[str], response: Any, arn_key: str) -> None:
        arn = response.get(arn_key) if isinstance(response, dict) else None
        if self.liveness is not None and arn:
            self.liveness.hold(self.sagemaker, arn)
            held.append(arn)

    def _release(self, held: list[str]) -> None:
        if self.liveness is not None:
            self.liveness.release(held)

    def _tags(self, plan: EndpointPlan) -> list[dict[str, str]]:
        """The plan's tags and, from the first moment, the liveness mark."""
        return [*plan.tags, self.liveness.tag()] if self.liveness is not None else list(plan.tags)

    # -- creation ---------------------------------------------------------------------------

    # SageMaker's own words when a Create* call meets an existing name.
    _EXISTING = {
        ENDPOINT: ("CreateEndpoint", "endpoint"),
        ENDPOINT_CONFIG: ("CreateEndpointConfig", "endpoint configuration"),
        MODEL: ("CreateModel", "model"),
    }

    def refuse_existing(self, plan: EndpointPlan) -> None:
        """Refuse, before creating anything, a name that exists already and that this session
        did not generate: SageMaker would refuse it, but moto's server overwrites it, and
        teardown would then delete something the session never created."""
        names = (
            (ENDPOINT, plan.endpoint_name),
            (ENDPOINT_CONFIG, plan.config_name),
            (MODEL, plan.model_name),
        )
        for kind, name in names:
            if plan.session_id in name:  # generated from this session's unique id
                continue
            try:
                described = describe(self.sagemaker, kind, name)
            except ClientError as error:
                if is_gone(error):
                    continue
                raise AwsCallError(
                    kind.describe_operation, f"{kind.label} {name}", error_reason(error)
                ) from None
            operation, wording = self._EXISTING[kind]
            raise AwsCallError(
                operation,
                f"{kind.label} {name}",
                f"ValidationException: Cannot create already existing {wording} "
                f'"{described.get(kind.arn_key, name)}". (Checked before creating anything: '
                "pytest-smendpoint neither takes over nor deletes what it did not create; "
                "choose another name, or use --sm-existing-endpoint to test an endpoint as it is)",
            )

    # -- teardown ---------------------------------------------------------------------------

    def _cleanup_after_failed_deploy(self, created: _Created, plan: EndpointPlan) -> str:
        try:
            with hold_signals():  # a second Ctrl-C must not cut the cleanup short
                deleted = self._delete(created, plan)
        except TeardownError as teardown_error:
            return str(teardown_error)
        return "Cleaned up: " + (", ".join(deleted) if deleted else "nothing had been created")

    def _teardown(self, created: _Created, plan: EndpointPlan, record: EndpointRecord) -> None:
        with hold_signals():  # signals wait until every delete was tried (signal_holding.py)
            try:
                self._delete(created, plan)
            except TeardownError as error:
                record.teardown = TeardownStatus.FAILED
                record.manual_commands = error.commands
                raise
            record.teardown = TeardownStatus.DELETED
            if created.endpoint:
                record.deletion_confirmed = confirm_gone(self.sagemaker, created.endpoint)

    def _delete(self, created: _Created, plan: EndpointPlan) -> list[str]:
        """Delete endpoint, config and every model this session owns; try each, report all."""
        # Read what the config actually serves before deleting anything (SDK v2's
        # delete_endpoint-then-delete_model order loses the model names). Models another
        # party attached are deleted only when they carry this session's tag.
        extra = [
            name
            for name in models_in_config(self.sagemaker, created.config)
            if name not in created.models
            and carries_session_tag(self.sagemaker, MODEL, name, plan.session_id)
        ]
        deleted: list[str] = []
        failures: list[str] = []
        commands: list[str] = []
        interrupted: BaseException | None = None
        for kind, name in created.deletion_order(extra):
            try:
                failure = self._delete_one(kind, name)
            except BaseException as error:  # pytest-timeout's fail(), an exit: delete the rest
                interrupted = interrupted or error
                failure = f"{kind.delete_operation} {kind.label} {name}: interrupted ({error!r})"
            if failure:
                failures.append(failure)
                commands.append(self._command(kind, name))
                continue
            deleted.append(f"{kind.label} {name}")
            if kind is ENDPOINT:
                self.serving.endpoint_deleted(name)
        if interrupted is not None:
            raise interrupted
        if failures:
            raise TeardownError(failures, commands)
        return deleted

    def _delete_one(self, kind: ResourceKind, name: str) -> str | None:
        """Delete one resource, with one more try after any failure (botocore already retried
        throttling and 5xx); the first failure's text when both fail, None once it is gone."""
        first: str | None = None
        for _attempt in range(2):
            try:
                self._delete_call(kind, name)
                return None
            except ClientError as error:
                if is_gone(error):
                    return None
                first = (
                    first or f"{kind.delete_operation} {kind.label} {name}: {error_reason(error)}"
                )
            except Exception as error:  # a dropped connection must not stop the other deletes
                first = first or f"{kind.delete_operation} {kind.label} {name}: {error}"
        return first

    def _delete_call(self, kind: ResourceKind, name: str) -> None:
        """Each kind through its own module; an endpoint waits out a state SageMaker refuses
        to delete in (endpoints.py)."""
        if kind is ENDPOINT:
            delete_endpoint(self.sagemaker, name, self.deletable_wait, self.sleep, self.clock)
        elif kind is ENDPOINT_CONFIG:
            delete_endpoint_config(self.sagemaker, name)
        elif kind is MODEL:
            delete_model(self.sagemaker, name)
        else:
            delete(self.sagemaker, kind, name)

    def delete_for_session(
        self, endpoint: str | None, config: str | None, models: Sequence[str], session_id: str
    ) -> list[str]:
        """Delete what another process of this session created (the pytest-xdist controller,
        after its workers), as teardown does; returns what was deleted, or raises TeardownError."""
        created = _Created(models=list(models), config=config, endpoint=endpoint)
        return self._delete(created, EndpointPlan("", "", "", session_id=session_id))

    def delete_commands(self, created: _Created) -> list[str]:
        """The AWS CLI commands that delete what was created, for --sm-keep-endpoint."""
        return [self._command(kind, name) for kind, name in created.deletion_order()]

    def _command(self, kind: ResourceKind, name: str) -> str:
        return cli_command(kind, name, self.region)
