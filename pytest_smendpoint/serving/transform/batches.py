"""An input object cut into the requests a transform job's agent sends, streamed: the object is
read in chunks and never held whole (objects can be GBs).

SplitType=Line: a record is a line with its newline (the last one may lack it), sent exactly as
stored: a mini-batch is a run of whole lines of at most MaxPayloadInMB MiB (MultiRecord), or one
line (SingleRecord). So every request body is a slice of the object and the answers, in order,
cover every record once. That records keep their own newlines and are joined as they stand is
what the SageMaker SDK's local mode does (sagemaker/local/data.py LineSplitter and
MultiRecordStrategy); SageMaker's agent does not publish its joining. SplitType=None: the whole
object is one request, which must fit the limit too (docs: batch-transform-errors: "Exceeding the
MaxPayloadInMB limit causes an error. This might happen ... if the SplitType parameter is set to
none, or individual records within the dataset exceed the limit")."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

NEWLINE = b"\n"
# Gzip: the object is decompressed as it is read (CompressionType=Gzip); 16 + MAX_WBITS asks
# zlib for a gzip header.
_GZIP_WBITS = 16 + zlib.MAX_WBITS


@dataclass(frozen=True)
class MiniBatch:
    """One request's body, and which records it holds (0-based index of the first, count)."""

    body: bytes
    first_record: int
    records: int


class RecordTooLarge(Exception):
    """A record (or, with SplitType=None, the object) that does not fit MaxPayloadInMB."""

    def __init__(self, record: int, size: int | None, limit: int, whole: bool = False) -> None:
        self.record = record  # 0-based
        self.size = size  # None: its end was not read (it is longer than the limit, at least)
        self.limit = limit
        self.whole = whole
        what = "the object" if whole else f"record {record + 1}"
        how_big = "" if size is None else f"{size} bytes, "
        super().__init__(f"{what} is {how_big}more than the {limit}-byte limit")


def mini_batches(
    chunks: Iterable[bytes], limit: int, *, single_record: bool, split_lines: bool
) -> Iterator[MiniBatch]:
    """The requests for one object, in order. `limit` in bytes, 0 for none."""
    if not split_lines:
        yield from _whole(chunks, limit)
    elif single_record:
        yield from _single(chunks, limit)
    else:
        yield from _multi(chunks, limit)


def gunzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """CompressionType=Gzip: the object's bytes as stored, decompressed on the way."""
    inflater = zlib.decompressobj(_GZIP_WBITS)
    for chunk in chunks:
        data = inflater.decompress(chunk)
        if data:
            yield data
    tail = inflater.flush()
    if tail:
        yield tail


def _whole(chunks: Iterable[bytes], limit: int) -> Iterator[MiniBatch]:
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        if limit and len(buffer) > limit:
            raise RecordTooLarge(0, None, limit, whole=True)
    if buffer:
        yield MiniBatch(bytes(buffer), 0, 1)


def _multi(chunks: Iterable[bytes], limit: int) -> Iterator[MiniBatch]:
    """As many whole lines as fit: cut at the last newline within the limit (bytes.rfind and
    bytes.count, so a batch costs C loops, not a Python step per record)."""
    buffer = bytearray()
    done = 0
    for chunk in chunks:
        buffer += chunk
        if not limit:
            continue
        while len(buffer) > limit:
            batch = _cut(buffer, limit, done)
            done += batch.records
            yield batch
    if not buffer:
        return
    while limit and len(buffer) > limit:
        batch = _cut(buffer, limit, done)
        done += batch.records
        yield batch
    if buffer:
        body = bytes(buffer)
        yield MiniBatch(body, done, _records(body))


def _cut(buffer: bytearray, limit: int, done: int) -> MiniBatch:
    end = buffer.rfind(NEWLINE, 0, limit)
    if end < 0:  # the next record alone is longer than the limit
        size = buffer.find(NEWLINE)
        raise RecordTooLarge(done, None if size < 0 else size + 1, limit)
    body = bytes(buffer[: end + 1])
    del buffer[: end + 1]
    return MiniBatch(body, done, body.count(NEWLINE))


def _single(chunks: Iterable[bytes], limit: int) -> Iterator[MiniBatch]:
    buffer = bytearray()
    done = 0
    for chunk in chunks:
        buffer += chunk
        start = 0
        while True:
            end = buffer.find(NEWLINE, start)
            if end < 0:
                break
            body = bytes(buffer[start : end + 1])
            if limit and len(body) > limit:
                raise RecordTooLarge(done, len(body), limit)
            yield MiniBatch(body, done, 1)
            done += 1
            start = end + 1
        del buffer[:start]
        if limit and len(buffer) > limit:
            raise RecordTooLarge(done, None, limit)
    if buffer:
        yield MiniBatch(bytes(buffer), done, 1)


def _records(body: bytes) -> int:
    """Lines in a final batch: its newlines, plus a last line without one."""
    return body.count(NEWLINE) + (0 if body.endswith(NEWLINE) else 1)
