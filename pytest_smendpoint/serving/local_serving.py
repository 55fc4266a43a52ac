"""LocalServing: the endpoints of an account served for real, on this machine, as one front end
over a pool of loaded models (pool.py). Takes every production variant's model of an endpoint
from the pool once, when the account creates the endpoint (or, for one created before, on its
first call); serves invocations from any thread, routed between variants as SageMaker routes
them; marks an endpoint Failed (with the reason) when a variant's model cannot load; and lets
the models go when the endpoint goes. A serverless variant keeps SageMaker's serverless limits
at this front door: 4 MiB requests and MaxConcurrency requests in flight (its memory and /ping
bounds are the loader's). What an endpoint serves is the account's to say (`Deployments`); the
moto backend's adapter (aws/backends/moto/) is the account, and attaches a LocalServing to moto.
The moto backend's transform jobs are a second front end over the same pool
(`LocalServing.pool`)."""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

from pytest_smendpoint.serving.errors import (
    EndpointNotFound,
    EndpointNotServed,
    LocalServingError,
    ModelLoadError,
    NoTrafficVariant,
    PayloadTooLarge,
    Throttled,
    VariantNotFound,
)
from pytest_smendpoint.serving.invocation import (
    ContainerSpec,
    Deployments,
    InvokeRequest,
    InvokeResult,
)
from pytest_smendpoint.serving.loader import LoadedModel
from pytest_smendpoint.serving.modes import LoadOptions
from pytest_smendpoint.serving.pool import ModelKey, ModelPool
from pytest_smendpoint.serving.runtimes.selection import RuntimePolicy
from pytest_smendpoint.serving.variants import VariantPicker
from pytest_smendpoint.settings.limits import SERVERLESS_PAYLOAD_CEILING_BYTES

# ContainerStartupHealthCheckTimeoutInSeconds unset: SageMaker waits 8 minutes for /ping ("If
# the container does not begin to pass health checks by consistently responding with 200s during
# the 8 minutes after startup, the new instance launch fails", docs.aws.amazon.com/sagemaker/
# latest/dg/your-algorithms-inference-code.html#your-algorithms-inference-algo-ping-requests).
DEFAULT_STARTUP_TIMEOUT = 480.0
# DescribeEndpoint's FailureReason holds at most 1024 characters in AWS.
FAILURE_REASON_MAX = 1024


class _Variants:
    """An endpoint's loaded production variants, in the config's order, and their router."""

    def __init__(self, pool: ModelPool, keys: list[ModelKey], loaded: list[LoadedModel]) -> None:
        self.pool = pool
        self.keys = keys
        self.loaded = loaded
        self.specs: tuple[ContainerSpec, ...] = tuple(item.spec for item in loaded)
        self.by_name = {item.spec.variant_name: item for item in loaded}
        self.picker = VariantPicker()
        self._counted = threading.Lock()
        self._in_flight = dict.fromkeys(self.by_name, 0)

    @contextlib.contextmanager
    def admitted(self, spec: ContainerSpec) -> Iterator[None]:
        """Count one request in flight on a serverless variant, or refuse it (Throttled) when
        MaxConcurrency are already in flight; an instance-backed variant queues instead."""
        serverless = spec.serverless
        ceiling = serverless.max_concurrency if serverless is not None else None
        if ceiling is None:
            yield
            return
        with self._counted:
            if self._in_flight[spec.variant_name] >= ceiling:
                raise Throttled(spec.endpoint_name, spec.variant_name, ceiling)
            self._in_flight[spec.variant_name] += 1
        try:
            yield
        finally:
            with self._counted:
                self._in_flight[spec.variant_name] -= 1

    def close(self) -> None:
        _release_all(self.pool, self.keys)


class _Slot:
    """One endpoint as this serving knows it: tied to the account's endpoint object, so an
    endpoint deleted and re-created under the same name is loaded afresh (and its routing
    restarts)."""

    _serials = itertools.count(1)

    def __init__(self, endpoint: Any) -> None:
        self.endpoint = endpoint
        # Its models' owner in the pool: this endpoint as created, shared with no other.
        self.user = f"endpoint {next(self._serials)}"
        self.lock = threading.Lock()
        self.variants: _Variants | None = None
        self.failure: str | None = None
        self.closed = False

    def close(self) -> None:
        self.closed = True
        with self.lock:  # waits for a load in progress, then unloads what it produced
            variants, self.variants = self.variants, None
        if variants is not None:
            variants.close()


class LocalServing:
    """Serves the account's endpoints for real, in this process (the moto backend's adapter says
    how InvokeEndpoint and endpoint creation reach it)."""

    def __init__(
        self,
        region: str,
        account_id: str,
        deployments: Deployments,
        serve_command: str | None = None,
        startup_timeout: float | None = None,
        serve_directory: Path | None = None,
        runtime_policy: RuntimePolicy | None = None,
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.deployments = deployments
        self.options = LoadOptions(
            serve_command=serve_command,
            startup_timeout=DEFAULT_STARTUP_TIMEOUT
            if startup_timeout is None
            else float(startup_timeout),
            serve_directory=serve_directory,
            runtime=runtime_policy or RuntimePolicy(),
        )
        self.pool = ModelPool(self.options)  # the models; this front end's are its endpoints'
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._lock = threading.Lock()
        self._s3_clients: dict[str, Any] = {}
        self._closed = False

    # -- ServingHooks and lifecycle -----------------------------------------------------------

    def install(self) -> None:
        """Get ready to serve: remove the model folders of killed runs (kill -9 skips cleanup)."""
        from pytest_smendpoint.tempdirs import MODEL_PREFIX, remove_stale

        remove_stale((MODEL_PREFIX,))

    def endpoint_created(self, endpoint_name: str) -> None:
        """Load the models now (if the account's create did not already); a model that fails
        marks the endpoint Failed instead of raising."""
        endpoint = self.deployments.find(self.region, endpoint_name)
        if endpoint is None:
            raise EndpointNotFound(endpoint_name, self.account_id)
        self.load_created(self.region, endpoint)

    def endpoint_deleted(self, endpoint_name: str) -> None:
        """Unload the models, stop their processes and remove their directories."""
        self.unload(self.region, endpoint_name)

    def runtime_description(self, endpoint_name: str) -> str | None:
        """What serves the endpoint's models (Python and packages, per variant), for reports."""
        slot = self._slots.get((self.region, endpoint_name))
        variants = slot.variants if slot is not None else None
        if variants is None:
            return None
        described = [(item.spec.variant_name, item.runtime) for item in variants.loaded]
        if len(described) == 1:
            return described[0][1]
        return "; ".join(f"{name}: {text}" for name, text in described if text)

    def reads_csv_as_float32(self, endpoint_name: str) -> bool:
        """Whether every variant's model reads CSV numbers as float32, so that a client may send
        the shortest text of each float32 (False for an endpoint not loaded here)."""
        slot = self._slots.get((self.region, endpoint_name))
        variants = slot.variants if slot is not None else None
        if variants is None:
            return False
        return all(item.csv_float32 for item in variants.loaded)

    def load_created(self, region: str, endpoint: Any) -> None:
        """Load every variant of the account's `endpoint` (of any region); a failure is recorded
        on it: DescribeEndpoint then says Failed, with the reason."""
        name = self.deployments.name_of(endpoint)
        slot = self._slot(region, name, endpoint)
        with contextlib.suppress(EndpointNotServed):
            self._loaded(slot, region, name)

    def unload(self, region: str, endpoint_name: str) -> None:
        with self._lock:
            slot = self._slots.pop((region, endpoint_name), None)
        if slot is not None:
            slot.close()

    def close(self) -> None:
        """Unload everything and stop loading; safe to call twice."""
        with self._lock:
            self._closed = True
            slots, self._slots = list(self._slots.values()), {}
        errors = []
        for slot in slots:
            try:
                slot.close()
            except Exception as error:  # one bad unload must not leave other processes running
                errors.append(error)
        try:
            self.pool.close()  # nothing is left in it now, unless a front end leaked a model
        except Exception as error:
            errors.append(error)
        if errors:
            raise LocalServingError(f"unloading failed: {errors}")

    # -- invocation -------------------------------------------------------------------------

    def invoke(self, request: InvokeRequest, region: str | None = None) -> tuple[InvokeResult, str]:
        """Answer one call: the container's result and the production variant that served it."""
        region = region or self.region
        name = request.endpoint_name
        # Existence is asked of the account on every call (for moto, a dict lookup): an endpoint
        # deleted with a plain boto3 call, without endpoint_deleted, is gone here too.
        endpoint = self.deployments.find(region, name)
        if endpoint is None:
            self.unload(region, name)
            raise EndpointNotFound(name, self.account_id)
        target = request.target_variant
        if target is not None and target not in self.deployments.variant_names(endpoint):
            raise VariantNotFound(name, target, self.account_id)
        slot = self._slots.get((region, name))
        if slot is None or slot.endpoint is not endpoint:
            slot = self._slot(region, name, endpoint)
        variants = slot.variants or self._loaded(slot, region, name)
        if target is not None:
            chosen = variants.by_name[target]
        else:
            index = variants.picker.pick(self.deployments.weights(endpoint, variants.specs))
            if index is None:
                raise NoTrafficVariant(name)
            chosen = variants.loaded[index]
        spec = chosen.spec
        if spec.serverless is not None and len(request.body) > SERVERLESS_PAYLOAD_CEILING_BYTES:
            raise PayloadTooLarge(SERVERLESS_PAYLOAD_CEILING_BYTES)
        with variants.admitted(spec):
            return chosen.invoke(request), spec.variant_name

    def _slot(self, region: str, name: str, endpoint: Any) -> _Slot:
        stale = None
        with self._lock:
            if self._closed:
                raise LocalServingError("this LocalServing is closed")
            slot = self._slots.get((region, name))
            if slot is None or slot.endpoint is not endpoint:
                stale, slot = slot, _Slot(endpoint)
                self._slots[(region, name)] = slot
        if stale is not None:
            stale.close()
        return slot

    def _loaded(self, slot: _Slot, region: str, name: str) -> _Variants:
        """Load once per endpoint, every variant or none; concurrent first calls wait on the
        slot's lock."""
        with slot.lock:
            if slot.variants is not None:
                return slot.variants
            if slot.failure is not None:
                raise EndpointNotServed(slot.failure)
            if slot.closed:
                raise EndpointNotFound(name, self.account_id)
            try:
                specs = self.deployments.containers(region, slot.endpoint)
            except Exception as error:
                self._fail(slot, _failure_reason(error))
            keys = [ModelKey(slot.user, spec.model_name, spec.variant_name) for spec in specs]
            slot.variants = _Variants(self.pool, keys, self._load_all(slot, keys, specs, region))
            return slot.variants

    def _load_all(
        self, slot: _Slot, keys: list[ModelKey], specs: tuple[ContainerSpec, ...], region: str
    ) -> list[LoadedModel]:
        """Load the variants side by side (each may start a process); if one fails, unload the
        others and fail the endpoint, naming the first failed variant in the config's order."""
        s3 = self._s3(region)

        def attempt(index: int) -> LoadedModel | BaseException:
            try:
                return self.pool.acquire(keys[index], specs[index], s3)
            except BaseException as error:  # reported for this variant once all have finished
                return error

        if len(specs) == 1:
            outcomes = [attempt(0)]
        else:
            with ThreadPoolExecutor(len(specs), thread_name_prefix="smendpoint-load") as threads:
                outcomes = list(threads.map(attempt, range(len(specs))))
        loaded = [item for item in outcomes if isinstance(item, LoadedModel)]
        failures = [i for i, item in enumerate(outcomes) if isinstance(item, BaseException)]
        if not failures:
            return loaded
        held = [keys[i] for i, item in enumerate(outcomes) if isinstance(item, LoadedModel)]
        with contextlib.suppress(LocalServingError):  # best effort: the failure is the news
            _release_all(self.pool, held)
        spec, error = specs[failures[0]], outcomes[failures[0]]
        assert isinstance(error, BaseException)
        if not isinstance(error, Exception):  # KeyboardInterrupt, SystemExit: not a bad model
            raise error
        self._fail(slot, _failure_reason(error, spec))

    def _fail(self, slot: _Slot, reason: str) -> NoReturn:
        slot.failure = reason
        self.deployments.mark_failed(slot.endpoint, reason)
        raise EndpointNotServed(reason)

    def _s3(self, region: str) -> Any:
        with self._lock:
            client = self._s3_clients.get(region)
            if client is None:
                import boto3

                client = boto3.session.Session(region_name=region).client("s3")
                self._s3_clients[region] = client
            return client


def _release_all(pool: ModelPool, keys: list[ModelKey]) -> None:
    """Let go of every key (its model unloads: no other user holds it), whatever fails."""
    errors = []
    for key in keys:
        try:
            pool.release(key)
        except Exception as error:  # one bad unload must not leave the other variants running
            errors.append(error)
    if errors:
        raise LocalServingError(f"unloading failed: {errors}")


def _failure_reason(error: Exception, spec: ContainerSpec | None = None) -> str:
    # SageMaker's own reasons name the variant ("The primary container for production variant
    # AllTraffic did not pass the ping health check"); a profile that already says so is not
    # told twice.
    where = ""
    if spec is not None and f"production variant {spec.variant_name}" not in str(error):
        where = f" of production variant {spec.variant_name}"
    if isinstance(error, ModelLoadError):
        text = f"Local serving could not load the model{where}: {error}"
    else:
        text = f"Local serving could not load the model{where}: {type(error).__name__}: {error}"
    if len(text) <= FAILURE_REASON_MAX:
        return text
    # Keep the start (what failed) and the end (the process's last output lines).
    head = FAILURE_REASON_MAX // 3
    return text[:head] + " ... " + text[-(FAILURE_REASON_MAX - head - 5) :]
