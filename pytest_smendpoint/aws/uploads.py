"""What a session uploads to S3 (a local model folder packed as model.tar.gz, a source folder as
sourcedir.tar.gz) and how it goes away again: deleted at teardown by exact URI, or found by the
sweep under the plugin's own prefix when a killed run could not.

Every upload lands under `s3://sagemaker-{region}-{account}/pytest-smendpoint/{session}/`, the
SDK's default bucket; nothing outside that prefix is ever deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pytest_smendpoint.aws.resources import error_reason

UPLOAD_PREFIX = "pytest-smendpoint"


def session_key_prefix(session_id: str) -> str:
    """Where one session's uploads go inside the default bucket."""
    return f"{UPLOAD_PREFIX}/{session_id}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def is_session_upload(uri: str, session_id: str) -> bool:
    """An s3:// URI this session's uploads could have produced (a user's own URI never is)."""
    bucket, key = split_s3_uri(uri)
    return (
        uri.startswith("s3://sagemaker-")
        and bucket.startswith("sagemaker-")
        and key.startswith(session_key_prefix(session_id) + "/")
    )


def delete_uploads(s3: Any, uris: Iterable[str]) -> list[str]:
    """Delete these objects; return a line per failure (an object already gone is no failure:
    S3's DeleteObject succeeds for a missing key)."""
    failures = []
    for uri in dict.fromkeys(uris):  # once each, in order
        bucket, key = split_s3_uri(uri)
        try:
            s3.delete_object(Bucket=bucket, Key=key)
        except ClientError as error:
            failures.append(f"DeleteObject {uri}: {error_reason(error)}")
        except BotoCoreError as error:
            failures.append(f"DeleteObject {uri}: {type(error).__name__}: {error}")
    return failures


def delete_under(s3: Any, prefix: str) -> list[str]:
    """Delete every object under an s3:// prefix the session owns; a line per failure."""
    bucket, key = split_s3_uri(prefix)
    failures: list[str] = []
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
        for page in pages:
            batch = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if not batch:
                continue
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch})
            failures += [
                f"DeleteObjects s3://{bucket}/{e['Key']}: {e.get('Code')}: {e.get('Message')}"
                for e in answer.get("Errors", [])
            ]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchBucket":
            failures.append(f"delete {prefix}: {error_reason(error)}")
    except BotoCoreError as error:
        failures.append(f"delete {prefix}: {type(error).__name__}: {error}")
    return failures


def removal_commands(uris: Iterable[str]) -> list[str]:
    return [f"aws s3 rm {uri}" for uri in dict.fromkeys(uris)]


@dataclass(frozen=True)
class OldUpload:
    """An object under the plugin's prefix, old enough to sweep."""

    uri: str
    last_modified: datetime

    def describe(self, now: datetime) -> str:
        hours = (now - self.last_modified).total_seconds() / 3600
        return f"upload {self.uri} ({hours:.1f} h old)"


def find_old_uploads(
    s3: Any, sts: Any, region: str, older_than_seconds: int, now: datetime
) -> list[OldUpload]:
    """Objects under `pytest-smendpoint/` in the default bucket older than the age; none when
    the bucket does not exist. Other errors (AccessDenied) are raised for the caller to show."""
    account = sts.get_caller_identity()["Account"]
    bucket = f"sagemaker-{region}-{account}"
    found: list[OldUpload] = []
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=UPLOAD_PREFIX + "/"
        )
        for page in pages:
            for item in page.get("Contents", []):
                modified = item["LastModified"]
                if (now - modified).total_seconds() >= older_than_seconds:
                    found.append(OldUpload(f"s3://{bucket}/{item['Key']}", modified))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchBucket", "404"):
            return []
        raise
    return found
