"""Where a framework container finds its entry script: SAGEMAKER_SUBMIT_DIRECTORY, resolved as
sagemaker-containers' `_files.download_and_extract` does, into the container's /opt/ml/code."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from pytest_smendpoint.serving.profiles.base import (
    CONTAINER_CODE_DIR,
    CONTAINER_MODEL_DIR,
    StartupFailure,
)
from pytest_smendpoint.serving.source import unpack_s3_tarball


def submit_directory(submit: str | None, model_dir: Path, code_dir: Path, s3: Any) -> None:
    """Fill `code_dir` (the container's /opt/ml/code) from SAGEMAKER_SUBMIT_DIRECTORY.

    An s3:// tar.gz is downloaded and unpacked; a folder of the container (/opt/ml/model/...)
    is copied; unset or /opt/ml/code leaves the folder empty: the image ships no code there,
    so an entry script inside model.tar.gz is not found."""
    code_dir.mkdir(parents=True, exist_ok=True)
    if not submit or submit.rstrip("/") == CONTAINER_CODE_DIR:
        return
    if submit.startswith("s3://"):
        unpack_s3_tarball(s3, submit, code_dir)
        return
    if submit == CONTAINER_MODEL_DIR or submit.startswith(CONTAINER_MODEL_DIR + "/"):
        source = model_dir / submit[len(CONTAINER_MODEL_DIR) :].lstrip("/")
        if source.is_dir():
            shutil.copytree(source, code_dir, dirs_exist_ok=True)
            return
        shown = submit if source != model_dir else CONTAINER_MODEL_DIR
        raise StartupFailure(
            f"SAGEMAKER_SUBMIT_DIRECTORY={submit}: {shown} does not exist in the container "
            "(model.tar.gz has no such folder). Put the entry script in code/ inside "
            "model.tar.gz and set SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code, or point it "
            "at an s3://.../sourcedir.tar.gz"
        )
    raise StartupFailure(
        f"SAGEMAKER_SUBMIT_DIRECTORY={submit} is neither an s3:// URI nor a folder of the "
        "container (/opt/ml/model/..., /opt/ml/code): the container cannot read it. Use "
        "/opt/ml/model/code for code/ inside model.tar.gz, or an s3://.../sourcedir.tar.gz"
    )
