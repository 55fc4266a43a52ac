"""CSV lines of a finite float array, formatted by orjson: about three times faster than pyarrow's
CSV writer for the same values (benchmarks/bench_invoke_encode.py).

Both print each number in the shortest digits that read back as it (Ryu's shortest, closest
digits for float32 and float64), in spellings that differ (`5e-05` against `5e-5`; orjson's
`1.0` is written `1`, as pyarrow writes it): a
correctly rounded parse, which every container's is (Python's float(), numpy's, pyarrow's), gives
the same number from either. orjson writes NaN and infinities as `null`, so arrays holding one
are left to pyarrow, whole (a row's text must not depend on which rows it is encoded with).
Whether this orjson prints such digits is checked once per process (`writes_shortest`); an
orjson that did not, or none installed, leaves every array to pyarrow.
"""

from __future__ import annotations

import functools

import numpy as np

from pytest_smendpoint.invoke.float32_text import names_each_float32

_COMMA = ord(",")
_NEWLINE = ord("\n")
_ZERO = ord("0")
_POINT = ord(".")
_PROBES = 2048
_CHECK_ROWS = 65536


def can_encode(values: np.ndarray) -> bool:
    """Whether `encode_rows` writes every row range of this array exactly: a 2-D float32 or
    float64 array of finite values, and an orjson that prints them as they must be printed."""
    if values.ndim != 2 or values.dtype not in (np.float32, np.float64):
        return False
    if not writes_shortest():
        return False
    # In blocks of rows: a mask of the whole of a large frame would cost a byte per value.
    return all(
        bool(np.isfinite(values[start : start + _CHECK_ROWS]).all())
        for start in range(0, len(values), _CHECK_ROWS)
    )


def encode_rows(values: np.ndarray) -> bytes:
    """A 2-D array that `can_encode` accepted (or rows of one) as CSV lines, each ending in a
    newline."""
    import orjson

    if not values.size:
        return b""

    rows, columns = values.shape
    # One flat JSON array "[a,b,...]": its commas are the fields' commas, and every row's last
    # becomes the row's newline (the numbers hold no comma).
    flat = np.ascontiguousarray(values).reshape(-1)
    text = bytearray(orjson.dumps(flat, option=orjson.OPT_SERIALIZE_NUMPY))
    text[-1] = _COMMA  # "]" becomes the last row's separator, then its newline
    raw = np.frombuffer(text, dtype=np.uint8)[1:]
    commas = np.flatnonzero(raw == _COMMA)
    raw[commas[columns - 1 :: columns]] = _NEWLINE
    # orjson writes a whole number as "1.0", pyarrow as "1": drop the ".0" (which ends only whole
    # numbers: the digits are the shortest), or one-hot and count columns would take twice the
    # characters of pyarrow's text.
    whole = commas[(raw[commas - 1] == _ZERO) & (raw[commas - 2] == _POINT)]
    if not len(whole):
        return bytes(raw)
    keep = np.ones(len(raw), dtype=bool)
    keep[whole - 1] = False
    keep[whole - 2] = False
    return raw[keep].tobytes()


@functools.cache
def writes_shortest() -> bool:
    """Whether the installed orjson prints float32 values in the shortest, closest digits (what
    numpy's `unique=True` gives, and what the twice-rounded list in float32_text.py was swept
    for) and float64 values in digits that read back as the same float64: checked once per
    process on a fixed sample of bit patterns, subnormals, extremes and signed zeros."""
    try:
        import orjson
    except ImportError:
        return False
    rng = np.random.default_rng(64)
    singles = np.concatenate(
        [
            rng.integers(0, 0x7F800000, _PROBES, dtype=np.uint32),
            np.array([0, 1, 2, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0x15AE43FD], dtype=np.uint32),
        ]
    ).view(np.float32)
    singles = np.concatenate([singles, -singles])
    doubles = np.concatenate(
        [
            rng.integers(0, 0x7FF0000000000000, _PROBES, dtype=np.uint64),
            np.array([0, 1, 0x000FFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF], dtype=np.uint64),
        ]
    ).view(np.float64)
    doubles = np.concatenate([doubles, -doubles, np.arange(-50, 50) / 8])
    try:
        single_text = _fields(orjson.dumps(singles, option=orjson.OPT_SERIALIZE_NUMPY))
        double_text = _fields(orjson.dumps(doubles, option=orjson.OPT_SERIALIZE_NUMPY))
    except Exception:  # an orjson that refuses numpy arrays: pyarrow writes them
        return False
    return (
        names_each_float32(single_text, singles)
        and len(double_text) == len(doubles)
        and all(
            float(text) == value and np.signbit(float(text)) == np.signbit(value)
            for text, value in zip(double_text, doubles.tolist(), strict=True)
        )
    )


def _fields(text: bytes) -> list[str]:
    return text.decode("ascii").strip("[]").split(",")
