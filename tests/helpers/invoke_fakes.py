"""Fakes for the invoker's tests: an in-process runtime client that predicts from the CSV it is
sent, and a tiny SageMaker-runtime HTTP server on 127.0.0.1 for the real botocore path."""

from __future__ import annotations

import csv
import io
import json
import math
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

from pytest_smendpoint.invoke.invoker import make_runtime_client
from pytest_smendpoint.settings.options import InvokeSettings

Rows = list[list[Any]]
Answer = Callable[[Rows], tuple[bytes, str]]
# A LocalRuntimeServer's handler: (request number, path, body) -> (status, headers, body).
Handle = Callable[[int, str, bytes], tuple[int, dict[str, str], bytes]]


def parse_csv_body(body: bytes) -> Rows:
    """The rows a container would read from a CSV request (numbers as floats, "" as NaN)."""
    rows = []
    for line in csv.reader(io.StringIO(body.decode("utf-8"))):
        rows.append([_number(field) for field in line])
    return rows


def _number(field: str) -> Any:
    if field == "":
        return math.nan
    try:
        return float(field)
    except ValueError:
        return field


def row_sums(rows: Rows) -> list[float]:
    """Each row's sum of numbers, missing values counting as 0."""
    return [math.fsum(v for v in row if isinstance(v, float) and not math.isnan(v)) for row in rows]


def csv_lines(rows: Rows) -> tuple[bytes, str]:
    return "".join(f"{s!r}\n" for s in row_sums(rows)).encode(), "text/csv"


class FakeRuntime:
    """A `sagemaker-runtime` stand-in: answers each request with `answer(rows)`; thread-safe."""

    def __init__(
        self, answer: Answer = csv_lines, delay: Callable[[Rows], object] | None = None
    ) -> None:
        self.answer = answer
        self.delay = delay
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            self.calls.append(kwargs)
        rows = parse_csv_body(kwargs["Body"])
        if self.delay is not None:
            self.delay(rows)
        body, content_type = self.answer(rows)
        return {
            "Body": io.BytesIO(body),
            "ContentType": content_type,
            "ResponseMetadata": {"RetryAttempts": 0},
        }

    @property
    def bodies(self) -> list[bytes]:
        return [call["Body"] for call in self.calls]


class LocalRuntimeServer:
    """InvokeEndpoint over real HTTP on 127.0.0.1: `handle(number, path, body)` returns
    (status, headers, body) for the `number`-th request (from 0)."""

    def __init__(self, handle: Handle) -> None:
        self.handle = handle
        self.requests: list[bytes] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with server.lock:
                    number = len(server.requests)
                    server.requests.append(body)
                status, headers, answer = server.handle(number, self.path, body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def client(self, settings: InvokeSettings) -> Any:
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        return make_runtime_client(session, settings, endpoint_url=self.url)


def csv_answer(body: bytes) -> tuple[int, dict[str, str], bytes]:
    answer, content_type = csv_lines(parse_csv_body(body))
    return 200, {"Content-Type": content_type}, answer


def error_answer(
    status: int, code: str, document: dict[str, Any]
) -> tuple[int, dict[str, str], bytes]:
    return (
        status,
        {"Content-Type": "application/json", "x-amzn-ErrorType": code},
        json.dumps(document).encode(),
    )
