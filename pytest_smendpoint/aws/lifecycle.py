"""Create model, endpoint config and endpoint with boto3, wait for InService, and delete exactly
what was created, in reverse, whatever happened in between."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from pytest_smendpoint.aws.deletion import confirm_gone, delete_endpoint
from pytest_smendpoint.aws.liveness import LivenessMark
from pytest_smendpoint.aws.records import EndpointPlan, EndpointRecord, TeardownStatus
from pytest_smendpoint.aws.redaction import mask_also
from pytest_smendpoint.aws.resolve import ExistingEndpoint, ModelSpec
from pytest_smendpoint.aws.resources import (
    ENDPOINT,
    ENDPOINT_CONFIG,
    MODEL,
    ResourceKind,
    carries_session_tag,
    error_reason,
    is_gone,
)
from pytest_smendpoint.aws.signal_holding import hold_signals
from pytest_smendpoint.aws.waiting import DEFAULT_BACKOFF, Backoff, wait_in_service
from pytest_smendpoint.errors import AwsCallError, DeployError, TeardownError
from pytest_smendpoint.settings.environment import as_environment


class ServingHooks(Protocol):
    """What a backend does around an endpoint's life (moto serves the model locally)."""

    def endpoint_created(self, endpoint_name: str) -> None: ...

    def endpoint_deleted(self, endpoint_name: str) -> None: ...

    def runtime_description(self, endpoint_name: str) -> str | None: ...


class NoServing:
    """Real SageMaker serves its own endpoints."""

    def endpoint_created(self, endpoint_name: str) -> None:
        return None

    def endpoint_deleted(self, endpoint_name: str) -> None:
        return None

    def runtime_description(self, endpoint_name: str) -> str | None:
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
        described = self._call(
            "DescribeEndpoint",
            f"endpoint {existing.name}",
            self.sagemaker.describe_endpoint,
            EndpointName=existing.name,
        )
        if described["EndpointStatus"] != "InService":
            raise DeployError(
                existing.name,
                described["EndpointStatus"],
                "the existing endpoint is not InService: "
                + (described.get("FailureReason") or "wait for it or pick another"),
            )
        config_name = described["EndpointConfigName"]
        models: tuple[str, ...] = ()
        with contextlib.suppress(ClientError):  # reading the config is a courtesy, not required
            config = self.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
            models = tuple(v["ModelName"] for v in config["ProductionVariants"])
        record = EndpointRecord(
            name=existing.name,
            config_name=config_name,
            model_names=models,
            region=self.region,
            backend=self.backend,
            deploy_seconds=0.0,
            owned=False,
            source=f"existing endpoint {existing.name}",
            teardown=TeardownStatus.NOT_OWNED,
        )
        yield record

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
                self._hold(held, self._create_model(model, plan, created), "ModelArn")
            with hold_signals():
                self._hold(held, self._create_config(plan, created), "EndpointConfigArn")
            with hold_signals():
                self._hold(held, self._create_endpoint(plan, created), "EndpointArn")
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
            instance_type=plan.instance_type,
            instance_count=plan.instance_count,
            source=model.source,
            serving_runtime=self.serving.runtime_description(plan.endpoint_name),
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
                described = getattr(self.sagemaker, kind.describe)(**{kind.name_parameter: name})
            except ClientError as error:
                if is_gone(error):
                    continue
                operation = "Describe" + kind.delete_operation.removeprefix("Delete")
                raise AwsCallError(operation, f"{kind.label} {name}", error_reason(error)) from None
            operation, wording = self._EXISTING[kind]
            raise AwsCallError(
                operation,
                f"{kind.label} {name}",
                f"ValidationException: Cannot create already existing {wording} "
                f'"{described.get(kind.arn_key, name)}". (Checked before creating anything: '
                "pytest-smendpoint neither takes over nor deletes what it did not create; "
                "choose another name, or use --sm-existing-endpoint to test an endpoint as it is)",
            )

    def _create_model(self, model: ModelSpec, plan: EndpointPlan, created: _Created) -> Any:
        container: dict[str, Any] = {"Image": model.image_uri}
        if model.model_data_url:
            container["ModelDataUrl"] = model.model_data_url
        if model.environment:
            environment = as_environment(model.environment)
            mask_also(environment.values())  # the request body and DescribeModel carry them
            container["Environment"] = environment.request_value()
        response = self._call(
            "CreateModel",
            f"model {plan.model_name}",
            self.sagemaker.create_model,
            ModelName=plan.model_name,
            PrimaryContainer=container,
            ExecutionRoleArn=model.role_arn,
            Tags=self._tags(plan),
        )
        created.models.append(plan.model_name)
        return response

    def _create_config(self, plan: EndpointPlan, created: _Created) -> Any:
        variant: dict[str, Any] = {
            "VariantName": plan.variant_name,
            "ModelName": plan.model_name,
            "InitialInstanceCount": plan.instance_count,
            "InstanceType": plan.instance_type,
            "InitialVariantWeight": 1.0,
        }
        if plan.model_data_download_timeout is not None:
            variant["ModelDataDownloadTimeoutInSeconds"] = plan.model_data_download_timeout
        if plan.container_startup_health_check_timeout is not None:
            variant["ContainerStartupHealthCheckTimeoutInSeconds"] = (
                plan.container_startup_health_check_timeout
            )
        response = self._call(
            "CreateEndpointConfig",
            f"endpoint config {plan.config_name}",
            self.sagemaker.create_endpoint_config,
            EndpointConfigName=plan.config_name,
            ProductionVariants=[variant],
            Tags=self._tags(plan),
        )
        created.config = plan.config_name
        return response

    def _create_endpoint(self, plan: EndpointPlan, created: _Created) -> Any:
        response = self._call(
            "CreateEndpoint",
            f"endpoint {plan.endpoint_name}",
            self.sagemaker.create_endpoint,
            EndpointName=plan.endpoint_name,
            EndpointConfigName=plan.config_name,
            Tags=self._tags(plan),
        )
        created.endpoint = plan.endpoint_name
        return response

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
            for name in self._models_in_config(created.config)
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
                if kind is ENDPOINT:
                    delete_endpoint(
                        self.sagemaker, name, self.deletable_wait, self.sleep, self.clock
                    )
                else:
                    getattr(self.sagemaker, kind.delete)(**{kind.name_parameter: name})
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

    def _models_in_config(self, config_name: str | None) -> list[str]:
        if not config_name:
            return []
        try:
            config = self.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        except ClientError:
            return []  # already gone: the models we created are still in our own list
        return [v["ModelName"] for v in config.get("ProductionVariants", [])]

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
        return f"aws sagemaker {kind.cli} {name} --region {self.region}"

    def _call(self, operation: str, resource: str, call: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return call(**kwargs)
        except ClientError as error:
            raise AwsCallError(operation, resource, error_reason(error)) from None
        except BotoCoreError as error:  # parameter validation, connection and credential errors
            raise AwsCallError(operation, resource, f"{type(error).__name__}: {error}") from None
