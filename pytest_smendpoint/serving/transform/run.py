"""One transform job run against a loaded model, as the job's agent runs it: GET
/execution-parameters, then each input object's mini-batches POSTed to /invocations with up to
MaxConcurrentTransforms x InstanceCount requests in flight (bounded by this machine's cores), the
answers assembled in input order into the object's output, stored only when the whole object
succeeded ("Batch transform doesn't upload partially processed objects ... If any object fails
in the transform job batch transform marks the job as failed", API_TransformOutput).

Where the objects come from and go to is the caller's (`read`, `store`); so is the model (any
ServedModel: the same container profiles and model processes as endpoints)."""

from __future__ import annotations

import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pytest_smendpoint.serving.errors import InvocationError
from pytest_smendpoint.serving.instance_cpus import local_cores
from pytest_smendpoint.serving.invocation import (
    EXECUTION_PARAMETERS_PATH,
    InvokeRequest,
    ServedModel,
)
from pytest_smendpoint.serving.transform.batches import (
    MiniBatch,
    RecordTooLarge,
    gunzipped,
    mini_batches,
)
from pytest_smendpoint.serving.transform.parameters import (
    DEFAULT_INVOCATION_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    JobSettings,
    Resolved,
    resolve,
)

COMPLETED = "Completed"
FAILED = "Failed"
STOPPED = "Stopped"
# DescribeTransformJob's FailureReason for a job whose data or container failed: the details are
# in the job's log only (field reports: aws/deep-learning-containers#586 quotes "AlgorithmError:
# See job logs for more information"; jobs failed by container 4xx/5xx answers report "ClientError:
# See job logs for more information").
CLIENT_ERROR = "ClientError: See job logs for more information"
# How long the agent gives GET /execution-parameters; unpublished (its /ping bound is 2 s).
EXECUTION_PARAMETERS_TIMEOUT = 10.0
# Mini-batches in flight per request slot: one being answered, one ready to go.
WINDOW_PER_SLOT = 2


@dataclass(frozen=True)
class InputObject:
    """An object of the job's input: `name` is how the data log shows it (bucket/key)."""

    name: str
    key: str


@dataclass
class Outcome:
    """How the run ended, and what it did."""

    status: str
    failure_reason: str | None = None
    objects: int = 0
    records: int = 0
    requests: int = 0
    resolved: Resolved | None = None


class _Stopped(Exception):
    """StopTransformJob arrived."""


class _ObjectFailed(Exception):
    """One object failed; its data-log lines are written."""


def concurrency(requested: int, instance_count: int, cores: int) -> int:
    """Requests in flight: MaxConcurrentTransforms per instance times the instances, bounded by
    the cores (the answers are the same at any concurrency; only the time differs)."""
    return max(1, min(requested * max(1, instance_count), cores))


class TransformRun:
    """One job's run; `run()` returns its outcome (it raises only for bugs)."""

    def __init__(
        self,
        settings: JobSettings,
        model: ServedModel,
        objects: Sequence[InputObject],
        read: Callable[[InputObject], Iterator[bytes]],
        store: Callable[[InputObject, IO[bytes]], None],
        *,
        stop: threading.Event,
        log: Callable[[str], None],
        cores: int | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.model = model
        self.objects = objects
        self.read = read
        self.store = store
        self.stop = stop
        self.log = log
        self.cores = local_cores() if cores is None else cores
        self.workdir = workdir
        self.outcome = Outcome(status=COMPLETED)
        self._lock = threading.Lock()

    def run(self) -> Outcome:
        outcome = self.outcome
        resolved = resolve(self.settings, self._execution_parameters())
        outcome.resolved = resolved
        self.log(resolved.log_line())
        slots = concurrency(
            resolved.max_concurrent_transforms, self.settings.instance_count, self.cores
        )
        failed = False
        with ThreadPoolExecutor(slots, thread_name_prefix="smendpoint-transform") as pool:
            for item in self.objects:
                if self.stop.is_set():
                    outcome.status = STOPPED
                    return outcome
                try:
                    self._transform_object(item, resolved, pool, slots)
                except _Stopped:
                    outcome.status = STOPPED
                    return outcome
                except _ObjectFailed:
                    failed = True  # the other objects still run, as on SageMaker
                    continue
                outcome.objects += 1
        if self.stop.is_set():
            outcome.status = STOPPED
        elif failed:
            outcome.status = FAILED
            outcome.failure_reason = CLIENT_ERROR
        return outcome

    def _execution_parameters(self) -> bytes | None:
        """The container's answer to GET /execution-parameters when it is a 200, else None (a
        404 from a container without the route: the agent goes on with its defaults)."""
        request = InvokeRequest(
            endpoint_name=self.settings.job_name,
            body=b"",
            path=EXECUTION_PARAMETERS_PATH,
            timeout=EXECUTION_PARAMETERS_TIMEOUT,
        )
        try:
            return self.model.invoke(request).body
        except InvocationError:
            return None

    def _transform_object(
        self, item: InputObject, resolved: Resolved, pool: ThreadPoolExecutor, slots: int
    ) -> None:
        chunks = self.read(item)
        if self.settings.compression == "Gzip":
            chunks = gunzipped(chunks)
        batches = mini_batches(
            chunks,
            resolved.max_payload_bytes,
            single_record=resolved.single_record,
            split_lines=self.settings.split_type == "Line",
        )
        window: deque[tuple[MiniBatch, Future[bytes]]] = deque()
        with tempfile.TemporaryFile(dir=self.workdir) as output:
            try:
                for batch in batches:
                    if self.stop.is_set():
                        raise _Stopped
                    window.append((batch, pool.submit(self._invoke, batch)))
                    while len(window) >= slots * WINDOW_PER_SLOT:
                        self._assemble(item, window.popleft(), output)
                while window:
                    self._assemble(item, window.popleft(), output)
            except RecordTooLarge as error:
                self._log_too_large(item, error, resolved)
                raise _ObjectFailed from None
            finally:
                for _, future in window:
                    future.cancel()
            output.seek(0)
            self.store(item, output)

    def _assemble(
        self, item: InputObject, queued: tuple[MiniBatch, Future[bytes]], output: IO[bytes]
    ) -> None:
        batch, future = queued
        try:
            body = future.result()
        except CancelledError:
            raise _Stopped from None
        except InvocationError as error:
            if self.stop.is_set():
                raise _Stopped from None
            self._log_container_error(item, error)
            raise _ObjectFailed from None
        output.write(body)
        # AssembleWith=Line: "add a newline character at the end of every transformed record"
        # (API_TransformOutput); after each answer, as the SDK's local mode writes it.
        if self.settings.assemble_with == "Line":
            output.write(b"\n")
        with self._lock:
            self.outcome.records += batch.records
            self.outcome.requests += 1

    def _invoke(self, batch: MiniBatch) -> bytes:
        """POST /invocations, retried on a 5xx or no answer (InvocationsMaxRetries); a 4xx is
        the data's fault and is not retried (SageMaker does not say which it retries)."""
        settings = self.settings
        timeout = settings.invocation_timeout or DEFAULT_INVOCATION_TIMEOUT
        retries = DEFAULT_MAX_RETRIES if settings.max_retries is None else settings.max_retries
        request = InvokeRequest(
            endpoint_name=settings.job_name,
            body=batch.body,
            content_type=settings.content_type,
            accept=settings.accept,
            timeout=timeout,
        )
        attempt = 0
        while True:
            if self.stop.is_set():
                raise InvocationError(500, "the job was stopped")
            try:
                return self.model.invoke(request).body
            except InvocationError as error:
                if error.status < 500 or attempt >= retries:
                    raise
                attempt += 1

    def _log_container_error(self, item: InputObject, error: InvocationError) -> None:
        """The data log's lines for an error answer (aws/amazon-sagemaker-examples#1620:
        `bucket/key: ClientError: 400`, `bucket/key: `, `bucket/key: Message:`, then the body)."""
        self.log(f"{item.name}: ClientError: {error.status}")
        self.log(f"{item.name}: ")
        self.log(f"{item.name}: Message:")
        for line in error.message.splitlines() or [""]:
            self.log(f"{item.name}: {line}")

    def _log_too_large(self, item: InputObject, error: RecordTooLarge, resolved: Resolved) -> None:
        # SageMaker's wording for this line is not published: ours names the record.
        self.log(
            f"{item.name}: {error}: MaxPayloadInMB={resolved.max_payload_mb} "
            f"({error.limit} bytes). To fix: raise MaxPayloadInMB (at most 100) or make the "
            "record smaller"
        )
