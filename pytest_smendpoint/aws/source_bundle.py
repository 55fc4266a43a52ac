"""Inference code to S3: pack a source folder as sourcedir.tar.gz and upload it where the SDK would,
for a framework container to fetch through SAGEMAKER_SUBMIT_DIRECTORY."""

from __future__ import annotations

import fnmatch
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_smendpoint.aws.artifacts import default_bucket
from pytest_smendpoint.errors import AwsCallError
from pytest_smendpoint.tempdirs import SOURCE_PREFIX, scratch_folder

# SDK v3's SourceCode.ignore_patterns default: what its uploads leave out.
DEFAULT_IGNORE = (".env", ".git", "__pycache__", ".DS_Store", ".cache", ".ipynb_checkpoints")
SOURCE_ARCHIVE = "sourcedir.tar.gz"


def pack_source(folder: Path, into: Path, ignore: Sequence[str] = DEFAULT_IGNORE) -> Path:
    """The folder's contents at the archive root, as the SDK's `tar_and_upload_dir` packs them
    (the container runs SAGEMAKER_PROGRAM from the unpacked root); ignored names at any depth."""

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        parts = Path(info.name).parts
        if any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in ignore):
            return None
        return info

    archive = into / SOURCE_ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        for child in sorted(folder.iterdir()):
            tar.add(child, arcname=child.name, filter=keep)
    return archive


def upload_source(
    local: Path,
    *,
    s3: Any,
    sts: Any,
    region: str,
    key_prefix: str,
    ignore: Sequence[str] = DEFAULT_IGNORE,
) -> str:
    """Upload a source folder (packed) or a local .tar.gz as `{key_prefix}/sourcedir.tar.gz` in
    the default bucket; returns its s3:// URI, the SAGEMAKER_SUBMIT_DIRECTORY value."""
    bucket = default_bucket(s3, sts, region)
    key = f"{key_prefix}/{SOURCE_ARCHIVE}"
    # Named for this process: a later run removes it if this one is killed (tempdirs.py).
    with scratch_folder(SOURCE_PREFIX) as scratch:
        archive = pack_source(local, scratch, ignore) if local.is_dir() else local
        try:
            s3.upload_file(str(archive), bucket, key)
        except Exception as error:  # boto3's transfer wraps ClientError in S3UploadFailedError
            raise AwsCallError("PutObject", f"s3://{bucket}/{key}", str(error)) from error
    return f"s3://{bucket}/{key}"
