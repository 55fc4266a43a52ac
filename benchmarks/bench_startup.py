"""Start-up cost of having the plugin installed, for a suite that uses none of its fixtures.

Runs the same 300-test suite with the plugin and with `-p no:smendpoint`, alternating, and
prints the median wall time of each and their ratio (goal: <= 1.05).

Bytecode caching is on for the runs, as it is by default for users (this machine's environment
sets PYTHONDONTWRITEBYTECODE=1, which would recompile every module of the plugin and of pytest
on every run and measure the compiler instead).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = 9
SUITE = "\n".join(f"def test_{i}():\n    assert {i} == {i}\n" for i in range(300))


def run(folder: Path, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, str(folder)],
        check=True,
        stdout=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    )
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "test_suite.py").write_text(SUITE)
        run(folder)  # warm the file and bytecode caches, with and without the plugin
        run(folder, "-p", "no:smendpoint")
        with_plugin, without_plugin = [], []
        for _ in range(ROUNDS):
            with_plugin.append(run(folder))
            without_plugin.append(run(folder, "-p", "no:smendpoint"))
    plugin, baseline = statistics.median(with_plugin), statistics.median(without_plugin)
    print(f"300 tests, no plugin fixture used, median of {ROUNDS} runs each")
    print(f"  with pytest-smendpoint installed : {plugin:.3f} s")
    print(f"  with -p no:smendpoint            : {baseline:.3f} s")
    print(f"  ratio                            : {plugin / baseline:.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()
