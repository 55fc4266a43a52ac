"""sm_invoke's CSV encoder + splitter against pandas' one-shot `to_csv`, on 200,000 x 30 float64.

Run: python benchmarks/bench_invoke_encode.py  (prints both times, the ratio and an exactness
check of each output: parsed back, every value must equal the original bit for bit).
"""

from __future__ import annotations

import io
import time

import numpy as np
import pandas as pd

from pytest_smendpoint.invoke.csv_payloads import Budget, CsvEncoder, iter_payloads
from pytest_smendpoint.invoke.frame_checks import FrameRules, prepare

ROWS, COLUMNS, BUDGET = 200_000, 30, 5_000_000


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    # Mixed magnitudes so both fixed and exponent notations are written.
    values = rng.normal(size=(ROWS, COLUMNS)) * 10.0 ** rng.integers(-8, 9, size=(ROWS, COLUMNS))
    return pd.DataFrame(values, columns=[f"f{i}" for i in range(COLUMNS)])


def exact(data: bytes, original: np.ndarray) -> bool:
    back = pd.read_csv(io.BytesIO(data), header=None, engine="pyarrow").to_numpy(np.float64)
    return back.shape == original.shape and np.array_equal(
        back.view(np.uint64), original.view(np.uint64)
    )


def main() -> None:
    df = frame()
    original = df.to_numpy()

    started = time.perf_counter()
    prepared = prepare(df, FrameRules())
    payloads = list(iter_payloads(CsvEncoder(prepared.frame), prepared.frame.index, Budget(BUDGET)))
    ours = time.perf_counter() - started

    started = time.perf_counter()
    text = df.to_csv(header=False, index=False)
    theirs = time.perf_counter() - started

    joined = b"".join(p.body for p in payloads)
    sizes = [len(p.body) for p in payloads]
    print(f"frame: {ROWS:,} x {COLUMNS} float64, {len(joined) / 1e6:.1f} MB of CSV")
    print(
        f"sm_invoke encoder + splitter: {ours:6.2f} s  ({len(payloads)} payloads, "
        f"largest {max(sizes):,} B <= {BUDGET:,} B: {max(sizes) <= BUDGET})"
    )
    print(f"pandas to_csv (one shot):     {theirs:6.2f} s")
    print(f"ratio pandas / sm_invoke:     {theirs / ours:6.1f}x")
    print(
        f"round trip exact: sm_invoke {exact(joined, original)}, "
        f"pandas {exact(text.encode(), original)}"
    )


if __name__ == "__main__":
    main()
