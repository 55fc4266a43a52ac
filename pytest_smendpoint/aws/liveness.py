"""The mark that keeps a running session's resources safe from a sweep: a tag
`pytest-smendpoint:alive-until=<ISO 8601 UTC>` on its endpoint, config and models, set when each
is created and pushed forward by a daemon thread while the session holds them. A sweep skips
every resource of a session whose mark has not lapsed, whatever its age; a killed session stops
renewing, and its resources become sweepable one lease later.

A tag on the resources themselves works the same on moto and on AWS (AddTags), needs no bucket
or other new resource, and is read by the ListTags calls the sweep makes anyway.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pytest_smendpoint.aws.resources import is_gone
from pytest_smendpoint.settings.naming import TAG_ALIVE_UNTIL

# Renewed every minute, valid for ten: nine renewals may fail (throttling, a slow network)
# before a live session looks dead; a killed one is sweepable ten minutes after it died.
LEASE = timedelta(minutes=10)
RENEW_EVERY_SECONDS = 60.0


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def alive_until(tags: Iterable[dict[str, str]]) -> datetime | None:
    """The latest liveness mark among a resource's tags (None: none, or unreadable). The
    latest, not the last: moto's AddTags appends a second tag with the same key where AWS
    replaces the value."""
    found: list[datetime] = []
    for tag in tags:
        if tag.get("Key") != TAG_ALIVE_UNTIL:
            continue
        with contextlib.suppress(ValueError, TypeError):
            parsed = datetime.fromisoformat(tag["Value"])
            found.append(parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc))
    return max(found, default=None)


class LivenessMark:
    """One per process holding resources: the ARNs it keeps marked alive, and the thread that
    renews them. The thread starts with the first resource and is a daemon, so it never keeps
    pytest alive; `stop()` ends it at once."""

    def __init__(
        self,
        *,
        lease: timedelta = LEASE,
        interval: float = RENEW_EVERY_SECONDS,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.lease = lease
        self.interval = interval
        self.clock = clock
        self._held: dict[str, Any] = {}  # ARN -> the SageMaker client that tags it
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def tag(self) -> dict[str, str]:
        """The mark as of now, for a Create* call's Tags and for each renewal."""
        until = self.clock() + self.lease
        return {"Key": TAG_ALIVE_UNTIL, "Value": until.isoformat(timespec="seconds")}

    @property
    def held(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._held)

    def hold(self, sagemaker: Any, arn: str) -> None:
        """Keep `arn` marked alive until released (or until this process stops)."""
        with self._lock:
            self._held[arn] = sagemaker
            if self._thread is None and not self._stopped.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="smendpoint-liveness", daemon=True
                )
                self._thread.start()

    def hold_named(self, sagemaker: Any, kinds_and_names: Iterable[tuple[Any, str]]) -> None:
        """Keep resources known by name marked alive (an xdist worker using an endpoint another
        worker deployed: if that worker dies, this one still renews). One not found is skipped.

        The ARN is read from a listing, not DescribeModel: a model's description carries its
        environment (secrets), which botocore's DEBUG log would print in a process that never
        created the model and so never learnt which values to mask."""
        for kind, name in kinds_and_names:
            try:
                listed = getattr(sagemaker, kind.paginator)(NameContains=name)[kind.list_items]
            except (ClientError, BotoCoreError):
                continue
            for item in listed:
                if item.get(kind.name_parameter) == name:
                    self.hold(sagemaker, item[kind.arn_key])

    def release(self, arns: Iterable[str]) -> None:
        with self._lock:
            for arn in arns:
                self._held.pop(arn, None)

    def renew(self) -> None:
        """Push every held resource's mark forward. A resource that is gone is dropped; any
        other failure is tried again next time (the lease outlasts several)."""
        tag = self.tag()
        with self._lock:
            held = list(self._held.items())
        for arn, sagemaker in held:
            if self._stopped.is_set():
                return
            try:
                sagemaker.add_tags(ResourceArn=arn, Tags=[tag])
            except ClientError as error:
                if is_gone(error):
                    self.release([arn])
            except Exception:  # noqa: BLE001 - a daemon thread must never die of a network error
                pass

    def stop(self) -> None:
        """Stop renewing (the backend is closing): the marks then lapse one lease later."""
        self._stopped.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.renew()
