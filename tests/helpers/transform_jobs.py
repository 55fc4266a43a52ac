"""Transform jobs in a mocked account with plain boto3 calls: a real scikit-learn model, the job
created as a user would, its end awaited on the adapter's own event, its .out objects and data
log read back; and the iris rows they score."""

from __future__ import annotations

import io
import itertools
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.datasets import load_iris

from helpers.container_setup import SKLEARN_ENV, SKLEARN_IMAGE

BUCKET = "transform-bucket"
ROLE = "arn:aws:iam::123456789012:role/sagemaker"
# The longest a job of these tests may take (a first model load installs nothing: the image
# runtime is cached by then, or the test environment's packages serve).
JOB_DEADLINE = 240.0
names = itertools.count()


@dataclass
class Account:
    """The mocked account, its clients, and the adapter's transform jobs."""

    backend: Any

    def __post_init__(self) -> None:
        self.sagemaker = self.backend.client("sagemaker")
        self.s3 = self.backend.client("s3")
        self.logs = self.backend.client("logs")
        self.region = self.sagemaker.meta.region_name

    def model(
        self, folder: Path, environment: dict[str, str] | None = None, image: str = SKLEARN_IMAGE
    ) -> str:
        """model.tar.gz of `folder` in S3 and a SageMaker model serving it."""
        name = f"model-{next(names)}"
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for path in sorted(folder.rglob("*")):
                tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
        self.s3.put_object(Bucket=BUCKET, Key=f"{name}/model.tar.gz", Body=buffer.getvalue())
        self.sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={
                "Image": image,
                "ModelDataUrl": f"s3://{BUCKET}/{name}/model.tar.gz",
                "Environment": SKLEARN_ENV if environment is None else environment,
            },
        )
        return name

    def transform(self, model: str, prefix: str, output: str = "out", **options: Any) -> str:
        """CreateTransformJob over s3://BUCKET/{prefix} (CSV, SplitType Line, AssembleWith Line
        unless `options` say otherwise); returns the job's name."""
        name = f"job-{next(names)}"
        transform_input = {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}"}
            },
            "ContentType": "text/csv",
            "SplitType": "Line",
            **options.pop("TransformInput", {}),
        }
        transform_output = {
            "S3OutputPath": f"s3://{BUCKET}/{output}",
            "AssembleWith": "Line",
            "Accept": "application/json",
            **options.pop("TransformOutput", {}),
        }
        self.sagemaker.create_transform_job(
            TransformJobName=name,
            ModelName=model,
            TransformInput=transform_input,
            TransformOutput=transform_output,
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
            **options,
        )
        return name

    def wait(self, job: str) -> dict[str, Any]:
        """The job's description once it has ended (the adapter's own event, no polling)."""
        ended = self.backend.serving.transforms.wait(self.region, job, JOB_DEADLINE)
        assert ended, f"transform job {job} did not end within {JOB_DEADLINE:g} s"
        return dict(self.sagemaker.describe_transform_job(TransformJobName=job))

    def read(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    def keys(self, prefix: str) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return [item["Key"] for item in listed.get("Contents", [])]

    def data_log(self, job: str) -> list[str]:
        group = "/aws/sagemaker/TransformJobs"
        streams = self.logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=job)
        lines = []
        for stream in streams["logStreams"]:
            events = self.logs.get_log_events(
                logGroupName=group, logStreamName=stream["logStreamName"]
            )
            lines += [event["message"] for event in events["events"]]
        return lines


ROWS = load_iris(return_X_y=True)[0]


def csv_of(rows: Any) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()


def expected(model_folder: Path, rows: Any) -> list[int]:
    """What the scikit-learn container computes: predict on the rows decoded as float32."""
    model = joblib.load(model_folder / "model.joblib")
    return [int(v) for v in model.predict(np.asarray(rows).astype(np.float32))]


def answers(body: bytes) -> list[list[Any]]:
    """One JSON answer per line (AssembleWith=Line, Accept application/json)."""
    return [json.loads(line) for line in body.decode().splitlines()]
