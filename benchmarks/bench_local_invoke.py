"""What a local InvokeEndpoint costs on top of the model itself, in one process.

Small: one CSV row through boto3 `invoke_endpoint` (moto + local serving) against
`model.predict(row)` in-process. Large: a ~5 MB CSV through boto3 against the same
decode + predict + encode done in-process. Medians of many calls; once with the model served by
the test environment's packages, once by the image's runtime (its own Python and packages).

    python benchmarks/bench_local_invoke.py
"""

from __future__ import annotations

import io
import os
import statistics
import tarfile
import time
from collections.abc import Callable

import boto3
import joblib
import moto
import numpy as np
from sklearn.linear_model import LogisticRegression

from pytest_smendpoint.aws.backends.moto.routing import MOTO_CONFIG
from pytest_smendpoint.aws.backends.moto.serving import MotoServing as LocalServing
from pytest_smendpoint.serving.profiles import containers_codecs, scikit_learn
from pytest_smendpoint.serving.runtimes.selection import RuntimePolicy

REGION = "us-east-1"
ACCOUNT = "123456789012"
FEATURES = 30


def median_seconds(call: Callable[[], object], repeat: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
# The scikit-learn container finds code/inference.py inside model.tar.gz only this way.
ENVIRONMENT = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
}
ENTRY_SCRIPT = b"""\
import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""


def model_tarball(model: LogisticRegression) -> bytes:
    held = io.BytesIO()
    joblib.dump(model, held)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("model.joblib", held.getvalue()), ("code/inference.py", ENTRY_SCRIPT)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def csv_body(rows: np.ndarray) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()


def main() -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    rng = np.random.default_rng(0)
    train = rng.normal(size=(500, FEATURES))
    model = LogisticRegression(max_iter=500).fit(train, (train[:, 0] > 0).astype(int))
    with moto.mock_aws(config=MOTO_CONFIG):
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="model.tar.gz", Body=model_tarball(model))
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        sagemaker.create_model(
            ModelName="bench",
            ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
            PrimaryContainer={
                "Image": IMAGE,
                "ModelDataUrl": "s3://bench/model.tar.gz",
                "Environment": ENVIRONMENT,
            },
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="bench",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "bench",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName="bench", EndpointConfigName="bench")
        for packages in ("test-env", "image"):
            print(f"--- the model served with --sm-image-packages={packages}")
            measure(model, train, rng, RuntimePolicy(packages))


def measure(
    model: LogisticRegression, train: np.ndarray, rng: np.random.Generator, policy: RuntimePolicy
) -> None:
    """The small-call and 5 MB figures for one serving runtime (a fresh model process each)."""
    serving = LocalServing(region=REGION, account_id=ACCOUNT, runtime_policy=policy)
    serving.install()
    try:
        serving.endpoint_created("bench")
        runtime = boto3.client("sagemaker-runtime", region_name=REGION)

        def local(body: bytes) -> bytes:
            return runtime.invoke_endpoint(
                EndpointName="bench", Body=body, ContentType="text/csv", Accept="text/csv"
            )["Body"].read()

        # Two rows: the container decodes one CSV row to a 1-D array, which predict refuses.
        row = train[:2]
        small = csv_body(row)
        expected = model.predict(row.astype("float32")).tolist()  # the container's float32
        assert [float(v) for v in local(small).decode().split()] == expected
        in_process = median_seconds(lambda: model.predict(row), 2000)
        through_boto3 = median_seconds(lambda: local(small), 2000)
        print(f"small CSV body, 2 rows ({len(small)} B), median of 2000 calls:")
        print(f"  in-process model.predict        {in_process * 1e3:8.3f} ms")
        print(f"  boto3 invoke_endpoint (local)   {through_boto3 * 1e3:8.3f} ms")
        print(
            f"  overhead                        {(through_boto3 - in_process) * 1e3:8.3f} ms"
            f"  (ratio {through_boto3 / in_process:.1f}x)"
        )

        rows = rng.normal(size=(int(5_000_000 / len(csv_body(train[:1]))) + 1, FEATURES))
        big = csv_body(rows)

        def decode_predict_encode() -> bytes:
            rows = scikit_learn.default_input_fn(big.decode("utf-8"), containers_codecs.CSV)
            return containers_codecs.encode(model.predict(rows), containers_codecs.CSV).encode()

        assert local(big) == decode_predict_encode()
        in_process_big = median_seconds(decode_predict_encode, 15, warmup=2)
        through_boto3_big = median_seconds(lambda: local(big), 15, warmup=2)
        print(f"5 MB CSV ({len(big) / 1e6:.2f} MB, {len(rows)} rows), median of 15 calls:")
        print(f"  in-process decode+predict+encode {in_process_big * 1e3:8.1f} ms")
        print(f"  boto3 invoke_endpoint (local)    {through_boto3_big * 1e3:8.1f} ms")
        print(
            f"  overhead                         "
            f"{(through_boto3_big - in_process_big) * 1e3:8.1f} ms"
            f"  (ratio {through_boto3_big / in_process_big:.2f}x)"
        )
    finally:
        serving.close()


if __name__ == "__main__":
    main()
