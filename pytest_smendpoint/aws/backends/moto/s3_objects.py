"""A transform job's objects in the mocked S3, read and written in moto's own S3 backend (the
job runs in the process that holds it, in-process and under the xdist server alike).

Through moto's S3 API an object is always read whole: a ranged GET reads the full value first
(moto/s3/responses.py `_handle_range_header`), so an object of GBs would be held in memory per
range. Read here in chunks from the key's own buffer, under the key's lock (as moto's etag does)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

CHUNK_BYTES = 8 * 2**20
_PARTITION = "aws"


class ObjectsError(Exception):
    """A bucket or object the job names is not there: the job's FailureReason."""


def split_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key/prefix` -> ("bucket", "key/prefix")."""
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    bucket, _, key = rest.partition("/")
    return bucket, key


def _backend(account_id: str) -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[account_id][_PARTITION]


def _bucket(account_id: str, name: str) -> Any:
    from moto.s3.exceptions import MissingBucket

    try:
        return _backend(account_id).get_bucket(name)
    except MissingBucket:
        raise ObjectsError(f"The S3 bucket {name} does not exist.") from None


def keys_under(account_id: str, bucket: str, prefix: str) -> list[str]:
    """Every object's key that starts with `prefix`, in S3's listing order (bytewise), without
    folder markers (keys ending in "/")."""
    from moto.s3.models import FakeKey

    found = _bucket(account_id, bucket)
    names = [
        name
        for name, key in found.keys.items()
        if name.startswith(prefix) and not name.endswith("/") and isinstance(key, FakeKey)
    ]
    return sorted(names, key=lambda name: name.encode("utf-8"))


def read_object(account_id: str, bucket: str, key: str) -> bytes:
    """A small object whole (a manifest)."""
    return b"".join(chunks(account_id, bucket, key))


def chunks(account_id: str, bucket: str, key: str, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The object's bytes, `size` at a time."""
    found = _backend(account_id).get_object(bucket, key)
    if found is None:
        raise ObjectsError(f"The S3 object s3://{bucket}/{key} does not exist.")
    position = 0
    while True:
        with found.lock:  # moto's own: the buffer is shared with its readers
            found._value_buffer.seek(position)
            data = found._value_buffer.read(size)
        if not data:
            return
        position += len(data)
        yield data


def size_of(account_id: str, bucket: str, key: str) -> int:
    """The object's size in bytes (ObjectsError: no such bucket or object)."""
    _bucket(account_id, bucket)
    found = _backend(account_id).get_object(bucket, key)
    if found is None:
        raise ObjectsError(f"The S3 object s3://{bucket}/{key} does not exist.")
    return int(found.size)


def store(
    account_id: str, bucket: str, key: str, source: IO[bytes], content_type: str | None = None
) -> None:
    """Write `source` (from its current position) as the object (one put; moto keeps every value
    whole in memory anyway), with its Content-Type when given."""
    _bucket(account_id, bucket)
    written = _backend(account_id).put_object(bucket, key, source.read())
    if content_type is not None:
        written.set_metadata({"Content-Type": content_type})
