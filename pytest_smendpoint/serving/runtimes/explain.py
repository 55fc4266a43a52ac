"""Why a model did not load under its image's packages, read from the model's own files: the
scikit-learn version a pickle records, whether it was written by numpy 2 (it then names
`numpy._core`, which numpy 1.x lacks), the xgboost version a saved booster records.

Only a hint after the container's own error: a file it cannot read says nothing."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from pytest_smendpoint.serving.runtimes.catalog import ImageRuntime, closest_for_framework

PICKLES = (".joblib", ".pkl", ".pickle", ".sav")
XGBOOST_FILES = ("xgboost-model",)
READ_LIMIT = 64 * 1024 * 1024
# A pickle (protocol 2 and later) stores an estimator's `_sklearn_version` as a key followed
# by a (SHORT_)BINUNICODE string: 0x8c then a one-byte length, or X then a four-byte length.
_SKLEARN_VERSION = re.compile(rb"_sklearn_version(?:\x94|q.|r....)?(?:\x8c(.)|X(.)\x00\x00\x00)")
_XGBOOST_JSON_VERSION = re.compile(rb'"version"\s*:\s*\[\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\]')


@dataclass(frozen=True)
class Provenance:
    """What one model file says about the packages that wrote it."""

    file: str
    sklearn: str | None = None
    numpy_2: bool = False
    xgboost: str | None = None


def read(model_dir: Path) -> list[Provenance]:
    found = []
    for path in sorted(model_dir.rglob("*")):
        if not path.is_file() or path.stat().st_size > READ_LIMIT:
            continue
        shown = str(path.relative_to(model_dir))
        if path.suffix in PICKLES or path.name in XGBOOST_FILES:
            data = _bytes(path)
            version = _sklearn_version(data)
            xgboost = _xgboost_version(data) if path.name in XGBOOST_FILES else None
            numpy_2 = b"numpy._core" in data
            if version or numpy_2 or xgboost:
                found.append(Provenance(shown, version, numpy_2, xgboost))
        elif path.suffix in (".json", ".ubj"):
            xgboost = _xgboost_version(_bytes(path))
            if xgboost:
                found.append(Provenance(shown, xgboost=xgboost))
    return found


def hint(model_dir: Path, runtime: ImageRuntime) -> str:
    """Sentences naming each mismatch between the model's files and the image; "" if none."""
    sentences = []
    for item in read(model_dir):
        wrote, has = [], []
        if item.sklearn and item.sklearn != runtime.packages.get("scikit-learn", item.sklearn):
            wrote.append(f"scikit-learn {item.sklearn}")
            has.append(f"scikit-learn {runtime.packages['scikit-learn']}")
        numpy = runtime.packages.get("numpy", "")
        if item.numpy_2 and numpy.startswith(("0.", "1.")):
            wrote.append("numpy 2 (it refers to numpy._core)")
            has.append(f"numpy {numpy}")
        if item.xgboost and item.xgboost != runtime.packages.get("xgboost", item.xgboost):
            wrote.append(f"xgboost {item.xgboost}")
            has.append(f"xgboost {runtime.packages['xgboost']}")
        if not wrote:
            continue
        written = item.sklearn or item.xgboost
        suggestion = closest_for_framework(runtime.repository, written) if written else None
        use = f"use the {suggestion.tag} image, or " if suggestion else ""
        train = ", ".join(f"{name} {version}" for name, version in runtime.packages.items())
        sentences.append(
            f"{item.file} was written with {' / '.join(wrote)}; the {runtime.tag} image has "
            f"{' / '.join(has)}. To fix: {use}train with the image's packages ({train})."
        )
    return " ".join(sentences)


def _bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:1] == b"\x78":  # joblib's zlib compression
        try:
            return zlib.decompress(data)
        except zlib.error:
            return data
    return data


def _sklearn_version(data: bytes) -> str | None:
    match = _SKLEARN_VERSION.search(data)
    if match is None:
        return None
    size = (match.group(1) or match.group(2))[0]
    value = data[match.end() : match.end() + size]
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if re.fullmatch(r"\d+\.\d+(\.\d+)?[\w.+-]*", text) else None


def _xgboost_version(data: bytes) -> str | None:
    match = _XGBOOST_JSON_VERSION.search(data[:4096] if data[:1] == b"{" else data)
    if match:
        return ".".join(part.decode() for part in match.groups())
    return _ubjson_version(data)


def _ubjson_version(data: bytes) -> str | None:
    """A booster saved as UBJSON: `version` then a typed array of three integers."""
    at = data.find(b"version")
    if at < 0:
        return None
    tail = data[at + len(b"version") : at + len(b"version") + 24]
    numbers = re.findall(rb"[iU](.)", tail)
    if len(numbers) >= 3:
        return ".".join(str(n[0]) for n in numbers[:3])
    return None
