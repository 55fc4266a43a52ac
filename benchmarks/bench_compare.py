"""`sm_compare` on 200,000 rows x 30 float64 against two `sm_invoke` calls one after the other.

Two endpoints on the moto default serve the quickstart model (`examples/quickstart`; its
predict_fn answers a probability per row): a candidate and a "production" endpoint. Timed,
interleaved so that other load on the machine hits both alike (median of 3):

1. one after the other: `candidate(df)` then `baseline(df)`, plain invokers;
2. `sm_compare(df, threshold=0.5)`: both at once, plus every figure, the worst rows and the
   report's summary of it (what the fixture does per call).

Goal: 2 takes at most 1.1x the time of 1. Prints the ratio and a table row for docs/performance.md.

    python examples/quickstart/train.py && python benchmarks/bench_compare.py
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import _quickstart_model as quickstart
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

from pytest_smendpoint import Comparer, deploy, open_account
from pytest_smendpoint.invoke.invoker import Invoker, make_runtime_client
from pytest_smendpoint.reporting.comparisons import ComparisonSummary

ROWS, FEATURES = 200_000, 30
REPEAT = 3
GOAL = 1.1


def make_frame() -> pd.DataFrame:
    """200,000 rows around the breast-cancer features' means and spreads, plus `label` (as
    bench_invoke.py draws them)."""
    data = load_breast_cancer().data
    rng = np.random.default_rng(0)
    values = data.mean(axis=0) + data.std(axis=0) * rng.standard_normal((ROWS, FEATURES))
    frame = pd.DataFrame(values, columns=[f"f{i}" for i in range(FEATURES)])
    return frame.assign(label=rng.integers(0, 2, ROWS))


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def main() -> None:
    df = make_frame()
    settings = quickstart.settings()
    load_before = os.getloadavg()
    with open_account(settings) as account:
        spec = quickstart.upload(account)
        runtime = make_runtime_client(account.boto_session, settings.invoke)
        with (
            deploy(spec, settings=settings, account=account) as candidate_endpoint,
            deploy(spec, settings=settings, account=account) as baseline_endpoint,
        ):
            candidate = Invoker(runtime, candidate_endpoint.name, settings.invoke)
            baseline = Invoker(runtime, baseline_endpoint.name, settings.invoke)
            kept: list[ComparisonSummary] = []
            comparer = Comparer(
                candidate,
                baseline,
                lambda done: kept.append(ComparisonSummary.from_comparison(done)),
            )
            comparer(df.head(20_000), threshold=0.5)  # warm up: imports, first-use caches
            sequential, compared = [], []
            for _ in range(REPEAT):
                sequential.append(timed(lambda: (candidate(df), baseline(df)))[0])
                seconds, result = timed(lambda: comparer(df, threshold=0.5))
                compared.append(seconds)
    load_after = os.getloadavg()
    one_after_other = statistics.median(sequential)
    together = statistics.median(compared)
    ratio = together / one_after_other
    print(
        f"{ROWS:,} rows x {FEATURES} float64 (+ label), quickstart model, "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    print(f"two sm_invoke calls one after the other: {one_after_other:.2f} s "
          f"(runs {', '.join(f'{s:.2f}' for s in sequential)})")  # fmt: skip
    print(f"sm_compare(df, threshold=0.5):           {together:.2f} s "
          f"(runs {', '.join(f'{s:.2f}' for s in compared)})")  # fmt: skip
    print(f"ratio {ratio:.2f} (goal <= {GOAL}); agreement {result.agreement:.4f}, "
          f"score_diff_max {result.score_diff.max:.3g}")  # fmt: skip
    print()
    print(
        f"| `sm_compare` on 200,000 x 30 rows, candidate and production (`bench_compare.py`, "
        f"median of {REPEAT}) | {together:.2f} s | two `sm_invoke` calls one after the other: "
        f"{one_after_other:.2f} s | {ratio:.2f} (goal ≤ {GOAL}) |"
    )


if __name__ == "__main__":
    main()
