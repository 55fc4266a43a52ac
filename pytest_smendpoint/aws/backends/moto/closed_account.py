"""After the session's mocked account closes, no request leaves for real AWS.

A thread the tests started can outlive the mock: the SageMaker SDK's AsyncPredictor waits for
its output and its failure object on two threads and returns when either appears, leaving the
other polling S3 every 15 s for up to 15 minutes. Once moto's mock has stopped, that thread's
next HeadObject would go to the real s3.amazonaws.com with moto's fake credentials.

This guard is installed when a moto session opens (sessions and clients copy botocore's handlers
when they are made, so it must be there before the first one) and armed when it closes. Armed,
it refuses a request to an AWS host signed with the mocked account's fake credentials while no
moto mock is active, with an error that says why. Requests with other credentials (a plugin of
the user's that uploads to real S3 after the session, with the credentials restored), requests
to other hosts (127.0.0.1: the plugin's own moto server, --sm-backend=aws with AWS_ENDPOINT_URL)
and every request while a mock is active pass.

botocore has no setting for "refuse real endpoints", hence a before-send handler, registered as
routing.py registers its dispatcher (BUILTIN_HANDLERS, for sessions made later, and boto3's
default session, which may exist already)."""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import urlsplit

from pytest_smendpoint.errors import SmEndpointError

EVENT = "before-send"
UNIQUE_ID = "pytest-smendpoint-closed-account-guard"
AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")
# The access keys a moto session hands out: the plugin's isolated environment's, and moto's own
# mock credentials (which replace them while the mock is on).
FAKE_ACCESS_KEYS = frozenset({"testing", "FOOBARKEY"})
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


class ClosedAccountError(SmEndpointError, RuntimeError):
    """A request for real AWS after the session's mocked account closed."""


class _Guard:
    def __init__(self) -> None:
        self.armed = False
        self.lock = threading.Lock()

    def __call__(self, request: Any, **kwargs: Any) -> None:
        if not self.armed or _mock_active():
            return None
        host = urlsplit(str(getattr(request, "url", ""))).hostname or ""
        if not host.endswith(AWS_HOST_SUFFIXES) or not _signed_with_fake_keys(request):
            return None
        raise ClosedAccountError(
            f"pytest-smendpoint: {request.method} {host} refused: the session's mocked AWS "
            "account is closed, and this request would have gone to real AWS. Something still "
            "running after the tests made it (e.g. the SageMaker SDK's AsyncPredictor, whose "
            "second thread keeps polling S3 after the first found the answer)."
        )


_GUARD = _Guard()


def install() -> None:
    """Put the guard in every session and client made from now on (disarmed while the mocked
    account is open: moto answers then)."""
    import boto3
    from botocore.handlers import BUILTIN_HANDLERS

    with _GUARD.lock:
        if not any(spec[1] is _GUARD for spec in BUILTIN_HANDLERS):
            BUILTIN_HANDLERS.append((EVENT, _GUARD))
        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION.events.register(EVENT, _GUARD, unique_id=UNIQUE_ID)
        _GUARD.armed = False


def arm() -> None:
    """Refuse requests to AWS hosts from now on, whenever no moto mock is active."""
    _GUARD.armed = True


def _signed_with_fake_keys(request: Any) -> bool:
    """Whether SigV4 signed the request with a key a moto session handed out."""
    authorization = (getattr(request, "headers", None) or {}).get("Authorization") or ""
    if isinstance(authorization, bytes):
        authorization = authorization.decode("latin-1")
    found = _CREDENTIAL.search(authorization)
    return found is not None and found.group(1) in FAKE_ACCESS_KEYS


def _mock_active() -> bool:
    """Whether a moto mock is on now (the plugin's next session, or the user's own mock_aws)."""
    from moto.core.models import botocore_stubber

    return bool(botocore_stubber.enabled)
