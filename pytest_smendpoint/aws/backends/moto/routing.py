"""Answer sagemaker-runtime calls in botocore, before moto sees them.

One process-wide dispatcher sits in botocore's BUILTIN_HANDLERS (where moto puts its own stubber),
so every session and client made later gets it; install()/close() only point it at a serving."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from pytest_smendpoint.serving.errors import (
    EndpointNotFound,
    EndpointNotServed,
    InvocationError,
    InvocationRefused,
    LocalServingError,
    PayloadTooLarge,
    Throttled,
)
from pytest_smendpoint.serving.invocation import InvokeRequest
from pytest_smendpoint.settings.limits import PAYLOAD_CEILING_BYTES

if TYPE_CHECKING:
    from pytest_smendpoint.serving.local_serving import LocalServing

logger = logging.getLogger("pytest_smendpoint.serving")

EVENT = "before-send.sagemaker-runtime"
UNIQUE_ID = "pytest-smendpoint-local-serving"
# Where an answered request is pointed before moto's own before-send handler sees it.
ANSWERED_URL = "https://smendpoint-local.invalid/answered"
# botocore runs every before-send handler even once one has answered (the first non-None
# response wins), so moto's stubber would still parse the whole body (0.45 s per 5 MB) and
# throw the result away. moto skips any URL matching a passthrough regex: after answering we
# point the request at ANSWERED_URL, which MOTO_CONFIG lists, and moto returns None for it.
# A client created before install() has no dispatcher; it reaches moto unchanged and gets
# moto's canned b"body", never the network. Of the answers given here (200, 400, 413, 424) only
# ThrottlingException is retried by botocore, and a retry builds a new request from the call's
# parameters, which comes back to the dispatcher: the rewritten URL is never sent anywhere.
# mock_aws(config=...) merges only the top level: "core" replaces moto's whole core section,
# so moto's other core defaults are spelled out. Merge "core" key by key to add your own.
MOTO_CONFIG: dict[str, Any] = {
    "core": {
        "mock_credentials": True,
        "passthrough": {"urls": [re.escape(ANSWERED_URL)], "services": []},
        "reset_boto3_session": True,
        "service_whitelist": None,
    },
}

_CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
_HOST_REGION = re.compile(r"runtime\.sagemaker\.([a-z0-9-]+)\.amazonaws")
_PATH = re.compile(r"^/endpoints/([^/]+)/([a-z-]+)$")
# One answer: status, headers, body.
Answer = tuple[int, dict[str, str], bytes]
# A sagemaker-runtime operation answered beside InvokeEndpoint (by a module above this one,
# InvokeEndpointAsync): (endpoint name, the request, its region) -> the answer.
Operation = Callable[[str, AWSPreparedRequest, str], Answer]
NO_OPERATIONS: Mapping[str, Operation] = MappingProxyType({})
# InvokeEndpoint's CustomAttributes: at most 1024 characters (the API reference's constraint).
CUSTOM_ATTRIBUTES_MAX = 1024


class _RawBody(io.BytesIO):
    """A response body botocore can read: a BytesIO with urllib3's stream() (as moto's)."""

    def stream(self, amt: int | None = None, decode_content: bool | None = None) -> Iterator[bytes]:
        chunk = self.read(amt or 65536)
        while chunk:
            yield chunk
            chunk = self.read(amt or 65536)


class _Dispatcher:
    """The before-send handler: answers from the attached serving, or lets the call through."""

    def __init__(self) -> None:
        self.serving: LocalServing | None = None
        self.operations: Mapping[str, Operation] = NO_OPERATIONS

    def __call__(
        self, request: AWSPreparedRequest, event_name: str = "", **kwargs: Any
    ) -> AWSResponse | None:
        serving = self.serving
        if serving is None:
            return None
        operation = event_name.rsplit(".", 1)[-1]
        status, headers, body = answer(serving, operation, request, self.operations)
        request.url = ANSWERED_URL  # see MOTO_CONFIG
        headers["Content-Length"] = str(len(body))
        headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return AWSResponse(ANSWERED_URL, status, headers, _RawBody(body))


_DISPATCHER = _Dispatcher()
_REGISTER_LOCK = threading.Lock()


def attach(serving: LocalServing, operations: Mapping[str, Operation] = NO_OPERATIONS) -> None:
    """Point the dispatcher at `serving` (and the other `operations` it answers) and make sure
    botocore calls it."""
    import boto3
    from botocore.handlers import BUILTIN_HANDLERS, REGISTER_FIRST

    with _REGISTER_LOCK:
        if _DISPATCHER.serving is not None and _DISPATCHER.serving is not serving:
            raise LocalServingError("another LocalServing is installed; close() it first")
        if not any(spec[1] is _DISPATCHER for spec in BUILTIN_HANDLERS):
            BUILTIN_HANDLERS.append((EVENT, _DISPATCHER, REGISTER_FIRST))
        # Sessions copy BUILTIN_HANDLERS when they are made: boto3's default session (behind
        # boto3.client(...)) may already exist. unique_id keeps this to one registration.
        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION.events.register_first(EVENT, _DISPATCHER, unique_id=UNIQUE_ID)
        _DISPATCHER.serving = serving
        _DISPATCHER.operations = operations


def detach(serving: LocalServing) -> None:
    """Stop answering for `serving`; the dispatcher stays registered, disabled."""
    with _REGISTER_LOCK:
        if _DISPATCHER.serving is serving:
            _DISPATCHER.serving = None
            _DISPATCHER.operations = NO_OPERATIONS


def answer(
    serving: LocalServing,
    operation: str,
    request: AWSPreparedRequest,
    operations: Mapping[str, Operation] = NO_OPERATIONS,
) -> Answer:
    """One sagemaker-runtime call as (status, headers, body), with SageMaker's error shapes."""
    path = urlsplit(request.url).path
    match = _PATH.match(path)
    name = unquote(match.group(1)) if match else path
    if operation in operations:
        return operations[operation](name, request, _region(request, serving.region))
    if operation != "InvokeEndpoint":
        return validation_error(
            f"{operation} on endpoint {name} is not served locally by pytest-smendpoint; "
            "use InvokeEndpoint"
        )
    return invoke_endpoint(serving, name, request, _region(request, serving.region))


def invoke_endpoint(
    serving: LocalServing, name: str, request: AWSPreparedRequest, region: str
) -> Answer:
    """InvokeEndpoint on a real-time or serverless endpoint (another operation may check the
    endpoint's kind first: async_invocations.py)."""
    headers = request.headers
    body = _body_bytes(request.body)
    if len(body) > PAYLOAD_CEILING_BYTES:
        return _too_large(PAYLOAD_CEILING_BYTES)
    custom_attributes = header(headers, "X-Amzn-SageMaker-Custom-Attributes")
    if custom_attributes is not None and len(custom_attributes) > CUSTOM_ATTRIBUTES_MAX:
        # The API's constraint (botocore checks no maximum length), in AWS's own words.
        return validation_error(
            f"1 validation error detected: Value at 'customAttributes' failed to satisfy "
            f"constraint: Member must have length less than or equal to {CUSTOM_ATTRIBUTES_MAX}"
        )
    invoke = InvokeRequest(
        endpoint_name=name,
        body=body,
        content_type=header(headers, "Content-Type"),
        accept=header(headers, "Accept"),
        custom_attributes=custom_attributes,
        target_variant=header(headers, "X-Amzn-SageMaker-Target-Variant"),
    )
    try:
        result, variant = serving.invoke(invoke, region)
    except EndpointNotFound as error:
        return validation_error(str(error))
    except EndpointNotServed as error:
        return validation_error(
            f"Endpoint {name} of account {serving.account_id} is not in service: {error}"
        )
    except InvocationRefused as error:  # an unknown TargetVariant, no variant with weight
        return validation_error(str(error))
    except PayloadTooLarge as error:  # over a serverless endpoint's 4 MiB
        return _too_large(error.limit)
    except Throttled as error:
        logger.info("%s: answered ThrottlingException", error)
        return _throttled()
    except InvocationError as error:
        return _model_error(serving, name, error.status, error.message)
    except Exception as error:  # a bug here must reach the caller as an error, not hang it
        logger.exception("local serving failed on endpoint %s", name)
        return _model_error(serving, name, 500, f"{type(error).__name__}: {error}")
    # InvokedProductionVariant: the variant that answered (TargetVariant's, or the one drawn by
    # weight), as botocore reads it from this header.
    out = {"Content-Type": result.content_type, "x-Amzn-Invoked-Production-Variant": variant}
    if result.custom_attributes is not None:
        out["X-Amzn-SageMaker-Custom-Attributes"] = result.custom_attributes
    return 200, out, result.body


def validation_error(message: str) -> Answer:
    # rest-json: botocore takes the code from x-amzn-ErrorType and the text from "message".
    headers = {"x-amzn-ErrorType": "ValidationError", "Content-Type": "application/json"}
    return 400, headers, json.dumps({"message": message}).encode("utf-8")


def _too_large(limit: int) -> tuple[int, dict[str, str], bytes]:
    # SageMaker's front end refuses a body over the real-time limit before any endpoint lookup
    # (botocore does not check BodyBlob's max): HTTP 413, no x-amzn-ErrorType, so botocore's
    # error code is the status, "413" (field report aws/sagemaker-python-sdk#171, from the days
    # of a 5,246,976-byte limit: "HTTP content length exceeded 5246976 bytes."). A serverless
    # endpoint's smaller limit is answered in the same shape, with its own number (no field
    # report gives that answer's text).
    message = f"HTTP content length exceeded {limit} bytes."
    return 413, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode()


def _throttled() -> tuple[int, dict[str, str], bytes]:
    # SageMaker Runtime's throttling: HTTP 400, error code ThrottlingException and a null message
    # (the API reference's CommonErrors lists ThrottlingException as 400; field reports:
    # "AmazonSageMakerRuntimeException: null (Service: AmazonSageMakerRuntime; Status Code: 400;
    # Error Code: ThrottlingException)", aws/amazon-kinesis-video-streams-parser-library#187;
    # "An error occurred (ThrottlingException) when calling the InvokeEndpoint operation
    # (reached max retries: 4): None", aws-samples/amazon-sagemaker-nlu-search#4; "{"message":
    # null}", opensearch-project/ml-commons#2429). botocore's legacy, standard and adaptive
    # retry modes all retry that code, so these requests are sent again (the URL rewritten by
    # the dispatcher is rebuilt for each attempt, which comes back here).
    headers = {"x-amzn-ErrorType": "ThrottlingException", "Content-Type": "application/json"}
    return 400, headers, json.dumps({"message": None}).encode("utf-8")


def _model_error(
    serving: LocalServing, name: str, status: int, message: str
) -> tuple[int, dict[str, str], bytes]:
    kind = "client" if 400 <= status < 500 else "server"
    log_stream = (
        f"arn:aws:logs:{serving.region}:{serving.account_id}:log-group:"
        f"/aws/sagemaker/Endpoints/{name}"
    )
    text = (
        f'Received {kind} error ({status}) from primary with message "{message}". '
        "See the log of logger pytest_smendpoint.serving for more information."
    )
    body = {
        "message": text,
        "OriginalStatusCode": status,
        "OriginalMessage": message,
        "LogStreamArn": log_stream,
    }
    headers = {"x-amzn-ErrorType": "ModelError", "Content-Type": "application/json"}
    return 424, headers, json.dumps(body).encode("utf-8")


def header(headers: Any, name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):  # a file object given as Body
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return bytes(body)


def _region(request: AWSPreparedRequest, default: str) -> str:
    """The region the client signed for (else its URL's), which picks moto's backend."""
    authorization = header(request.headers, "Authorization") or ""
    match = _CREDENTIAL_REGION.search(authorization) or _HOST_REGION.search(request.url)
    return match.group(1) if match else default
