"""Credentials never reach a log: botocore's DEBUG logging prints the Authorization header (the
access key id) and x-amz-security-token (the session token) of every request it sends, and
pytest's --log-level/--log-file and caplog would carry them into the output. The same goes for
container environment values (`--sm-env`, a model's environment): CreateModel's request body and
DescribeModel's response carry them."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterable, Iterator

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
# Shorter credentials are moto's "testing" and the like: no secret, and they would over-match.
MIN_CREDENTIAL_LENGTH = 8
# An environment value this short ("1", "true") is no secret, and masking it would garble logs.
MIN_ENV_VALUE_LENGTH = 4


class _Redact(logging.Filter):
    """Replaces each secret in a record's formatted message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = ()  # replaced whole: readers need no lock
        self._adding = threading.Lock()  # factory deploys run on threads
        self.add(secrets)

    def add(self, values: Iterable[str]) -> None:
        """Mask these too, as written and as a JSON body or a bytes repr escapes them."""
        with self._adding:
            forms = set(self.secrets)
            for value in values:
                escaped = json.dumps(value)[1:-1]
                forms |= {value, escaped, repr(escaped.encode("utf-8"))[2:-1]}
            # Longest first: a secret that contains another is masked whole.
            self.secrets = tuple(sorted(forms, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, MASK)
            record.msg, record.args = message, ()
        return True


_installed: list[_Redact] = []  # the filters in place now (logging itself is process-wide)


def environment_values(env: Iterable[str]) -> list[str]:
    """The values of an environment worth masking (see MIN_ENV_VALUE_LENGTH)."""
    return [value for value in env if len(value) >= MIN_ENV_VALUE_LENGTH]


def mask_also(values: Iterable[str]) -> None:
    """From now on, mask these values too (a model's environment, known only at deploy time)
    in every filter installed by `credentials_redacted`; a no-op when none is."""
    wanted = environment_values(values)
    for redact in _installed:
        redact.add(wanted)


@contextlib.contextmanager
def credentials_redacted(boto_session: object, also: Iterable[str] = ()) -> Iterator[None]:
    """For the session's lifetime, mask its credentials, and the environment values `also`
    names, in every AWS library's log records."""
    credentials = getattr(boto_session, "get_credentials", lambda: None)()
    frozen = credentials.get_frozen_credentials() if credentials is not None else None
    secrets = [
        value
        for value in (getattr(frozen, n, None) for n in ("access_key", "secret_key", "token"))
        if value and len(value) >= MIN_CREDENTIAL_LENGTH
    ]
    names = set(_KNOWN) | {
        name for name in logging.Logger.manager.loggerDict if name.startswith(_PREFIXES)
    }
    loggers = [logging.getLogger(name) for name in sorted(names)]
    redact = _Redact([*secrets, *environment_values(also)])
    for logger in loggers:
        logger.addFilter(redact)
    _installed.append(redact)
    try:
        yield
    finally:
        _installed.remove(redact)
        for logger in loggers:
            logger.removeFilter(redact)
