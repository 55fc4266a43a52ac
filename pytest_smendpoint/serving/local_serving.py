"""LocalServing: the ServingHooks of the moto backend. Loads each endpoint's model once, serves
invocations from any thread, and marks an endpoint Failed (with the reason) when it cannot load."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from pytest_smendpoint.serving.errors import (
    EndpointNotFound,
    EndpointNotServed,
    LocalServingError,
    ModelLoadError,
)
from pytest_smendpoint.serving.invocation import InvokeRequest, InvokeResult
from pytest_smendpoint.serving.loader import LoadedEndpoint, LoadOptions, load_endpoint
from pytest_smendpoint.serving.source import container_for, sagemaker_backend

DEFAULT_STARTUP_TIMEOUT = 120.0
# DescribeEndpoint's FailureReason holds at most 1024 characters in AWS.
FAILURE_REASON_MAX = 1024


class _Slot:
    """One endpoint as this serving knows it: tied to moto's endpoint object, so an endpoint
    deleted and re-created under the same name is loaded afresh."""

    def __init__(self, endpoint: Any) -> None:
        self.endpoint = endpoint
        self.lock = threading.Lock()
        self.loaded: LoadedEndpoint | None = None
        self.failure: str | None = None
        self.closed = False

    def close(self) -> None:
        self.closed = True
        with self.lock:  # waits for a load in progress, then unloads what it produced
            loaded, self.loaded = self.loaded, None
        if loaded is not None:
            loaded.close()


class LocalServing:
    """Serves the mocked account's endpoints for real, in this process (see routing for how
    InvokeEndpoint reaches it)."""

    def __init__(
        self,
        region: str,
        account_id: str,
        serve_command: str | None = None,
        startup_timeout: float | None = None,
        serve_directory: Path | None = None,
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.options = LoadOptions(
            serve_command=serve_command,
            startup_timeout=DEFAULT_STARTUP_TIMEOUT
            if startup_timeout is None
            else float(startup_timeout),
            serve_directory=serve_directory,
        )
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._lock = threading.Lock()
        self._s3_clients: dict[str, Any] = {}
        self._closed = False

    # -- ServingHooks and lifecycle -----------------------------------------------------------

    def install(self) -> None:
        """Route InvokeEndpoint of every sagemaker-runtime client made from now on to this."""
        from pytest_smendpoint.serving.routing import attach

        attach(self)

    def endpoint_created(self, endpoint_name: str) -> None:
        """Load the model now; a model that fails marks the endpoint Failed instead of raising."""
        endpoint = sagemaker_backend(self.account_id, self.region).endpoints.get(endpoint_name)
        if endpoint is None:
            raise EndpointNotFound(endpoint_name, self.account_id)
        slot = self._slot(self.region, endpoint_name, endpoint)
        # A failure is recorded on moto's endpoint: DescribeEndpoint says Failed, with the reason.
        with contextlib.suppress(EndpointNotServed):
            self._loaded(slot, self.region, endpoint_name)

    def endpoint_deleted(self, endpoint_name: str) -> None:
        """Unload the model, stop its process and remove its directory."""
        with self._lock:
            slot = self._slots.pop((self.region, endpoint_name), None)
        if slot is not None:
            slot.close()

    def close(self) -> None:
        """Unload everything and stop routing; safe to call twice."""
        from pytest_smendpoint.serving.routing import detach

        detach(self)
        with self._lock:
            self._closed = True
            slots, self._slots = list(self._slots.values()), {}
        errors = []
        for slot in slots:
            try:
                slot.close()
            except Exception as error:  # one bad unload must not leave other processes running
                errors.append(error)
        if errors:
            raise LocalServingError(f"unloading failed: {errors}")

    # -- invocation -------------------------------------------------------------------------

    def invoke(self, request: InvokeRequest, region: str | None = None) -> tuple[InvokeResult, str]:
        """Answer one call: the container's result and the production variant that served it."""
        region = region or self.region
        name = request.endpoint_name
        # Existence is read from moto on every call (a dict lookup): an endpoint deleted with a
        # plain boto3 call, without endpoint_deleted, is gone here too.
        endpoint = sagemaker_backend(self.account_id, region).endpoints.get(name)
        if endpoint is None:
            with self._lock:
                stale = self._slots.pop((region, name), None)
            if stale is not None:
                stale.close()
            raise EndpointNotFound(name, self.account_id)
        slot = self._slots.get((region, name))
        if slot is None or slot.endpoint is not endpoint:
            slot = self._slot(region, name, endpoint)
        loaded = slot.loaded or self._loaded(slot, region, name)
        return loaded.invoke(request), loaded.spec.variant_name

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

    def _loaded(self, slot: _Slot, region: str, name: str) -> LoadedEndpoint:
        """Load once per endpoint; concurrent first calls wait on the slot's lock."""
        with slot.lock:
            if slot.loaded is not None:
                return slot.loaded
            if slot.failure is not None:
                raise EndpointNotServed(slot.failure)
            if slot.closed:
                raise EndpointNotFound(name, self.account_id)
            backend = sagemaker_backend(self.account_id, region)
            try:
                spec = container_for(backend, slot.endpoint)
                slot.loaded = load_endpoint(spec, self._s3(region), self.options)
            except Exception as error:
                reason = _failure_reason(error)
                slot.failure = reason
                # moto has no Failed phase of its own: set the fields DescribeEndpoint reads.
                slot.endpoint.endpoint_status = "Failed"
                slot.endpoint.failure_reason = reason
                raise EndpointNotServed(reason) from error
            return slot.loaded

    def _s3(self, region: str) -> Any:
        with self._lock:
            client = self._s3_clients.get(region)
            if client is None:
                import boto3

                client = boto3.session.Session(region_name=region).client("s3")
                self._s3_clients[region] = client
            return client


def _failure_reason(error: Exception) -> str:
    if isinstance(error, ModelLoadError):
        text = f"Local serving could not load the model: {error}"
    else:
        text = f"Local serving could not load the model: {type(error).__name__}: {error}"
    if len(text) <= FAILURE_REASON_MAX:
        return text
    # Keep the start (what failed) and the end (the process's last output lines).
    head = FAILURE_REASON_MAX // 3
    return text[:head] + " ... " + text[-(FAILURE_REASON_MAX - head - 5) :]
