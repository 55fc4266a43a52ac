"""The invoker behind `sm_invoke`: a DataFrame in, one prediction per row out, aligned.

The frame is checked whole (`frame_checks`), encoded and split under the payload budget
(`csv_payloads`), sent concurrently through one runtime client while the next chunk is encoded,
and every answer is parsed (`prediction_parsing`) and put back in row order. A call that makes
one request makes it on the caller's thread: starting a thread pool costs more than a small
call's own work.
"""

from __future__ import annotations

import numbers
import os
import threading
import time
from collections import deque
from collections.abc import Hashable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    ReadTimeoutError,
)

from pytest_smendpoint.invoke.async_invocations import AsyncInvocationFailed, AsyncRequests
from pytest_smendpoint.invoke.csv_payloads import (
    PAYLOAD_CEILING_BYTES,
    Budget,
    CsvEncoder,
    Payload,
    iter_payloads,
    row_bytes_bound,
)
from pytest_smendpoint.invoke.errors import (
    EndpointInvocationError,
    InvokeArgumentError,
    InvokeError,
    PredictionCountError,
    shown,
)
from pytest_smendpoint.invoke.frame_checks import FrameRules, frame_rules, prepare
from pytest_smendpoint.invoke.prediction_parsing import Predictions, parse_predictions, to_pandas
from pytest_smendpoint.reporting.percentiles import percentile
from pytest_smendpoint.settings.endpoint_kinds import ServerlessSettings
from pytest_smendpoint.settings.limits import (
    ASYNC_PAYLOAD_CEILING_BYTES,
    CLIENT_READ_TIMEOUT_SECONDS,
    SERVERLESS_PAYLOAD_BUDGET_BYTES,
)
from pytest_smendpoint.settings.options import InvokeSettings

__all__ = [
    "PAYLOAD_CEILING_BYTES",
    "InvocationStats",
    "Invoker",
    "make_runtime_client",
]

CONTENT_TYPE = "text/csv"
# A frame this small is encoded in one chunk before its first request, so its payloads are known
# up front (one request: no thread pool).
_SMALL_FRAME_ROWS = 1024
# Chunks encoded at once for larger frames (pyarrow's writer releases the GIL). Not on two
# cores: there the model's processes (under moto) and the sending threads need the other core,
# and bench_invoke measured no gain from a second encoding thread in three runs, but more CPU
# (2.04 s against 1.90 s for 200,000 rows).
ENCODE_THREADS = 2 if (os.cpu_count() or 1) > 2 else 1


class RuntimeClient(Protocol):
    """What the invoker needs of a `sagemaker-runtime` client (tests pass fakes)."""

    def invoke_endpoint(self, **kwargs: Any) -> Mapping[str, Any]: ...


def make_runtime_client(
    boto_session: Any, invoke_settings: InvokeSettings, **client_kwargs: Any
) -> Any:
    """A runtime client fit for concurrent invokes: standard retries (throttling is retried with
    backoff) and a connection pool no smaller than the concurrency. A `config=` in
    `client_kwargs` is merged over these; other keywords (endpoint_url, ...) go to `client()`."""
    config = Config(
        retries={"mode": "standard", "max_attempts": 8},
        max_pool_connections=max(10, invoke_settings.max_concurrency),
        read_timeout=CLIENT_READ_TIMEOUT_SECONDS,
    )
    extra = client_kwargs.pop("config", None)
    if extra is not None:
        config = config.merge(extra)
    return boto_session.client("sagemaker-runtime", config=config, **client_kwargs)


@dataclass
class InvocationStats:
    """Counters for the session report; every request made through one Invoker adds to them."""

    rows: int = 0  # rows whose predictions came back
    requests: int = 0  # InvokeEndpoint calls made (botocore's own retries not counted)
    bytes_sent: int = 0
    errors: int = 0  # requests that failed or whose answer could not be used
    # botocore's retries: attempts beyond the first, counted as botocore makes them (a request
    # that failed after retrying counts its retries too), else ResponseMetadata.RetryAttempts.
    retries: int = 0
    # Requests that ended at the 60 s invocation bound (the endpoint's ModelError saying so) or
    # at the client's read timeout: the latencies of these measure the bound, not the model.
    timeouts: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    # Per call: its wall time while no request was in flight (checks, encoding, parsing, ...).
    client_ms: list[float] = field(default_factory=list)

    def record(
        self,
        payload: Payload,
        latency_ms: float,
        ok: bool,
        retries: int = 0,
        timed_out: bool = False,
    ) -> None:
        """Count one request (the Invoker calls this under its lock)."""
        self.requests += 1
        self.bytes_sent += len(payload.body)
        self.latencies_ms.append(latency_ms)
        self.retries += retries
        self.timeouts += int(timed_out)
        if ok:
            self.rows += payload.rows
        else:
            self.errors += 1

    def record_call(self, client_ms: float) -> None:
        """Count one call's client overhead (the Invoker calls this under its lock)."""
        self.client_ms.append(client_ms)

    def percentile(self, q: float) -> float | None:
        """The q-th percentile latency in ms (linear interpolation), None before any request."""
        return percentile(self.latencies_ms, q)

    def client_percentile(self, q: float) -> float | None:
        """The q-th percentile of the calls' client overhead in ms, None before any call."""
        return percentile(self.client_ms, q)

    @property
    def p50(self) -> float | None:
        return self.percentile(50)

    @property
    def p95(self) -> float | None:
        return self.percentile(95)

    @property
    def p99(self) -> float | None:
        return self.percentile(99)

    @property
    def max(self) -> float | None:
        return max(self.latencies_ms) if self.latencies_ms else None

    def summary(self) -> str:
        """One line for the session report."""
        line = (
            f"{self.requests} requests, {self.rows} rows, {self.bytes_sent / 1e6:.1f} MB sent, "
            f"{self.errors} errors, {self.retries} retries"
        )
        if self.timeouts:
            line += f", {self.timeouts} timeouts"
        if self.latencies_ms:
            line += (
                f"; latency ms p50 {self.p50:.1f}, p95 {self.p95:.1f}, p99 {self.p99:.1f}, "
                f"max {self.max:.1f}"
            )
        if self.client_ms:
            line += (
                f"; client ms per call p50 {self.client_percentile(50):.2f}, "
                f"p95 {self.client_percentile(95):.2f}, max {max(self.client_ms):.2f} "
                f"({len(self.client_ms)} calls, {sum(self.client_ms) / 1000:.2f} s in all)"
            )
        return line


@dataclass(frozen=True)
class _Plan:
    """One call's effective options: settings with the call's overrides applied and checked."""

    rules: FrameRules
    budget: Budget
    accept: str
    concurrency: int


class Invoker:
    """Predictions for a DataFrame from one endpoint; one instance per session fixture. With
    `asynchronous`, the endpoint is an asynchronous one: each payload is one InvokeEndpointAsync
    request through S3 (async_invocations.py), everything else as for real-time endpoints."""

    def __init__(
        self,
        runtime: RuntimeClient,
        endpoint_name: str,
        settings: InvokeSettings | None = None,
        serverless: ServerlessSettings | None = None,
        *,
        csv_float32: bool = False,
        asynchronous: AsyncRequests | None = None,
    ) -> None:
        self.runtime = runtime
        self.endpoint_name = endpoint_name
        self.settings = settings if settings is not None else InvokeSettings()
        self.asynchronous = asynchronous
        # A serverless endpoint's limits: 4 MB requests, MaxConcurrency in flight (more would
        # only be throttled). The session's budgets are clamped to them; a call asking for a
        # larger payload is refused.
        self.serverless = serverless if serverless is not None and serverless.enabled else None
        # The endpoint reads CSV numbers as float32: floats go as the shortest text of each
        # float32 (csv_payloads), unless the settings turn that off.
        self.float32_text = csv_float32 and self.settings.float32_csv
        self.stats = InvocationStats()
        self._stats_lock = threading.Lock()  # requests finish on the executor's threads
        # Attempts of the request in flight on each thread, counted as botocore makes them.
        self._attempts = threading.local()
        events = getattr(getattr(runtime, "meta", None), "events", None)
        if events is not None:
            for operation in ("InvokeEndpoint", "InvokeEndpointAsync"):
                events.register(
                    f"request-created.sagemaker-runtime.{operation}", self._count_attempt
                )

    def _count_attempt(self, **kwargs: Any) -> None:
        self._attempts.count = getattr(self._attempts, "count", 0) + 1

    def _retries(self, metadata_retries: int) -> int:
        """Retries of the request just finished on this thread."""
        attempts = getattr(self._attempts, "count", 0)
        return max(attempts - 1, metadata_retries, 0)

    def __call__(
        self,
        df: pd.DataFrame,
        *,
        label: Hashable | Sequence[Hashable] | None = None,
        features: Sequence[str] | int | None = None,
        allow_nan: bool = False,
        allow_strings: bool = False,
        accept: str | None = None,
        max_payload_bytes: int | None = None,
        max_rows_per_request: int | None = None,
        max_concurrency: int | None = None,
    ) -> pd.Series | pd.DataFrame:
        """Every row's prediction, as few requests as the budgets allow, aligned with df.index."""
        started = time.perf_counter()
        plan = self._plan(
            label,
            features,
            allow_nan,
            allow_strings,
            accept,
            max_payload_bytes,
            max_rows_per_request,
            max_concurrency,
            single_record=False,
        )
        return self._run(df, plan, started)

    def rows(
        self,
        df: pd.DataFrame,
        *,
        label: Hashable | Sequence[Hashable] | None = None,
        features: Sequence[str] | int | None = None,
        allow_nan: bool = False,
        allow_strings: bool = False,
        accept: str | None = None,
        max_payload_bytes: int | None = None,
        max_concurrency: int | None = None,
    ) -> pd.Series | pd.DataFrame:
        """One request per row, each body a single CSV record without a trailing newline (as the
        SDK's CSVSerializer sends one record), for models that take one record per request."""
        started = time.perf_counter()
        plan = self._plan(
            label,
            features,
            allow_nan,
            allow_strings,
            accept,
            max_payload_bytes,
            1,
            max_concurrency,
            single_record=True,
        )
        return self._run(df, plan, started)

    def _plan(
        self,
        label: Hashable | Sequence[Hashable] | None,
        features: Sequence[str] | int | None,
        allow_nan: bool,
        allow_strings: bool,
        accept: str | None,
        max_payload_bytes: int | None,
        max_rows_per_request: int | None,
        max_concurrency: int | None,
        single_record: bool,
    ) -> _Plan:
        settings = self.settings
        rules = frame_rules(settings, label, features, allow_nan, allow_strings)
        ceiling, limit = PAYLOAD_CEILING_BYTES, "SageMaker's real-time InvokeEndpoint limit"
        session_bytes, session_concurrency = settings.max_payload_bytes, settings.max_concurrency
        if self.serverless is not None:
            ceiling = SERVERLESS_PAYLOAD_BUDGET_BYTES
            limit = "a serverless endpoint's 4 MB limit"
            session_bytes = min(session_bytes, ceiling)
            session_concurrency = min(session_concurrency, self.serverless.max_concurrency or 1)
        elif self.asynchronous is not None:
            # Up to 1 GB per request; the session's budget still splits a frame as for
            # real-time (the requests then run side by side, queued by the endpoint).
            ceiling, limit = ASYNC_PAYLOAD_CEILING_BYTES, "SageMaker's InvokeEndpointAsync limit"
        max_bytes = _choose(max_payload_bytes, session_bytes)
        if not 0 < max_bytes <= ceiling:
            raise InvokeArgumentError(
                f"max_payload_bytes={max_bytes}: must be above 0 and at most {ceiling} ({limit})"
            )
        max_rows = _choose(max_rows_per_request, settings.max_rows_per_request)
        if max_rows is not None:
            _check_count("max_rows_per_request", max_rows)
        concurrency = _choose(max_concurrency, session_concurrency)
        _check_count("max_concurrency", concurrency)
        return _Plan(
            rules=rules,
            budget=Budget(max_bytes, max_rows, single_record),
            accept=accept or settings.accept,
            concurrency=concurrency,
        )

    def _run(self, df: pd.DataFrame, plan: _Plan, started: float) -> pd.Series | pd.DataFrame:
        """The call, counted in the stats: its wall time minus the time some request was in
        flight is the client's own overhead."""
        waits: list[tuple[float, float]] = []
        try:
            return self._predict(df, plan, waits)
        finally:
            client_ms = _ms_since(started) - _covered_ms(waits)
            with self._stats_lock:
                self.stats.record_call(client_ms)

    def _predict(
        self, df: pd.DataFrame, plan: _Plan, waits: list[tuple[float, float]]
    ) -> pd.Series | pd.DataFrame:
        prepared = prepare(df, plan.rules)
        if len(prepared.frame) == 0:
            return pd.Series([], index=df.index, dtype="float64")
        frame = prepared.frame
        bound = row_bytes_bound(frame)
        payloads: Iterator[Payload] | list[Payload]
        encoder = CsvEncoder(frame, float32=self.float32_text)
        payloads = iter_payloads(encoder, frame.index, plan.budget, bound, ENCODE_THREADS)
        if bound is None or bound > plan.budget.max_bytes:
            # Some row may not fit: split it all before the first request, so that such a row
            # is an error before any traffic, at the cost of not overlapping encode and send.
            payloads = list(payloads)
        elif len(frame) <= _SMALL_FRAME_ROWS:
            payloads = list(payloads)  # one chunk (unless rows are wide): encoded up front anyway
        parts = self._send_all(payloads, frame.index, plan, waits)
        return to_pandas(parts, df.index)

    def _send_all(
        self,
        payloads: Iterator[Payload] | list[Payload],
        index: pd.Index,
        plan: _Plan,
        waits: list[tuple[float, float]],
    ) -> list[Predictions]:
        """Answers in payload order; the next payloads are encoded while earlier ones are in
        flight, and the first failure (in row order) cancels what has not started."""
        if isinstance(payloads, list) and len(payloads) == 1:
            return [self._send(payloads[0], index, plan.accept, waits)]
        window = 2 * plan.concurrency  # enough queued that no worker waits on the encoder
        answers: list[Predictions] = []
        pending: deque[Future[Predictions]] = deque()
        with ThreadPoolExecutor(plan.concurrency, thread_name_prefix="sm-invoke") as pool:
            try:
                for payload in payloads:
                    while len(pending) >= window:
                        answers.append(pending.popleft().result())
                    pending.append(pool.submit(self._send, payload, index, plan.accept, waits))
                while pending:
                    answers.append(pending.popleft().result())
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
        return answers

    def _send(
        self, payload: Payload, index: pd.Index, accept: str, waits: list[tuple[float, float]]
    ) -> Predictions:
        """One request; `waits` gets the span it was in flight (list.append is atomic)."""
        rows = describe_rows(index, payload.start, payload.stop)
        self._attempts.count = 0
        started = time.perf_counter()
        try:
            response = self._exchange(payload.body, accept, rows)
            body = response["Body"].read()
        except AsyncInvocationFailed as exc:
            ended = time.perf_counter()
            waits.append((started, ended))
            self._record(
                payload,
                (ended - started) * 1000.0,
                ok=False,
                retries=self._retries(0),
                timed_out=exc.timed_out,
            )
            raise EndpointInvocationError(
                self.endpoint_name, rows, exc.code, f"{exc.code}: {exc.reason}", self._operation
            ) from None
        except (ClientError, BotoCoreError) as exc:
            ended = time.perf_counter()
            waits.append((started, ended))
            metadata = getattr(exc, "response", {}).get("ResponseMetadata", {})
            self._record(
                payload,
                (ended - started) * 1000.0,
                ok=False,
                retries=self._retries(int(metadata.get("RetryAttempts", 0))),
                timed_out=_timed_out(exc),
            )
            raise self._call_error(exc, rows) from exc
        except BaseException:
            waits.append((started, time.perf_counter()))
            raise
        ended = time.perf_counter()
        waits.append((started, ended))
        latency = (ended - started) * 1000.0
        retries = self._retries(int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0)))
        where = f"endpoint {self.endpoint_name!r}, {rows}"
        try:
            whole = payload.start == 0 and payload.stop == len(index)  # the call's one request
            parsed = parse_predictions(
                body, response.get("ContentType"), payload.rows, where, whole=whole
            )
            if len(parsed.rows) != payload.rows:
                raise PredictionCountError(self.endpoint_name, rows, payload.rows, len(parsed.rows))
        except InvokeError:
            self._record(payload, latency, ok=False, retries=retries)
            raise
        self._record(payload, latency, ok=True, retries=retries)
        return parsed

    @property
    def _operation(self) -> str:
        return "InvokeEndpoint" if self.asynchronous is None else "InvokeEndpointAsync"

    def _exchange(self, body: bytes, accept: str, rows: str) -> Mapping[str, Any]:
        """One request and its answer (Body, ContentType), however the endpoint takes it."""
        if self.asynchronous is not None:
            return self.asynchronous.invoke(
                self.runtime, self.endpoint_name, body, CONTENT_TYPE, accept, rows
            )
        return self.runtime.invoke_endpoint(
            EndpointName=self.endpoint_name, Body=body, ContentType=CONTENT_TYPE, Accept=accept
        )

    def _record(
        self,
        payload: Payload,
        latency_ms: float,
        ok: bool,
        retries: int = 0,
        timed_out: bool = False,
    ) -> None:
        with self._stats_lock:
            self.stats.record(payload, latency_ms, ok, retries, timed_out)

    def _call_error(self, exc: ClientError | BotoCoreError, rows: str) -> EndpointInvocationError:
        if isinstance(exc, BotoCoreError):
            return EndpointInvocationError(
                self.endpoint_name, rows, type(exc).__name__, str(exc), self._operation
            )
        response: Mapping[str, Any] = exc.response
        error = response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        # A ModelError carries the container's own status and message beside AWS's wrapper text.
        message = response.get("OriginalMessage") or error.get("Message", "")
        reason = f"{code}: {message}"
        if response.get("OriginalStatusCode"):
            reason = f"{code} (the container answered {response['OriginalStatusCode']}): {message}"
        if response.get("LogStreamArn"):
            reason += f" (log stream {response['LogStreamArn']})"
        return EndpointInvocationError(self.endpoint_name, rows, code, reason, self._operation)


def describe_rows(index: pd.Index, start: int, stop: int) -> str:
    """`rows 10000-19999` by position, with the index labels when they are not the positions."""
    last = stop - 1
    text = f"row {start}" if start == last else f"rows {start}-{last}"
    positional = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    if not positional:
        labels = shown(index[start]) + ("" if start == last else f" to {shown(index[last])}")
        text += f" (index {labels})"
    return text


# How a request cut at the invocation bound reads: the local serving's words, SageMaker's
# ("Your invocation timed out while waiting for a response from container primary"), or the
# client's own read timeout.
_TIMEOUT_WORDS = ("did not answer within", "invocation timed out")


def _timed_out(exc: ClientError | BotoCoreError) -> bool:
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError)):
        return True
    if not isinstance(exc, ClientError):
        return False
    response: Mapping[str, Any] = exc.response
    text = f"{response.get('OriginalMessage', '')} {response.get('Error', {}).get('Message', '')}"
    return any(words in text for words in _TIMEOUT_WORDS)


def _check_count(name: str, value: Any) -> None:
    """A count is an integer above 0 (numpy's too): not True (an int to Python), not 2.5."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise InvokeArgumentError(f"{name}={value!r}: must be a positive integer")


def _choose(value: Any, default: Any) -> Any:
    return default if value is None else value


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _covered_ms(spans: list[tuple[float, float]]) -> float:
    """How long, in ms, at least one of the (start, end) spans was open."""
    total, reached = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reached:
            total += end - max(start, reached)
            reached = end
    return total * 1000.0
