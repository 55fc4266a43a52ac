"""`sm_invoke`'s own cost per call, with a runtime client that does nothing, beside hand-written
code.

1. Client overhead per call on 1x30 and 10x30 float64 frames: the median wall time of many
   `sm_invoke(df)` calls (and the median `stats.client_ms`, the call's time with no request in
   flight), beside what a user writes instead: `df.to_csv(header=False, index=False)` and one
   `invoke_endpoint` call to the same do-nothing client. Goal: under 1 ms per call.
2. 10,000 one-row calls in a loop, in all (the field report: 308 s, with a latency p50 of 2.5 ms).
3. One 400,000-column float64 row, over the payload budget: the time `sm_invoke` takes to refuse
   it, beside the time to encode the row with pyarrow (`Table.from_pandas` + `csv.write_csv`,
   one run: it takes about 110 us a column) and with `to_csv`. Goal: refused in under 2x the
   time to encode it (the faster encode is the one compared).

No endpoint, no moto, no HTTP: the runtime client answers a canned body at once, so everything
measured is the client's work. Then the invoker's stats line, as the session report shows it.

    python benchmarks/bench_invoke_overhead.py
"""

from __future__ import annotations

import io
import os
import platform
import statistics
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from pytest_smendpoint import RowTooLargeError
from pytest_smendpoint.invoke.invoker import Invoker

SMALL_SHAPES = ((1, 30), (10, 30))
CALLS = 2_000
LOOP_CALLS = 10_000
WIDE_COLUMNS = 400_000
REPEAT = 3
OVERHEAD_GOAL_MS, REFUSE_GOAL = 1.0, 2.0


class DoNothingRuntime:
    """A `sagemaker-runtime` client that answers one prediction per line sent, at once."""

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        rows = max(1, kwargs["Body"].count(b"\n"))
        return {
            "Body": io.BytesIO(b"0.5\n" * rows),
            "ContentType": "text/csv",
            "ResponseMetadata": {"RetryAttempts": 0},
        }


def frame(rows: int, columns: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, columns)) * 10.0 ** rng.integers(-8, 9, size=(rows, columns))
    return pd.DataFrame(values, columns=[f"f{i}" for i in range(columns)])


def median_ms(call: Callable[[], Any], times: int) -> float:
    for _ in range(min(50, times)):
        call()  # warm up: imports, first-use caches
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e3


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def hand_written(runtime: DoNothingRuntime, df: pd.DataFrame) -> bytes:
    body = df.to_csv(header=False, index=False).encode()
    answer: bytes = runtime.invoke_endpoint(
        EndpointName="ep", Body=body, ContentType="text/csv", Accept="text/csv"
    )["Body"].read()
    return answer


def refuse(invoker: Invoker, df: pd.DataFrame) -> str:
    try:
        invoker(df)
    except RowTooLargeError as error:
        return str(error)
    raise AssertionError("the row was not refused")


def pyarrow_encode(df: pd.DataFrame) -> int:
    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(df, preserve_index=False)
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False))
    return len(sink.getvalue())


def main() -> None:
    load_before = os.getloadavg()
    runtime = DoNothingRuntime()
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"pandas {version('pandas')}, pyarrow {version('pyarrow')}, numpy {version('numpy')}; "
        f"load average {load_before[0]:.2f}\n"
    )

    print(f"1. per call, do-nothing runtime client, median of {CALLS:,} calls:")
    rows_out = []
    for rows, columns in SMALL_SHAPES:
        df = frame(rows, columns)
        invoker = Invoker(runtime, "ep")
        ours = median_ms(lambda df=df, invoker=invoker: invoker(df), CALLS)
        client = statistics.median(invoker.stats.client_ms)
        theirs = median_ms(lambda df=df: hand_written(runtime, df), CALLS)
        met = "met" if ours < OVERHEAD_GOAL_MS else "MISSED"
        print(
            f"   {rows}x{columns}: sm_invoke {ours:.3f} ms (stats.client_ms p50 {client:.3f}); "
            f"to_csv + invoke_endpoint {theirs:.3f} ms; sm_invoke / hand-written "
            f"{ours / theirs:.2f}x (goal < {OVERHEAD_GOAL_MS} ms: {met})"
        )
        rows_out.append((rows, columns, ours, theirs))

    one_row = frame(LOOP_CALLS, 30)
    invoker = Invoker(runtime, "ep")
    loop = timed(lambda: [invoker(one_row.iloc[i : i + 1]) for i in range(LOOP_CALLS)])
    print(
        f"\n2. {LOOP_CALLS:,} one-row calls (1x30, a slice of a frame each): {loop:.2f} s in all, "
        f"{loop / LOOP_CALLS * 1e3:.3f} ms per call\n   stats: {invoker.stats.summary()}"
    )

    wide = frame(1, WIDE_COLUMNS)
    invoker = Invoker(runtime, "ep")
    message = refuse(invoker, wide)
    refusals = [timed(lambda: refuse(invoker, wide)) for _ in range(REPEAT)]
    arrow = [timed(lambda: pyarrow_encode(wide))]  # one run: about 45 s here
    pandas = [timed(lambda: wide.to_csv(header=False, index=False)) for _ in range(REPEAT)]
    refused, arrow_s, pandas_s = (statistics.median(t) for t in (refusals, arrow, pandas))
    fastest = min(arrow_s, pandas_s)
    print(
        f"\n3. one {WIDE_COLUMNS:,}-column float64 row over the budget, median of {REPEAT}:\n"
        f"   sm_invoke refuses it in {refused:.3f} s: {message}\n"
        f"   pyarrow Table.from_pandas + write_csv (1 run): {arrow_s:.3f} s; pandas to_csv: "
        f"{pandas_s:.3f} s\n   refusal / fastest encode: {refused / fastest:.2f}x "
        f"(goal < {REFUSE_GOAL}x: {'met' if refused / fastest < REFUSE_GOAL else 'MISSED'})"
    )

    load_after = os.getloadavg()
    print(f"\nload average (1 min) {load_before[0]:.2f} before / {load_after[0]:.2f} after\n")
    print("| case | sm_invoke | hand-written | ratio |")
    print("|---|---|---|---|")
    for rows, columns, ours, theirs in rows_out:
        print(
            f"| client overhead per call, {rows}x{columns} float64, do-nothing client "
            f"(median of {CALLS:,}) | {ours:.3f} ms | {theirs:.3f} ms (`to_csv` + "
            f"`invoke_endpoint`) | {ours / theirs:.2f}x |"
        )
    print(
        f"| {WIDE_COLUMNS:,}-column row over the payload budget: refused in "
        f"(median of {REPEAT}) | {refused:.2f} s | encode only: pyarrow {arrow_s:.1f} s (1 run), "
        f"`to_csv` {pandas_s:.2f} s | {refused / fastest:.2f}x the fastest encode |"
    )


if __name__ == "__main__":
    main()
