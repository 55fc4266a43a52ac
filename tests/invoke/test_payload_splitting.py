"""Payloads: whole-chunk encoding cut at line boundaries, under the byte and row budgets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers.invoke_fakes import FakeRuntime

from pytest_smendpoint import RowTooLargeError
from pytest_smendpoint.invoke import csv_payloads
from pytest_smendpoint.invoke.csv_payloads import (
    PAYLOAD_CEILING_BYTES,
    Budget,
    CsvEncoder,
    iter_payloads,
    line_ends,
)
from pytest_smendpoint.invoke.invoker import Invoker


def whole_csv(df: pd.DataFrame) -> bytes:
    return CsvEncoder(df).encode(0, len(df))


def greedy_split(data: bytes, budget: int, max_rows: int | None = None) -> list[bytes]:
    """The reference: pack whole lines greedily under the budget."""
    payloads, current, rows = [], b"", 0
    for line in data.splitlines(keepends=True):
        if current and (len(current) + len(line) > budget or rows == max_rows):
            payloads.append(current)
            current, rows = b"", 0
        current += line
        rows += 1
    return [*payloads, current]


@pytest.fixture
def numbers() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(rng.normal(size=(5000, 6)) * 10.0 ** rng.integers(-5, 5, size=(5000, 6)))


def test_byte_budget_gives_the_greedy_split_with_exact_sizes(numbers: pd.DataFrame) -> None:
    budget = 20_000
    payloads = list(iter_payloads(CsvEncoder(numbers), numbers.index, Budget(budget)))
    data = whole_csv(numbers)
    expected = greedy_split(data, budget)
    assert [p.body for p in payloads] == expected
    assert [len(p.body) for p in payloads] == [len(b) for b in expected]
    assert all(len(p.body) <= budget for p in payloads)
    assert b"".join(p.body for p in payloads) == data
    # Every payload but the last is full: the next line would not have fitted.
    lines = data.splitlines(keepends=True)
    for payload in payloads[:-1]:
        assert len(payload.body) + len(lines[payload.stop]) > budget
    assert [(p.start, p.stop) for p in payloads] == list(
        zip([0, *[p.stop for p in payloads[:-1]]], [p.stop for p in payloads], strict=True)
    )
    assert payloads[-1].stop == len(numbers)


def test_split_does_not_depend_on_the_encoding_chunk_size(
    numbers: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = [p.body for p in iter_payloads(CsvEncoder(numbers), numbers.index, Budget(9_999))]
    monkeypatch.setattr(csv_payloads, "_FIRST_CHUNK_ROWS", 7)
    again = [p.body for p in iter_payloads(CsvEncoder(numbers), numbers.index, Budget(9_999))]
    assert again == reference


def test_chunks_are_encoded_whole_not_row_by_row(
    numbers: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = CsvEncoder.encode

    def counting(self: CsvEncoder, start: int, stop: int) -> bytes:
        calls.append(stop - start)
        return original(self, start, stop)

    monkeypatch.setattr(CsvEncoder, "encode", counting)
    payloads = list(iter_payloads(CsvEncoder(numbers), numbers.index, Budget(50_000)))
    assert sum(calls) == len(numbers)
    assert len(calls) <= 2 * len(payloads) + 1
    assert min(calls[:-1]) > 100


def test_row_budget_caps_rows_per_payload(numbers: pd.DataFrame) -> None:
    payloads = list(iter_payloads(CsvEncoder(numbers), numbers.index, Budget(10**6, 1234)))
    assert [p.rows for p in payloads] == [1234, 1234, 1234, 1234, 64]
    assert b"".join(p.body for p in payloads) == whole_csv(numbers)


def test_byte_and_row_budgets_together(numbers: pd.DataFrame) -> None:
    data = whole_csv(numbers)
    payloads = list(iter_payloads(CsvEncoder(numbers), numbers.index, Budget(30_000, 300)))
    assert [p.body for p in payloads] == greedy_split(data, 30_000, 300)
    assert max(p.rows for p in payloads) <= 300
    assert max(len(p.body) for p in payloads) <= 30_000


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_default_budget_stays_under_sagemakers_limit(fake_runtime: type[FakeRuntime]) -> None:
    # About 30 MB of CSV through the default 2.5 MB budget and the 6 MiB ceiling.
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(60_000, 25)))
    runtime = fake_runtime(answer=lambda rows: (b"0\n" * len(rows), "text/csv"))
    invoker = Invoker(runtime, "ep")
    invoker(df)
    sizes = [len(body) for body in runtime.bodies]
    assert len(sizes) > 10
    assert max(sizes) <= 2_500_000
    assert min(sizes[:-1]) > 2_500_000 - 1000  # full, but for the last line's width
    invoker(df, max_payload_bytes=PAYLOAD_CEILING_BYTES)
    assert max(len(body) for body in runtime.bodies) <= 6_291_456
    assert b"".join(runtime.bodies[len(sizes) :]) == whole_csv(df)


def test_row_larger_than_the_budget_is_named(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    df = pd.DataFrame({"text": ["short", "x" * 500, "short"]}, index=["a", "b", "c"])
    with pytest.raises(RowTooLargeError) as info:
        Invoker(runtime, "ep")(df, allow_strings=True, max_payload_bytes=200)
    assert str(info.value) == (
        "row 'b' (position 1) encodes to 503 bytes of CSV, more than the payload budget of 200 "
        "bytes (max_payload_bytes): no request can carry it"
    )
    assert (info.value.label, info.value.size) == ("b", 503)
    assert runtime.calls == []


def test_row_exactly_at_the_budget_fits() -> None:
    df = pd.DataFrame({"a": [123456789, 1]})
    payloads = list(iter_payloads(CsvEncoder(df), df.index, Budget(10)))
    assert [p.body for p in payloads] == [b"123456789\n", b"1\n"]


def test_single_record_payloads_drop_the_newline_and_may_use_the_whole_budget() -> None:
    df = pd.DataFrame({"a": [123456789, 12]})
    payloads = list(iter_payloads(CsvEncoder(df), df.index, Budget(9, 1, single_record=True)))
    assert [p.body for p in payloads] == [b"123456789", b"12"]


def test_newlines_inside_quoted_text_are_not_row_boundaries() -> None:
    df = pd.DataFrame({"t": ["a\nb", 'q"\n"', "plain", "\n\n"], "n": [1, 2, 3, 4]})
    data = whole_csv(df)
    assert data == b'"a\nb",1\n"q""\n""",2\n"plain",3\n"\n\n",4\n'
    assert line_ends(data, 4).tolist() == [8, 19, 29, 36]
    payloads = list(iter_payloads(CsvEncoder(df), df.index, Budget(19)))
    assert [(p.start, p.stop) for p in payloads] == [(0, 2), (2, 4)]
    assert b"".join(p.body for p in payloads) == data


def test_a_row_too_wide_for_any_payload_is_refused_after_encoding_only_that_row(
    fake_runtime: type[FakeRuntime], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first chunk is sized from the dtypes' widest text, so a too-large first row is found
    by encoding it alone, once (one 400,000-column row took minutes when the columns were
    visited one by one and whole chunks were encoded)."""
    encoded: list[tuple[int, int, int]] = []
    original = CsvEncoder.encode

    def counting(self: CsvEncoder, start: int, stop: int) -> bytes:
        data = original(self, start, stop)
        encoded.append((start, stop, len(data)))
        return data

    monkeypatch.setattr(CsvEncoder, "encode", counting)
    rng = np.random.default_rng(2)
    df = pd.DataFrame(rng.normal(size=(50, 20_000)), index=[f"r{i}" for i in range(50)])
    runtime = fake_runtime()
    with pytest.raises(RowTooLargeError) as info:
        Invoker(runtime, "ep")(df, max_payload_bytes=100_000)
    [(start, stop, size)] = encoded
    assert (start, stop) == (0, 1)
    assert size == len(whole_csv(df.head(1)))
    assert str(info.value) == (
        f"row 'r0' (position 0) encodes to {size:,} bytes of CSV, more than the payload budget "
        "of 100,000 bytes (max_payload_bytes): no request can carry it"
    )
    assert runtime.calls == []


def test_first_chunk_is_sized_from_the_row_bound(numbers: pd.DataFrame) -> None:
    calls: list[int] = []

    class CountingEncoder(CsvEncoder):
        def encode(self, start: int, stop: int) -> bytes:
            calls.append(stop - start)
            return super().encode(start, stop)

    encoder = CountingEncoder(numbers)
    bound = csv_payloads.row_bytes_bound(numbers)
    assert bound == 6 * 33
    reference = list(iter_payloads(CsvEncoder(numbers), numbers.index, Budget(20_000)))
    sized = list(iter_payloads(encoder, numbers.index, Budget(20_000), bound))
    assert calls[0] == 20_000 // bound
    assert [p.body for p in sized] == [p.body for p in reference]


def test_chunks_encoded_on_several_threads_give_the_same_payloads_in_order() -> None:
    numbers = pd.DataFrame(np.random.default_rng(5).standard_normal((20_000, 6)))
    reference = list(iter_payloads(CsvEncoder(numbers), numbers.index, Budget(30_000)))
    threaded = list(iter_payloads(CsvEncoder(numbers), numbers.index, Budget(30_000), None, 3))
    assert len(reference) > 20
    assert [(p.start, p.stop, p.body) for p in threaded] == [
        (p.start, p.stop, p.body) for p in reference
    ]


def test_threads_hold_no_more_than_one_chunk_each_ahead_of_the_caller() -> None:
    import threading
    import time

    numbers = pd.DataFrame(np.random.default_rng(6).standard_normal((20_000, 6)))
    lock = threading.Lock()
    encoded: list[int] = []

    class CountingEncoder(CsvEncoder):
        def encode(self, start: int, stop: int) -> bytes:
            with lock:
                encoded.append(start)
            return super().encode(start, stop)

    chunks = csv_payloads.encoded_chunks(CountingEncoder(numbers), 20_000, 1000, 30_000, 2)
    for taken in range(1, 5):
        next(chunks)
        time.sleep(0.05)  # sleep-ok: encoder threads, no moto; they may run ahead meanwhile
        with lock:
            assert len(encoded) <= taken + 2
    chunks.close()  # a caller that stops: nothing more is started
    with lock:
        started = len(encoded)
    time.sleep(0.05)  # sleep-ok: encoder threads, no moto; nothing more may start
    assert len(encoded) == started
