"""How an object is cut into requests: whole lines up to MaxPayloadInMB, one line each for
SingleRecord, the whole object for SplitType None; streamed, whatever the chunking."""

from __future__ import annotations

import gzip

import pytest

from pytest_smendpoint.serving.transform.batches import (
    RecordTooLarge,
    gunzipped,
    mini_batches,
)

LINES = [b"1,2\n", b"33,44\n", b"5,6\n", b"777,888\n", b"9"]
DATA = b"".join(LINES)


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("chunk", [1, 3, 7, 1000])
def test_multi_record_packs_whole_lines_up_to_the_limit(chunk: int) -> None:
    batches = list(mini_batches(chunked(DATA, chunk), 10, single_record=False, split_lines=True))
    assert [b.body for b in batches] == [b"1,2\n33,44\n", b"5,6\n", b"777,888\n9"]
    assert [(b.first_record, b.records) for b in batches] == [(0, 2), (2, 1), (3, 2)]
    assert b"".join(b.body for b in batches) == DATA  # every byte once, in order


def test_a_line_exactly_at_the_limit_fits() -> None:
    batches = list(mini_batches([b"12345\n6\n"], 6, single_record=False, split_lines=True))
    assert [b.body for b in batches] == [b"12345\n", b"6\n"]


@pytest.mark.parametrize("chunk", [1, 4, 1000])
def test_single_record_is_one_line_per_request(chunk: int) -> None:
    batches = list(mini_batches(chunked(DATA, chunk), 10, single_record=True, split_lines=True))
    assert [b.body for b in batches] == LINES
    assert [b.first_record for b in batches] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("single", [False, True])
def test_a_record_over_the_limit_is_named(single: bool) -> None:
    data = b"1,2\n" + b"9" * 20 + b"\n3\n"
    with pytest.raises(RecordTooLarge) as raised:
        list(mini_batches([data], 10, single_record=single, split_lines=True))
    assert raised.value.record == 1
    assert str(raised.value) == "record 2 is 21 bytes, more than the 10-byte limit"
    # Streamed in small chunks, the record's end is not read before the limit is passed.
    with pytest.raises(RecordTooLarge) as raised:
        list(mini_batches(chunked(data, 5), 10, single_record=single, split_lines=True))
    assert str(raised.value) == "record 2 is more than the 10-byte limit"


def test_no_limit_sends_the_object_in_one_request() -> None:
    batches = list(mini_batches(chunked(DATA, 3), 0, single_record=False, split_lines=True))
    assert [b.body for b in batches] == [DATA]


def test_split_type_none_sends_the_whole_object_and_it_must_fit() -> None:
    assert [b.body for b in mini_batches([DATA], 100, single_record=False, split_lines=False)] == [
        DATA
    ]
    with pytest.raises(RecordTooLarge, match="the object is more than"):
        list(mini_batches(chunked(DATA, 4), 10, single_record=False, split_lines=False))


def test_an_empty_object_makes_no_request() -> None:
    assert list(mini_batches([], 10, single_record=False, split_lines=True)) == []


def test_gzip_objects_are_decompressed_as_they_stream() -> None:
    packed = gzip.compress(DATA)
    assert b"".join(gunzipped(chunked(packed, 5))) == DATA
