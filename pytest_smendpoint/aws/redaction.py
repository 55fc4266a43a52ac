"""Credentials never reach a log: botocore's DEBUG logging prints the Authorization header (the
access key id) and x-amz-security-token (the session token) of every request it sends, and
pytest's --log-level/--log-file and caplog would carry them into the output."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

# botocore logs requests, signatures and hooks on these loggers (a logger's filter does not
# apply to its children's records, so each one is named).
_KNOWN = (
    "botocore.endpoint",
    "botocore.auth",
    "botocore.hooks",
    "botocore.parsers",
    "botocore.retryhandler",
    "botocore.httpsession",
    "botocore.credentials",
    "botocore.awsrequest",
    "urllib3.connectionpool",
)
_PREFIXES = ("botocore", "boto3", "urllib3", "s3transfer")
MASK = "***"


class _Redact(logging.Filter):
    """Replaces each secret in a record's formatted message."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, MASK)
            record.msg, record.args = message, ()
        return True


@contextlib.contextmanager
def credentials_redacted(boto_session: object) -> Iterator[None]:
    """For the session's lifetime, mask its credentials in every AWS library's log records."""
    credentials = getattr(boto_session, "get_credentials", lambda: None)()
    frozen = credentials.get_frozen_credentials() if credentials is not None else None
    secrets = tuple(
        value
        for value in (getattr(frozen, n, None) for n in ("access_key", "secret_key", "token"))
        if value and len(value) >= 8  # moto's "testing" is no secret; short values over-match
    )
    if not secrets:
        yield
        return
    names = set(_KNOWN) | {
        name for name in logging.Logger.manager.loggerDict if name.startswith(_PREFIXES)
    }
    loggers = [logging.getLogger(name) for name in sorted(names)]
    redact = _Redact(secrets)
    for logger in loggers:
        logger.addFilter(redact)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(redact)
