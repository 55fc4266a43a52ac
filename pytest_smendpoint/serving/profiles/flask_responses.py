"""How the scikit-learn container's Flask 1.1.1 / Werkzeug 2.0.3 worker turns what a handler
returns into an HTTP answer (the image pins those versions)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

# werkzeug.exceptions.InternalServerError().get_body(): what any exception in a handler becomes.
INTERNAL_SERVER_ERROR = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
    b"<title>500 Internal Server Error</title>\n"
    b"<h1>Internal Server Error</h1>\n"
    b"<p>The server encountered an internal error and was unable to complete your request. "
    b"Either the server is overloaded or there is an error in the application.</p>\n"
)
HTML = "text/html"
JSON = "application/json"
# werkzeug.utils._charset_mimetypes: these, text/* and *+xml get "; charset=utf-8" appended.
_CHARSET_MIMETYPES = {
    "application/ecmascript",
    "application/javascript",
    "application/sql",
    "application/xml",
    "application/xml-dtd",
    "application/xml-external-parsed-entity",
}


class InvalidResponse(TypeError):
    """Flask's refusal of a view's return value (answered with 500)."""


def content_type(mimetype: str) -> str:
    """werkzeug.utils.get_content_type: the charset is appended even when one is there."""
    if mimetype.startswith("text/") or mimetype in _CHARSET_MIMETYPES or mimetype.endswith("+xml"):
        return f"{mimetype}; charset=utf-8"
    return mimetype


def response_body(response: Any) -> bytes:
    """The body a werkzeug Response makes of `response=`: str, bytes, None or an iterable."""
    if response is None:
        return b""
    if isinstance(response, str):
        return response.encode("utf-8")
    if isinstance(response, (bytes, bytearray)):
        return bytes(response)
    if isinstance(response, Iterable):
        return b"".join(
            item.encode("utf-8") if isinstance(item, str) else bytes(item) for item in response
        )
    raise InvalidResponse(f"response {type(response).__name__} is not str, bytes or iterable")


def make_response(value: Any) -> tuple[int, bytes, str]:
    """flask.Flask.make_response for what a view returned (the Transformer has already turned a
    tuple into a Response): (status, body, content type)."""
    if isinstance(value, (str, bytes, bytearray)):
        return 200, response_body(value), content_type(HTML)
    if isinstance(value, dict):
        # flask.jsonify with JSON_SORT_KEYS and compact separators (not pretty-printed).
        text = json.dumps(value, separators=(",", ":"), sort_keys=True) + "\n"
        return 200, text.encode("utf-8"), JSON
    if hasattr(value, "get_data") and hasattr(value, "status_code"):
        # A flask/werkzeug Response built by the script itself (sagemaker_containers' worker).
        return int(value.status_code), value.get_data(), value.headers.get("Content-Type", JSON)
    raise InvalidResponse(
        "The view function did not return a valid response. The return type must be a string, "
        f"dict, tuple, Response instance, or WSGI callable, but it was a {type(value).__name__}."
    )
