"""How the containers' Flask workers turn what a handler returns into an HTTP answer: Flask 1.1.1
with Werkzeug 2.0.3 (scikit-learn 1.2-1, 1.4-2-py312) or 0.15.6 (XGBoost 1.7-1, 3.0-5), Flask
3.1.3 with Werkzeug 3.1.8 (scikit-learn 1.9-0, XGBoost 3.2-0). They differ only in the 500 page
an uncaught exception becomes, and whether it names a charset."""

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
# Werkzeug 3's page for the same error (measured with the 3.1.8 wheel).
INTERNAL_SERVER_ERROR_WERKZEUG_3 = (
    b"<!doctype html>\n<html lang=en>\n"
    b"<title>500 Internal Server Error</title>\n"
    b"<h1>Internal Server Error</h1>\n"
    b"<p>The server encountered an internal error and was unable to complete your request. "
    b"Either the server is overloaded or there is an error in the application.</p>\n"
)
# werkzeug.exceptions.NotFound().get_body(): a route the app does not have (Werkzeug 0.15 and 2;
# Werkzeug 3 starts with its own doctype, as for the 500 page).
NOT_FOUND_TEXT = (
    b"<title>404 Not Found</title>\n"
    b"<h1>Not Found</h1>\n"
    b"<p>The requested URL was not found on the server. If you entered the URL manually please "
    b"check your spelling and try again.</p>\n"
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


def internal_server_error(werkzeug: int) -> tuple[bytes, str]:
    """The body and Content-Type of Werkzeug `werkzeug`'s (major version) generic 500 page:
    0.15 sends text/html without a charset, 2 and 3 with one."""
    body = INTERNAL_SERVER_ERROR_WERKZEUG_3 if werkzeug >= 3 else INTERNAL_SERVER_ERROR
    return body, (HTML if werkzeug == 0 else content_type(HTML))


def not_found(werkzeug: int) -> tuple[bytes, str]:
    """The body and Content-Type of Werkzeug `werkzeug`'s 404 page."""
    head = INTERNAL_SERVER_ERROR_WERKZEUG_3 if werkzeug >= 3 else INTERNAL_SERVER_ERROR
    doctype = head[: head.index(b"<title>")]
    return doctype + NOT_FOUND_TEXT, (HTML if werkzeug == 0 else content_type(HTML))


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
