"""Every finite float32 written as sm_invoke writes it for a float32-reading container (orjson's
numpy writer, or pyarrow's CSV writer on a float32 column: the shortest digits that name it),
read back as the containers
read it (a correctly rounded parse to float64, here pyarrow's, as numpy's and Python's are, then
a cast to float32): prints each pattern that comes back as another float32, the list that
`pytest_smendpoint/invoke/float32_text.py` keeps as TWICE_ROUNDED_WRONG.

Positive magnitudes only: a negative value's text is "-" and its magnitude's, read the same way.
About 2**31 values in 128 chunks; 6 to 10 minutes on one core.

    python benchmarks/float32_text_sweep.py            # all chunks
    python benchmarks/float32_text_sweep.py 0 64       # chunks [0, 64), to split it over cores
    python benchmarks/float32_text_sweep.py 0 128 orjson   # orjson's text instead of pyarrow's
"""

from __future__ import annotations

import sys
import time

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv

CHUNK = 1 << 24
CHUNKS = 128  # 128 * 2**24 = 2**31: every pattern with the sign bit clear
FINITE = 0x7F800000  # +inf's pattern: every smaller one is a finite float32 (or +0)
WRITE = pacsv.WriteOptions(include_header=False)


def written(values: np.ndarray, writer: str) -> bytes:
    """One value per line, as `writer` prints float32 values."""
    if writer == "orjson":
        text = orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)
        return text[1:-1].replace(b",", b"\n") + b"\n"
    sink = pa.BufferOutputStream()
    pacsv.write_csv(pa.table({"v": pa.array(values)}), sink, write_options=WRITE)
    return sink.getvalue().to_pybytes()


def twice_rounded_wrong(chunk: int, writer: str = "pyarrow") -> np.ndarray:
    """The patterns of one chunk whose written text reads back as another float32."""
    bits = np.arange(chunk * CHUNK, (chunk + 1) * CHUNK, dtype=np.uint32)
    bits = bits[bits < FINITE]
    if not len(bits):
        return bits
    back = pacsv.read_csv(
        pa.BufferReader(written(bits.view(np.float32), writer)),
        read_options=pacsv.ReadOptions(column_names=["v"]),
        convert_options=pacsv.ConvertOptions(column_types={"v": pa.float64()}),
    )
    read = back.column(0).to_numpy().astype(np.float32).view(np.uint32)
    return bits[read != bits]


def main() -> None:
    first = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    last = int(sys.argv[2]) if len(sys.argv) > 2 else CHUNKS
    writer = sys.argv[3] if len(sys.argv) > 3 else "pyarrow"
    started = time.perf_counter()
    found: list[int] = []
    for chunk in range(first, last):
        wrong = twice_rounded_wrong(chunk, writer)
        for pattern in wrong.tolist():
            value = np.array([pattern], dtype=np.uint32).view(np.float32)[0]
            print(f"0x{pattern:08X} {np.format_float_scientific(value, unique=True)}", flush=True)
        found += wrong.tolist()
    seconds = time.perf_counter() - started
    print(
        f"chunks [{first}, {last}): {len(found)} of the patterns read back as another float32 "
        f"({seconds:.0f} s, {writer}'s text; orjson {orjson.__version__}, "
        f"pyarrow {pa.__version__}, numpy {np.__version__})"
    )


if __name__ == "__main__":
    main()
