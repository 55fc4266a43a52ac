"""Local model artifacts to S3: pack a folder as model.tar.gz and upload it where the SDK would."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from pytest_smendpoint.errors import AwsCallError
from pytest_smendpoint.tempdirs import PACK_PREFIX, scratch_folder


def default_bucket(s3: Any, sts: Any, region: str) -> str:
    """`sagemaker-{region}-{account}`, created when missing, as Session.default_bucket() does."""
    account = sts.get_caller_identity()["Account"]
    bucket = f"sagemaker-{region}-{account}"
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise AwsCallError("HeadBucket", f"bucket {bucket}", str(error)) from error
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**kwargs)
        except ClientError as create_error:
            raise AwsCallError("CreateBucket", f"bucket {bucket}", str(create_error)) from None
    return bucket


def pack_folder(folder: Path, into: Path) -> Path:
    """Tar-gzip a folder's contents at the archive root, as SageMaker expects model.tar.gz."""
    archive = into / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for child in sorted(folder.iterdir()):
            tar.add(child, arcname=child.name)
    return archive


def upload_model_data(local: Path, *, s3: Any, sts: Any, region: str, key_prefix: str) -> str:
    """Upload a local .tar.gz, or a folder packed as one, and return its s3:// URI."""
    bucket = default_bucket(s3, sts, region)
    key = f"{key_prefix}/model.tar.gz"
    # Named for this process: a later run removes it if this one is killed (tempdirs.py).
    with scratch_folder(PACK_PREFIX) as scratch:
        archive = pack_folder(local, scratch) if local.is_dir() else local
        try:
            s3.upload_file(str(archive), bucket, key)
        except Exception as error:  # boto3's transfer wraps ClientError in S3UploadFailedError
            raise AwsCallError("PutObject", f"s3://{bucket}/{key}", str(error)) from error
    return f"s3://{bucket}/{key}"
