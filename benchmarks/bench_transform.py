"""sm_transform offline: BENCH_ROWS rows (default 10,000,000) x 30 float64 features from a
Parquet file, through a Batch Transform job behind moto (the quickstart's model, 2 instances),
against what a user would write instead:

- the single-thread floor, in one process: each Parquet batch encoded to CSV (pyarrow), decoded
  (pandas' pyarrow engine, float32 as the container casts) and predicted, no transport at all;
- sm_invoke on the same rows (the whole frame read into memory first, as sm_invoke needs).

Each runs in a process of its own (this script runs itself with --stage), so that each peak RSS
(ru_maxrss) is that stage's alone; the model's processes are not the test process and are not
counted. Goals (issue 20): sm_transform within 1.2x of the floor, and its test process's peak
RSS under 2x the input frame's own size.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _quickstart_model as quickstart

ROWS = int(os.environ.get("BENCH_ROWS", "10000000"))
FEATURES = 30
ROW_GROUP = 500_000
BATCH = 65_536
INSTANCES = 2


def make(path: Path, rows_wanted: int) -> None:
    """The Parquet file, written a row group at a time (never the whole frame in memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer().data
    mean, std = data.mean(axis=0), data.std(axis=0)
    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(FEATURES)]
    with pq.ParquetWriter(path, pa.schema([(n, pa.float64()) for n in names])) as writer:
        for start in range(0, rows_wanted, ROW_GROUP):
            rows = min(ROW_GROUP, rows_wanted - start)
            values = mean + std * rng.standard_normal((rows, FEATURES))
            writer.write_table(pa.table({n: values[:, i] for i, n in enumerate(names)}))


def frame_bytes(path: Path) -> int:
    """The input frame's own size in memory: rows x features x 8 bytes (float64)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    return int(meta.num_rows * meta.num_columns * 8)


def stage_floor(path: Path) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from bench_invoke import load_model

    _, predict = load_model()
    steps = {"encode": 0.0, "decode": 0.0, "predict": 0.0}
    rows = 0
    started = time.perf_counter()
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH):
        t0 = time.perf_counter()
        sink = pa.BufferOutputStream()
        pacsv.write_csv(
            pa.Table.from_batches([batch]),
            sink,
            write_options=pacsv.WriteOptions(include_header=False),
        )
        data = sink.getvalue()
        t1 = time.perf_counter()
        decoded = pd.read_csv(pa.BufferReader(data), header=None, engine="pyarrow")
        values = np.ascontiguousarray(decoded.to_numpy(dtype=np.float64)).astype(np.float32)
        t2 = time.perf_counter()
        predict(values)
        t3 = time.perf_counter()
        steps["encode"] += t1 - t0
        steps["decode"] += t2 - t1
        steps["predict"] += t3 - t2
        rows += batch.num_rows
    return {"seconds": time.perf_counter() - started, "rows": rows, "steps": steps}


def stage_transform(path: Path) -> dict[str, Any]:
    from pytest_smendpoint import open_account, transformer

    settings = quickstart.settings()
    with open_account(settings) as account:
        spec = quickstart.upload(account)
        with transformer(spec, settings=settings, account=account) as transform:
            transform(path.parent / "warm.parquet", instance_count=INSTANCES)  # model loads
            started = time.perf_counter()
            predictions = transform(path, instance_count=INSTANCES)
            seconds = time.perf_counter() - started
            job = transform.records[-1]
    return {
        "seconds": seconds,
        "rows": len(predictions),
        "steps": {"in the job": job.job_seconds, "objects": job.objects},
    }


def stage_invoke(path: Path) -> dict[str, Any]:
    import pandas as pd

    from pytest_smendpoint import deploy, open_account

    settings = quickstart.settings()
    frame = pd.read_parquet(path)
    with open_account(settings) as account:
        spec = quickstart.upload(account)
        with deploy(spec, settings=settings, account=account) as endpoint:
            endpoint.invoke(frame.head(20_000))  # warm up
            started = time.perf_counter()
            predictions = endpoint.invoke(frame)
            seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": len(predictions)}


STAGES = {"floor": stage_floor, "transform": stage_transform, "invoke": stage_invoke}


def run_stage(name: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--stage", name, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--stage":
        result = STAGES[sys.argv[2]](Path(sys.argv[3]))
        result["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps(result))
        return
    quickstart.require_model()
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    with tempfile.TemporaryDirectory(prefix="bench-transform-") as scratch:
        path = Path(scratch) / "holdout.parquet"
        started = time.perf_counter()
        make(path, ROWS)
        make(path.parent / "warm.parquet", 1000)
        size = frame_bytes(path)
        load = os.getloadavg()
        print(
            f"{ROWS:,} rows x {FEATURES} float64 in Parquet ({path.stat().st_size / 1e9:.2f} GB; "
            f"the frame in memory {size / 1e9:.2f} GB), written in "
            f"{time.perf_counter() - started:.0f} s; load average {load[0]:.2f}"
        )
        results = {name: run_stage(name, path) for name in ("floor", "transform", "invoke")}
    floor = results["floor"]
    for name, result in results.items():
        rate = result["rows"] / result["seconds"]
        print(
            f"  {name:10s} {result['seconds']:8.1f} s  {rate:12,.0f} rows/s  "
            f"{result['seconds'] / floor['seconds']:5.2f}x the floor  "
            f"peak RSS {result['peak_rss'] / 1e9:5.2f} GB "
            f"({result['peak_rss'] / size:4.2f}x the frame)"
        )
    for name in ("floor", "transform"):
        steps = results[name]["steps"]
        print(f"  {name}'s steps: " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()))
    transform = results["transform"]
    print(
        f"sm_transform: {transform['seconds'] / floor['seconds']:.2f}x the floor (goal <= 1.2), "
        f"{results['invoke']['seconds'] / transform['seconds']:.2f}x faster than sm_invoke; "
        f"peak RSS {transform['peak_rss'] / size:.2f}x the frame (goal < 2)"
    )


if __name__ == "__main__":
    main()
