"""The shortest CSV text of a float64 for a container that reads it as float32.

The scikit-learn and XGBoost containers parse each CSV number as a float64 and round that to
float32 (serving.py's `astype(np.float32)`; XGBoost's DMatrix stores float32). Writing the
float32 nearest to a value, in the fewest digits that name that float32 (what pyarrow's CSV
writer prints for a float32 column), gives the model the same array from about half as many
characters. The text is rounded twice on its way in, to float64 then to float32, and that
lands on a different float32 for a few patterns (`7.038531e-26` reads as the float32 above the
one it names): a column holding one of them keeps its full float64 text. The list is complete
for every float32 (`benchmarks/float32_text_sweep.py` wrote and read back all 2**31 magnitudes,
with pyarrow's writer and with orjson's: the same one pattern), for as long as they write the
same digits, which `writer_is_shortest` and orjson_csv.writes_shortest check once.
"""

from __future__ import annotations

import functools
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

# Every positive float32 (as its bits) whose shortest text reads back, through float64, as
# another float32; negatives are the same magnitudes. benchmarks/float32_text_sweep.py.
TWICE_ROUNDED_WRONG = np.array([0x15AE43FD], dtype=np.uint32)
_MAGNITUDE = np.uint32(0x7FFFFFFF)
_PROBES = 4096


def as_float32(values: np.ndarray) -> np.ndarray:
    """A float64 array's values as the float32 a container reads them as, column by column,
    where that float32's shortest text gives the container the same float32; columns that
    cannot (a finite value beyond float32's range, or one of the few twice-rounded patterns)
    and other dtypes come back as they were (an object array when some columns do)."""
    if values.dtype != np.float64 or not writer_is_shortest():
        return values
    with np.errstate(over="ignore"):
        narrow = values.astype(np.float32)
    keep = np.isinf(narrow) & np.isfinite(values)  # read as inf: keep what the user wrote
    keep |= np.isin(narrow.view(np.uint32) & _MAGNITUDE, TWICE_ROUNDED_WRONG)
    if not keep.any():
        return narrow
    if values.ndim == 1:
        return values
    mixed = values.astype(object)
    fits = ~keep.any(axis=0)
    mixed[:, fits] = narrow[:, fits]
    return mixed


@functools.cache
def writer_is_shortest() -> bool:
    """Whether pyarrow's CSV writer prints each float32 in the shortest digits that name it,
    the closest to its value (numpy's `unique=True`), as it did when the patterns above were
    found: checked once per process on a fixed sample of all patterns and on the listed ones.
    A writer that printed other digits would have other twice-rounded patterns."""
    bits = np.random.default_rng(32).integers(0, 0x7F800000, _PROBES, dtype=np.uint32)
    probes = np.concatenate([bits, TWICE_ROUNDED_WRONG]).view(np.float32)
    sink = pa.BufferOutputStream()
    table = pa.table({"v": pa.array(probes)})
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False))
    return names_each_float32(sink.getvalue().to_pybytes().decode().split(), probes)


def names_each_float32(texts: list[str], values: np.ndarray) -> bool:
    """Whether each text is its float32's shortest, closest digits (numpy's `unique=True`),
    sign included: the digits the twice-rounded patterns above were swept for."""
    return len(texts) == len(values) and all(
        Decimal(text) == Decimal(np.format_float_scientific(value, unique=True))
        and np.signbit(float(text)) == np.signbit(value)
        for text, value in zip(texts, values, strict=True)
    )
