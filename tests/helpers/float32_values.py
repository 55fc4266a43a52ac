"""float64 values that are hard to write as float32 text, and the two bodies the invoker would
send for them: shared by the invoker's tests and the image-runtime differential tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pytest_smendpoint.invoke.csv_payloads import CsvEncoder
from pytest_smendpoint.invoke.float32_text import TWICE_ROUNDED_WRONG

COLUMNS = 8
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _neighbours(values: np.ndarray, steps: int = 2) -> np.ndarray:
    """Each float64 value and the float64s up to `steps` ulps on either side of it."""
    found = [values]
    up, down = values.copy(), values.copy()
    for _ in range(steps):
        up, down = np.nextafter(up, np.inf), np.nextafter(down, -np.inf)
        found += [up, down]
    return np.concatenate(found)


def adversarial_values(count: int = 20_000, seed: int = 7) -> np.ndarray:
    """float64 values that are hard for a float32 text: float32 rounding midpoints and the
    float64s next to them, every listed twice-rounded pattern and its neighbours, subnormals
    and the values that round to zero or to the smallest subnormal, float32's largest finite
    values, both zeros, and random values from 1e-45 to 1e38; each with both signs."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 0x7F7FFFFF, count, dtype=np.uint32)  # finite, below the largest
    f = bits.view(np.float32).astype(np.float64)
    above = np.nextafter(bits.view(np.float32), np.float32(np.inf)).astype(np.float64)
    midpoints = (f + above) / 2  # exact in float64: 25 significant bits
    wrong = TWICE_ROUNDED_WRONG.view(np.float32)
    wrong_neighbours = np.concatenate(
        [np.nextafter(wrong, np.float32(np.inf)), np.nextafter(wrong, np.float32(0)), wrong]
    ).astype(np.float64)
    subnormal_bits = rng.integers(1, 0x00800000, count // 4, dtype=np.uint32)
    subnormals = subnormal_bits.view(np.float32).astype(np.float64)
    tiny = 2.0**-149
    edges = np.array(
        [0.0, tiny / 2, tiny, 1.5 * tiny, tiny * 0.75, 2.0**-126, FLOAT32_MAX, 1.0, 0.1, 1 / 3]
    )
    scaled = rng.standard_normal(count) * 10.0 ** rng.integers(-44, 38, count)
    magnitudes = np.concatenate(
        [
            _neighbours(midpoints),
            _neighbours(wrong_neighbours, 3),
            _neighbours(subnormals, 1),
            _neighbours(edges),
            f,
            scaled,
        ]
    )
    magnitudes = magnitudes[np.abs(magnitudes) <= FLOAT32_MAX]  # overflow: its own test
    values = np.concatenate([magnitudes, -magnitudes, [-0.0]])
    return rng.permutation(values)


def without_twice_rounded(values: np.ndarray) -> np.ndarray:
    """The values but the twice-rounded patterns (which keep their column at full precision, so
    a frame holding one is written by pyarrow's table): a frame of the rest is written by
    orjson (orjson_csv.py)."""
    narrow = values.astype(np.float32).view(np.uint32) & np.uint32(0x7FFFFFFF)
    return values[~np.isin(narrow, TWICE_ROUNDED_WRONG)]


def as_frame(values: np.ndarray, columns: int = COLUMNS) -> pd.DataFrame:
    rows = len(values) // columns
    return pd.DataFrame(values[: rows * columns].reshape(rows, columns))


def bodies(frame: pd.DataFrame) -> tuple[str, str]:
    """(short, full): the frame's CSV for a float32-reading endpoint, and at full precision."""
    short = CsvEncoder(frame, float32=True).encode(0, len(frame))
    full = CsvEncoder(frame).encode(0, len(frame))
    return short.decode(), full.decode()
