"""A realistic scikit-learn model for the SDK v3 object tests: model data, entry script, source
folder, with the image URI and role the tests' SDK objects name."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
ROLE = "arn:aws:iam::123456789012:role/my-sagemaker-role"
# The model is saved as model.bin, which the container's default model_fn does not look for:
# predictions prove that this script, from wherever the environment points, was run.
ENTRY_SCRIPT = """\
import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.bin"))
"""


def iris_archive(folder: Path, sklearn_model_dir: Path, *, with_code: bool) -> Path:
    """model.tar.gz holding model.bin, and code/inference.py when `with_code`."""
    staging = folder / "staging"
    staging.mkdir(parents=True)
    shutil.copy(sklearn_model_dir / "model.joblib", staging / "model.bin")
    if with_code:
        (staging / "code").mkdir()
        (staging / "code" / "inference.py").write_text(ENTRY_SCRIPT)
    archive = folder / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for child in sorted(staging.iterdir()):
            tar.add(child, arcname=child.name)
    return archive


def source_folder(folder: Path) -> Path:
    """A source_dir as users keep one: the entry script, plus a cache the upload leaves out."""
    folder.mkdir(parents=True)
    (folder / "inference.py").write_text(ENTRY_SCRIPT)
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "inference.cpython-311.pyc").write_bytes(b"\0")
    return folder
