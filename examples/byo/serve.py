"""A bring-your-own serving app, stdlib only: what a BYO image's `serve` does, in miniature.

SageMaker starts the container's `serve` and talks HTTP to it: GET /ping must answer 200 once the
model is ready, POST /invocations gets the request body. pytest-smendpoint runs it the same way:

    --sm-serve-command "python examples/byo/serve.py --port {port} --model-dir {model_dir}"

It loads the model directory's single *.joblib file and answers text/csv (one prediction a line).
A request with the custom attribute `fail` answers 500, so tests can see a container error.
"""

from __future__ import annotations

import argparse
import io
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"


def load_model(model_dir: Path) -> Any:
    import joblib

    (path,) = sorted(model_dir.glob("*.joblib"))  # exactly one, or fail loudly at start-up
    return joblib.load(path)


def make_handler(model: Any) -> type[BaseHTTPRequestHandler]:
    import numpy as np

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == "/ping":
                self._send(200, b"", "text/plain")
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/invocations":
                self._send(404, b"not found", "text/plain")
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            attributes = self.headers.get(CUSTOM_ATTRIBUTES)
            if attributes == "fail":
                self._send(500, b"asked to fail", "text/plain")
                return
            if self.headers.get("Content-Type", "").split(";")[0] != "text/csv":
                self._send(415, b"this server reads text/csv only", "text/plain")
                return
            rows = np.loadtxt(io.BytesIO(body), delimiter=",", ndmin=2)
            predictions = model.predict(rows).tolist()
            answer = "".join(f"{p}\n" for p in predictions).encode("utf-8")
            extra = {CUSTOM_ATTRIBUTES: f"echo={attributes}"} if attributes else {}
            self._send(200, answer, "text/csv", extra)

        def _send(
            self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # one line per request would drown the log the plugin shows on failure

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    )
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    args = parser.parse_args()
    model = load_model(Path(args.model_dir))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(model))
    print(f"serving {args.model_dir} on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
