"""A moto server on 127.0.0.1 with the deployed models served for real behind it: the mocked
account pytest-xdist's workers share (the controller runs it; workers point AWS_ENDPOINT_URL at it).

Requests reach moto's own WSGI app unchanged, except sagemaker-runtime invocations, which a
middleware answers with `LocalServing` before moto's request parser ever reads the body (it costs
0.45 s per 5 MB, measured). Models are loaded and unloaded by moto's own CreateEndpoint and
DeleteEndpoint (hooks.py), as in-process.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from botocore.awsrequest import AWSPreparedRequest

from pytest_smendpoint.aws.backends.moto import served_by
from pytest_smendpoint.aws.backends.moto.routing import answer
from pytest_smendpoint.aws.backends.moto.served_by import SERVED_BY_PATH
from pytest_smendpoint.aws.backends.moto.serving import MotoServing

# sagemaker-runtime paths: /endpoints/{name}/invocations (InvokeEndpoint), .../async-invocations,
# .../invocations-response-stream. Several services are signed "sagemaker"; only runtime uses this.
_RUNTIME_PATH = re.compile(
    r"^/endpoints/[^/]+/(invocations|async-invocations|invocations-response-stream)$"
)
_OPERATIONS = {
    "invocations": "InvokeEndpoint",
    "async-invocations": "InvokeEndpointAsync",
    "invocations-response-stream": "InvokeEndpointWithResponseStream",
}
# SigV4 credential scope: Credential=AKID/20261125/us-east-1/sagemaker/aws4_request.
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")

StartResponse = Callable[..., Any]


class ServerSideServing(MotoServing):
    """MotoServing in the process that runs the server: it has no mock_aws, so it reads the
    model data from the mocked S3 through the server itself, with the server's fake credentials."""

    def __init__(self, url: str, region: str, account_id: str, **options: Any) -> None:
        super().__init__(region, account_id, **options)
        self.url = url
        self._clients_lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def install(self) -> None:
        """Load the models of every endpoint moto creates, and run its transform jobs;
        invocations reach this through ServingMiddleware, not botocore, so routing's dispatcher
        is left alone."""
        from pytest_smendpoint.aws.backends.moto import hooks, transforms

        hooks.attach(self)
        transforms.attach(self.transforms)

    def _s3(self, region: str) -> Any:
        # Overrides LocalServing._s3, whose default client would follow this process's own AWS
        # environment (real credentials, maybe a real account): only loopback is allowed here.
        with self._clients_lock:
            client = self._clients.get(region)
            if client is None:
                import boto3

                client = boto3.session.Session(
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                    region_name=region,
                ).client("s3", endpoint_url=self.url)
                self._clients[region] = client
            return client


class ServingMiddleware:
    """WSGI middleware in front of moto's app; see the module docstring for what it takes over."""

    def __init__(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self.app = app
        self.serving: MotoServing | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        serving = self.serving
        if serving is None:
            return self.app(environ, start_response)
        path = environ.get("PATH_INFO", "")
        described = SERVED_BY_PATH.match(path)
        if described and environ.get("REQUEST_METHOD") == "GET":
            name = unquote(described.group(1))
            payload = served_by.answer(
                serving.runtime_description(name), serving.reads_csv_as_float32(name)
            )
            start_response("200 OK", [("Content-Type", "application/json")])
            return [payload]
        runtime = _RUNTIME_PATH.match(path)
        if runtime and environ.get("REQUEST_METHOD") == "POST" and _service(environ) == "sagemaker":
            return self._invoke(serving, _OPERATIONS[runtime.group(1)], environ, start_response)
        return self.app(environ, start_response)

    def _invoke(
        self,
        serving: MotoServing,
        operation: str,
        environ: dict[str, Any],
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        from werkzeug.datastructures import EnvironHeaders
        from werkzeug.wsgi import get_input_stream

        body = get_input_stream(environ).read()
        host = environ.get("HTTP_HOST", "127.0.0.1")
        # routing.answer reads what botocore would have sent: url, headers (case-insensitive
        # get) and body; building that request reuses its InvokeRequest and error shapes as is.
        request = AWSPreparedRequest(
            "POST",
            f"http://{host}{environ.get('PATH_INFO', '')}",
            EnvironHeaders(environ),
            body,
            False,
        )
        status, headers, payload = answer(serving, operation, request, serving.operations)
        headers["Content-Length"] = str(len(payload))
        start_response(_status_line(status), list(headers.items()))
        return [payload]


def _service(environ: dict[str, Any]) -> str | None:
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(2) if match else None


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


class SharedMotoServer:
    """moto's server app (as `ThreadedMotoServer` builds it) behind `ServingMiddleware`, in a
    thread of this process: LocalServing reads moto's in-memory backends directly."""

    def __init__(
        self,
        region: str,
        account_id: str,
        **options: Any,
    ) -> None:
        """`options`: LocalServing's keywords (aws.backends.serving_options)."""
        self.region = region
        self.account_id = account_id
        self._options: dict[str, Any] = dict(options)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.serving: ServerSideServing | None = None
        self.url = ""

    def start(self) -> str:
        """Listen on 127.0.0.1 (a free port) and return the server's URL."""
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        middleware = ServingMiddleware(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            "127.0.0.1", 0, middleware, threaded=True, request_handler=MotoRequestHandler
        )
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.serving = ServerSideServing(self.url, self.region, self.account_id, **self._options)
        self.serving.install()
        middleware.serving = self.serving
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="smendpoint-moto-server", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Unload every model (and stop BYO serving processes), then stop listening."""
        try:
            if self.serving is not None:
                self.serving.close()
        finally:
            if self._server is not None:
                self._server.shutdown()
                self._server.server_close()
                self._server = None
            if self._thread is not None:
                self._thread.join(timeout=10)
                self._thread = None
