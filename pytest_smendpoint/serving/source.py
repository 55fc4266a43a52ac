"""Unpack an endpoint's model data from the mocked S3 into the model's directory, as SageMaker
does before the container starts."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

from pytest_smendpoint.serving.errors import ModelLoadError


def split_s3_uri(uri: str) -> tuple[str, str]:
    """s3://bucket/key -> (bucket, key)."""
    if not uri.startswith("s3://"):
        raise ModelLoadError(f"{uri} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def unpack_s3_tarball(s3: Any, uri: str, into: Path) -> None:
    """Download a .tar.gz from the mocked S3 and extract it into `into`, as SageMaker does."""
    bucket, key = split_s3_uri(uri)
    try:
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as error:  # botocore's ClientError or a missing bucket alike
        raise ModelLoadError(f"could not download {uri}: {error}") from None
    into.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            if hasattr(tarfile, "data_filter"):  # refuses absolute paths and '..' members
                archive.extractall(into, filter="data")
            else:  # pragma: no cover - Python without the PEP 706 backport
                archive.extractall(into)  # noqa: S202
    except (tarfile.TarError, OSError) as error:
        raise ModelLoadError(f"{uri} is not a readable tar.gz: {error}") from None


def download_s3_prefix(s3: Any, uri: str, into: Path) -> None:
    """Copy every object under an S3 prefix into `into` (uncompressed model data)."""
    bucket, prefix = split_s3_uri(uri)
    into.mkdir(parents=True, exist_ok=True)
    found = False
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :].lstrip("/")
            if not relative or relative.endswith("/"):
                continue
            target = (into / relative).resolve()
            if into.resolve() not in target.parents:
                raise ModelLoadError(f"S3 key {item['Key']} escapes the model directory")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            found = True
    if not found:
        raise ModelLoadError(f"no objects under {uri}")
