"""`pytest -n 4` on the moto default: endpoints created and wall time with the plugin's sharing
(one endpoint for the run, deleted once by the controller) against the per-worker session
fixture a user gets otherwise (every worker deploys, serves and deletes its own endpoint).

The per-worker side is the same plugin with sharing turned off (`-p no:smendpoint-xdist`): the
behaviour every `scope="session"` fixture has under xdist, with the same real local serving, so
the difference is only the sharing. Each side runs a fresh pytest process; median of RUNS.
CreateEndpoint calls are counted in every process by a conftest handler.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _quickstart_model as quickstart

WORKERS = 4
TESTS = 16
RUNS = 3
CONFTEST = """
import os
from botocore.handlers import BUILTIN_HANDLERS

def _count(**kwargs):
    with open(os.environ["SM_CALLS_FILE"], "a") as out:
        out.write("CreateEndpoint\\n")

BUILTIN_HANDLERS.append(("before-call.sagemaker.CreateEndpoint", _count))
"""
TESTS_FILE = f"""
import pandas as pd
import pytest
from sklearn.datasets import load_iris

FEATURES = pd.DataFrame(load_iris(return_X_y=True)[0])

@pytest.mark.parametrize("n", range({TESTS}))
def test_predicts(sm_invoke, n):
    assert len(sm_invoke(FEATURES)) == len(FEATURES)
"""


def build_project(folder: Path) -> Path:
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, labels = load_iris(return_X_y=True)
    (folder / "model").mkdir(parents=True)
    joblib.dump(
        LogisticRegression(max_iter=500).fit(features, labels), folder / "model" / "m.joblib"
    )
    # The scikit-learn container has no default model loader: the entry script's model_fn.
    (folder / "model" / "code").mkdir()
    (folder / "model" / "code" / "inference.py").write_text(
        "import os\nimport joblib\n\n\ndef model_fn(model_dir):\n"
        "    return joblib.load(os.path.join(model_dir, 'm.joblib'))\n"
    )
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_bench.py").write_text(TESTS_FILE)
    return folder


def run(folder: Path, *extra: str) -> tuple[float, int]:
    calls = folder / "calls.txt"
    calls.unlink(missing_ok=True)
    env = {**os.environ, "SM_CALLS_FILE": str(calls), "SAGEMAKER_SUPPRESS_V2_WARNING": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(WORKERS),
        "--sm-model-data=model", f"--sm-image-uri={quickstart.IMAGE}",
        *(f"--sm-env={k}={v}" for k, v in quickstart.ENVIRONMENT.items()), *extra,
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(done.stdout + done.stderr)
    return elapsed, calls.read_text().count("CreateEndpoint")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-xdist-") as scratch:
        folder = build_project(Path(scratch))
        results = {}
        for label, extra in (("shared", ()), ("per-worker", ("-p", "no:smendpoint-xdist"))):
            runs = [run(folder, *extra) for _ in range(RUNS)]
            results[label] = (statistics.median(t for t, _ in runs), max(n for _, n in runs))
    shared_time, shared_count = results["shared"]
    own_time, own_count = results["per-worker"]
    print(f"pytest -n {WORKERS}, {TESTS} tests calling sm_invoke, median of {RUNS} runs:")
    print(f"  plugin (shared):      {shared_count} endpoint(s) created, {shared_time:.2f} s wall")
    print(f"  per-worker fixture:   {own_count} endpoint(s) created, {own_time:.2f} s wall")
    print(
        f"  ratio: {own_count / shared_count:.1f}x fewer endpoints, "
        f"wall time {shared_time / own_time:.2f} of the per-worker run"
    )


if __name__ == "__main__":
    main()
