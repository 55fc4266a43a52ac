"""Find and delete what crashed sessions left: transform jobs still running (stopped),
endpoints, endpoint configs and models that carry the plugin's session tag and are older than an
age. Untagged resources are never touched, and neither is anything of a session that is still
alive (its liveness mark, aws/liveness.py, has not lapsed), whatever its age.

The same code serves `pytest --sm-sweep[=AGE] [--sm-sweep-delete]` and the `smendpoint-sweep`
console script; a dry run (list only) is the default.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pytest_smendpoint.aws.liveness import LEASE, alive_until
from pytest_smendpoint.aws.resources import (
    KINDS,
    TRANSFORM_JOB,
    ResourceKind,
    error_reason,
    is_gone,
)
from pytest_smendpoint.aws.uploads import (
    UPLOAD_PREFIX,
    OldUpload,
    delete_uploads,
    find_old_uploads,
)
from pytest_smendpoint.settings.ages import DEFAULT_SWEEP_AGE, parse_age
from pytest_smendpoint.settings.naming import TAG_CREATED, TAG_RUN_LABEL, TAG_SESSION

# In sweep order: a running transform job is stopped before the model it runs is deleted.
SWEPT_KINDS = (TRANSFORM_JOB, *KINDS)


@dataclass(frozen=True)
class Leftover:
    """A tagged resource old enough to sweep."""

    kind: ResourceKind
    name: str
    session: str
    created: datetime
    run_label: str | None

    def describe(self, now: datetime) -> str:
        hours = (now - self.created).total_seconds() / 3600
        label = f", run {self.run_label}" if self.run_label else ""
        return f"{self.kind.label} {self.name} (session {self.session}{label}, {hours:.1f} h old)"


@dataclass(frozen=True)
class Survey:
    """What a sweep found old enough: what it may delete, and what live sessions still hold
    (session id -> its mark and those of its resources, which are skipped)."""

    leftovers: list[Leftover]
    uploads: list[OldUpload]
    live: dict[str, tuple[datetime, list[str]]]


def find_leftovers(
    sagemaker: Any, older_than_seconds: int, now: datetime | None = None
) -> list[Leftover]:
    """Every tagged endpoint, config and model older than the age, of sessions no longer
    alive, endpoints first."""
    return survey(sagemaker, older_than_seconds, now).leftovers


def survey(
    sagemaker: Any,
    older_than_seconds: int,
    now: datetime | None = None,
    uploads: Sequence[OldUpload] = (),
) -> Survey:
    """Tagged resources (and old uploads) older than the age, split by whether their session
    is alive at `now`: its latest mark on any resource, or an upload of it younger than one
    lease (a session uploads its model just before it creates anything)."""
    now = now or datetime.now(timezone.utc)
    old: list[Leftover] = []
    marks: dict[str, datetime] = {}
    for kind in SWEPT_KINDS:
        for item in _listed(sagemaker, kind):
            tag_list = sagemaker.list_tags(ResourceArn=item[kind.arn_key]).get("Tags", [])
            tags = {t["Key"]: t["Value"] for t in tag_list}
            if TAG_SESSION not in tags:
                continue  # never touch what this plugin did not tag
            session = tags[TAG_SESSION]
            until = alive_until(tag_list)
            if until is not None:
                marks[session] = max(marks.get(session, until), until)
            created = _created(tags.get(TAG_CREATED), item.get("CreationTime"))
            if (now - created).total_seconds() < older_than_seconds:
                continue
            name = item[kind.name_parameter]
            old.append(Leftover(kind, name, session, created, tags.get(TAG_RUN_LABEL)))
    for upload in uploads:
        session = _upload_session(upload.uri)
        if session is not None:
            until = upload.last_modified + LEASE
            marks[session] = max(marks.get(session, until), until)
    live: dict[str, tuple[datetime, list[str]]] = {
        session: (until, []) for session, until in marks.items() if until > now
    }
    leftovers: list[Leftover] = []
    for leftover in old:
        if leftover.session in live:
            live[leftover.session][1].append(f"{leftover.kind.label} {leftover.name}")
        else:
            leftovers.append(leftover)
    kept_uploads: list[OldUpload] = []
    for upload in uploads:
        session = _upload_session(upload.uri)
        if session in live:
            live[session][1].append(f"upload {upload.uri}")
        else:
            kept_uploads.append(upload)
    return Survey(leftovers, kept_uploads, {s: v for s, v in live.items() if v[1]})


def delete_leftovers(sagemaker: Any, leftovers: list[Leftover]) -> list[str]:
    """Delete in the listed order (endpoints, configs, models); return the failures."""
    failures = []
    for leftover in leftovers:
        kind = leftover.kind
        try:
            getattr(sagemaker, kind.delete)(**{kind.name_parameter: leftover.name})
        except ClientError as error:
            if is_gone(error):
                continue  # already gone: what a sweep wants
            failures.append(f"{kind.label} {leftover.name}: {error_reason(error)}")
        except BotoCoreError as error:
            failures.append(f"{kind.label} {leftover.name}: {type(error).__name__}: {error}")
    return failures


def run_sweep(
    sagemaker: Any,
    older_than_seconds: int,
    *,
    delete: bool,
    where: str,
    write: Callable[[str], None],
    now: datetime | None = None,
    storage: UploadStorage | None = None,
) -> int:
    """List (and with delete=True, delete) what is left: tagged resources and, given `storage`,
    old uploads under the plugin's S3 prefix. The exit code: 0, or 1 on failures."""
    now = now or datetime.now(timezone.utc)
    age = _shown_age(older_than_seconds)
    old_uploads: list[OldUpload] = []
    if storage is not None:
        try:
            old_uploads = storage.find(older_than_seconds, now)
        except (ClientError, BotoCoreError) as error:  # no S3 permissions: say so, go on
            reason = error_reason(error) if isinstance(error, ClientError) else str(error)
            write(f"smendpoint sweep ({where}): uploads under s3 not listed: {reason}")
    found_now = survey(sagemaker, older_than_seconds, now, old_uploads)
    leftovers, uploads = found_now.leftovers, found_now.uploads
    skipped = [
        f"  skipped: session {session} is alive until {until.isoformat(timespec='seconds')} "
        f"({', '.join(names)})"
        for session, (until, names) in sorted(found_now.live.items())
    ]
    found = len(leftovers) + len(uploads)
    if not found:
        if skipped:
            write(f"smendpoint sweep ({where}): nothing to delete older than {age}")
        else:
            write(
                f"smendpoint sweep ({where}): nothing tagged by pytest-smendpoint is older "
                f"than {age}"
            )
        for line in skipped:
            write(line)
        return 0
    verb = "deleting" if delete else "would delete (dry run; add --sm-sweep-delete / --delete)"
    write(f"smendpoint sweep ({where}): {found} older than {age}, {verb}:")
    for leftover in leftovers:
        write(f"  {leftover.describe(now)}")
    for upload in uploads:
        write(f"  {upload.describe(now)}")
    for line in skipped:
        write(line)
    if not delete:
        return 0
    failures = delete_leftovers(sagemaker, leftovers)
    if storage is not None and uploads:
        failures += storage.delete([upload.uri for upload in uploads])
    for failure in failures:
        write(f"  could not delete {failure}")
    write(f"smendpoint sweep: deleted {found - len(failures)} of {found}")
    return 1 if failures else 0


@dataclass(frozen=True)
class UploadStorage:
    """The default bucket's plugin prefix, as the sweep sees it."""

    s3: Any
    sts: Any
    region: str

    def find(self, older_than_seconds: int, now: datetime) -> list[OldUpload]:
        return find_old_uploads(self.s3, self.sts, self.region, older_than_seconds, now)

    def delete(self, uris: list[str]) -> list[str]:
        return delete_uploads(self.s3, uris)


def sweep_with_settings(settings: Any, write: Callable[[str], None]) -> int:
    """`pytest --sm-sweep`: the configured backend (moto's mocked account starts empty)."""
    from pytest_smendpoint.aws.backends import open_backend

    assert settings.sweep_age_seconds is not None
    with open_backend(settings) as backend:
        return run_sweep(
            backend.client("sagemaker"),
            settings.sweep_age_seconds,
            delete=settings.sweep_delete,
            where=f"{backend.name}, {backend.region}",
            write=write,
            storage=UploadStorage(backend.client("s3"), backend.client("sts"), backend.region),
        )


def main(argv: list[str] | None = None) -> int:
    """`smendpoint-sweep [--age 6h] [--delete] [--region R]`, with boto3's usual resolution."""
    parser = argparse.ArgumentParser(
        prog="smendpoint-sweep",
        description="List (and with --delete, delete) SageMaker endpoints, endpoint configs, "
        "models tagged by pytest-smendpoint that are older than --age. Untagged resources are "
        "never touched.",
    )
    parser.add_argument("--age", default=DEFAULT_SWEEP_AGE, help="e.g. 30m, 6h, 2d (default 6h)")
    parser.add_argument("--delete", action="store_true", help="delete (default: list only)")
    parser.add_argument("--region", default=None, help="AWS region (default: boto3's)")
    args = parser.parse_args(argv)
    try:
        seconds = parse_age(args.age)
    except ValueError as error:
        parser.error(f"--age={args.age!r}: {error}")
    import boto3
    from botocore.config import Config

    session = boto3.Session(region_name=args.region)
    if not session.region_name:
        parser.error("no region: give --region or set AWS_DEFAULT_REGION")
    retries = Config(retries={"mode": "standard"})
    sagemaker = session.client("sagemaker", config=retries)
    storage = UploadStorage(
        session.client("s3", config=retries),
        session.client("sts", config=retries),
        session.region_name,
    )
    return run_sweep(
        sagemaker,
        seconds,
        delete=args.delete,
        where=f"aws, {session.region_name}",
        write=print,
        storage=storage,
    )


def _upload_session(uri: str) -> str | None:
    """The session id in an upload's key: s3://bucket/pytest-smendpoint/<session>/..."""
    parts = uri.removeprefix("s3://").split("/")
    return parts[2] if len(parts) > 3 and parts[1] == UPLOAD_PREFIX else None


def _listed(sagemaker: Any, kind: ResourceKind) -> Iterator[dict[str, Any]]:
    # A transform job that ended holds nothing (it cannot be deleted): only running ones count.
    filters = {"StatusEquals": "InProgress"} if kind is TRANSFORM_JOB else {}
    for page in sagemaker.get_paginator(kind.paginator).paginate(**filters):
        yield from page.get(kind.list_items, [])


def _created(tag_value: str | None, creation_time: datetime | None) -> datetime:
    """The plugin's own tag first (ISO 8601, UTC); SageMaker's CreationTime otherwise."""
    if tag_value:
        try:
            parsed = datetime.fromisoformat(tag_value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    if creation_time is None:
        return datetime.now(timezone.utc)  # no age known: treat as new, never sweep
    return creation_time if creation_time.tzinfo else creation_time.replace(tzinfo=timezone.utc)


def _shown_age(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
