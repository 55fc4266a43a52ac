"""sm_invoke on an asynchronous endpoint: one payload is one InvokeEndpointAsync request.

The payload goes to S3 under the session's prefix, InvokeEndpointAsync names it (InputLocation),
and the answer is read from the OutputLocation SageMaker gives back, or the container's error
from the FailureLocation, whichever appears first, polled with backoff and bounded by the
request's InvocationTimeoutSeconds. Each request deletes its own objects when it ends (input,
and the output or failure it read), whatever happened; what it could not delete, or what may
still appear (a request that timed out may be answered later), goes on the `leftovers` list the
caller deletes after the endpoint is gone (the session's S3 uploads).

The invoker (invoker.py) does the rest exactly as for real-time endpoints: the same frame
checks, CSV and splitting, the same parsing, the same errors.
"""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

OPERATION = "InvokeEndpointAsync"
# The error code of a request that got no answer in time (the failure object's is SageMaker's).
TIMEOUT = "Timeout"
# How long past InvocationTimeoutSeconds the invoker still looks for an answer: SageMaker writes
# the output (or failure) object after the container answers, and a queued request starts late.
DEFAULT_GRACE_SECONDS = 30.0
# Between polls of the output and failure objects: a short first look (a small model answers in
# milliseconds), backing off to a poll every 5 s.
FIRST_POLL_SECONDS = 0.05
POLL_FACTOR = 1.5
POLL_CEILING_SECONDS = 5.0
# A request shows a progress line once it has waited this long (most answer well before).
PROGRESS_AFTER_SECONDS = 5.0
_MISSING = ("NoSuchKey", "404", "NotFound")


class AsyncInvocationFailed(Exception):
    """The request ended without an output object: the failure object's text (SageMaker's, or
    the container's own error), or no answer within the bound."""

    def __init__(self, code: str, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.timed_out = timed_out


# (endpoint, inference id, rows) -> the request's on_status(status, elapsed seconds).
ProgressFactory = Callable[[str, str, str], Callable[[str, float], None]]


def _sleep(inference_id: str, seconds: float) -> None:
    # Polling real S3 between GetObject attempts; the moto backend replaces this pause with its
    # own event (the request's end), so no poll sleeps against moto in-process.
    time.sleep(seconds)  # sleep-ok


@dataclass
class AsyncRequests:
    """How an Invoker sends one payload to an asynchronous endpoint.

    `input_prefix()` is the s3:// prefix the inputs go under (resolved on the first request:
    the account's bucket may need creating); `pause(inference_id, seconds)` waits between polls
    (a backend that answers the request itself ends it as soon as the answer is written);
    `clock` and `pause` are what tests replace to run without waiting."""

    s3: Any
    input_prefix: Callable[[], str]
    invocation_timeout: int
    leftovers: list[str] = field(default_factory=list)
    pause: Callable[[str, float], None] = _sleep
    clock: Callable[[], float] = time.monotonic
    grace: float = DEFAULT_GRACE_SECONDS
    progress: ProgressFactory | None = None
    _prefix: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(
        self,
        runtime: Any,
        endpoint_name: str,
        body: bytes,
        content_type: str,
        accept: str,
        rows: str = "",
    ) -> Mapping[str, Any]:
        """One request: an answer shaped as InvokeEndpoint's (Body, ContentType), or
        AsyncInvocationFailed; botocore's own errors (a ValidationError) are raised as they are."""
        bucket, key = _split(f"{self._input_prefix()}{uuid.uuid4().hex}.csv")
        input_uri = f"s3://{bucket}/{key}"
        written = [input_uri]
        pending: list[str] = []  # objects that may still appear after this request gives up
        try:
            self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
            response = runtime.invoke_endpoint_async(
                EndpointName=endpoint_name,
                InputLocation=input_uri,
                ContentType=content_type,
                Accept=accept,
                InvocationTimeoutSeconds=self.invocation_timeout,
            )
            inference_id = str(response.get("InferenceId", ""))
            output = response.get("OutputLocation")
            failure = response.get("FailureLocation")
            watched = [uri for uri in (output, failure) if uri]
            pending += watched
            try:
                answer = self._answer(inference_id, output, failure, (endpoint_name, rows))
            except AsyncInvocationFailed as failed:
                if failed.code != TIMEOUT:  # answered with a failure object: read, so deleted
                    pending.clear()
                    written += watched
                raise
            pending.clear()
            written += watched
            return answer
        finally:
            self._delete(written)
            self._keep(pending)

    def _answer(
        self,
        inference_id: str,
        output: str | None,
        failure: str | None,
        shown_as: tuple[str, str] = ("", ""),
    ) -> Mapping[str, Any]:
        """Poll both objects until one exists, within the invocation timeout and the grace; a
        long wait has a progress line, ended with how the request ended."""
        limit = self.invocation_timeout + self.grace
        started = self.clock()
        status: Callable[[str, float], None] | None = None
        ended = "Failed"
        try:
            for delay in _delays():
                answer = self._look(inference_id, output, failure, limit, started)
                if answer is not None:
                    ended = "Completed"
                    return answer
                waited = self.clock() - started
                if (
                    status is None
                    and self.progress is not None
                    and waited >= PROGRESS_AFTER_SECONDS
                ):
                    status = self.progress(shown_as[0], inference_id, shown_as[1])
                if status is not None:
                    status("InProgress", waited)
                self.pause(inference_id, max(0.0, min(delay, limit - waited)))
            raise AssertionError("unreachable")  # _delays() never ends
        except AsyncInvocationFailed as failed:
            ended = "TimedOut" if failed.code == TIMEOUT else "Failed"
            raise
        finally:
            if status is not None:
                status(ended, self.clock() - started)

    def _look(
        self,
        inference_id: str,
        output: str | None,
        failure: str | None,
        limit: float,
        started: float,
    ) -> Mapping[str, Any] | None:
        """One look at both objects: the answer, the failure raised, None to wait on."""
        if output:
            found = self._read(output)
            if found is not None:
                data, content_type = found
                return {"Body": io.BytesIO(data), "ContentType": content_type}
        if failure:
            found = self._read(failure)
            if found is not None:
                text = found[0].decode("utf-8", errors="replace")  # as the container said it
                raise AsyncInvocationFailed(
                    "AsyncInferenceFailure",
                    f"{text} (failure object {failure}, inference {inference_id})",
                    timed_out=_says_timed_out(text),
                )
        if self.clock() - started >= limit:
            raise AsyncInvocationFailed(
                TIMEOUT,
                f"no answer at {output} (nor a failure at {failure}) within "
                f"InvocationTimeoutSeconds={self.invocation_timeout} and "
                f"{self.grace:.0f} s more (inference {inference_id})",
                timed_out=True,
            )
        return None

    def _read(self, uri: str) -> tuple[bytes, str | None] | None:
        bucket, key = _split(uri)
        try:
            got = self.s3.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        return got["Body"].read(), got.get("ContentType")

    def _input_prefix(self) -> str:
        with self._lock:
            if self._prefix is None:
                prefix = self.input_prefix()
                self._prefix = prefix if prefix.endswith("/") else f"{prefix}/"
            return self._prefix

    def _delete(self, uris: list[str]) -> None:
        """Delete now; what fails is left for the session's end."""
        for uri in uris:
            bucket, key = _split(uri)
            try:
                self.s3.delete_object(Bucket=bucket, Key=key)
            except (ClientError, BotoCoreError):
                self._keep([uri])

    def _keep(self, uris: list[str]) -> None:
        with self._lock:
            self.leftovers.extend(uri for uri in uris if uri not in self.leftovers)


def _delays() -> Iterator[float]:
    delay = FIRST_POLL_SECONDS
    while True:
        yield delay
        delay = min(delay * POLL_FACTOR, POLL_CEILING_SECONDS)


def _says_timed_out(text: str) -> bool:
    lowered = text.lower()
    return "timed out" in lowered or "did not answer within" in lowered


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key
