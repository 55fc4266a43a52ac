"""pytest-xdist: one endpoint for the whole run, shared by every worker, deleted once by the
controller; a worker killed mid-deploy leaves nothing; the shared server serves the model."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.aws_path import MotoServer
from helpers.container_setup import SKLEARN_ENV, SKLEARN_ENV_ARGS, SKLEARN_IMAGE

# Counts SageMaker calls in every process of the run (controller and workers): moto-style, a
# handler in botocore's BUILTIN_HANDLERS reaches every client made after this conftest loads.
pytestmark = pytest.mark.slow  # pytest -n subprocess runs
COUNTING_CONFTEST = """
import os
from botocore.handlers import BUILTIN_HANDLERS

def _count(operation):
    def handler(**kwargs):
        with open(os.environ["SM_CALLS_FILE"], "a") as out:
            out.write(operation + "\\n")
    return handler

for _operation in ("CreateEndpoint", "DeleteEndpoint"):
    BUILTIN_HANDLERS.append((f"before-call.sagemaker.{_operation}", _count(_operation)))
"""

# A worker dies right after its CreateEndpoint succeeded: the endpoint exists, nobody recorded it.
KILLING_CONFTEST = """
import os
from botocore.handlers import BUILTIN_HANDLERS

def _die_once(**kwargs):
    marker = os.environ["SM_KILL_MARKER"]
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)

BUILTIN_HANDLERS.append(("after-call.sagemaker.CreateEndpoint", _die_once))
"""

PREDICTION_TESTS = """
import os
import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

@pytest.mark.parametrize("n", range({count}))
def test_real_predictions(sm_invoke, sm_endpoint, n):
    features, _ = load_iris(return_X_y=True)
    model = joblib.load(os.environ["SM_MODEL_FILE"])
    got = sm_invoke(pd.DataFrame(features))
    assert np.asarray(got, dtype=float).tolist() == model.predict(features).astype(float).tolist()
    with open(os.environ["SM_NAMES_FILE"], "a") as out:
        out.write(os.environ["PYTEST_XDIST_WORKER"] + " " + sm_endpoint.name + "\\n")
"""

ENDPOINT_TESTS = """
import os
import pytest

@pytest.mark.parametrize("n", range(4))
def test_endpoint(sm_endpoint, n):
    with open(os.environ["SM_NAMES_FILE"], "a") as out:
        out.write(os.environ["PYTEST_XDIST_WORKER"] + " " + sm_endpoint.name + "\\n")
"""


@pytest.fixture
def project(
    pytester: pytest.Pytester, sklearn_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], list[str]]:
    monkeypatch.setenv("SM_MODEL_FILE", str(sklearn_model_dir / "model.joblib"))
    monkeypatch.setenv("SM_CALLS_FILE", str(pytester.path / "calls.txt"))
    monkeypatch.setenv("SM_NAMES_FILE", str(pytester.path / "names.txt"))
    monkeypatch.setenv("SM_KILL_MARKER", str(pytester.path / "killed"))

    def lines(name: str) -> list[str]:
        path = pytester.path / name
        return path.read_text().splitlines() if path.exists() else []

    return lines


def test_four_workers_share_one_endpoint_created_and_deleted_once(
    pytester: pytest.Pytester, sklearn_model_dir: Path, project: Callable[[str], list[str]]
) -> None:
    pytester.makeconftest(COUNTING_CONFTEST)
    pytester.makepyfile(test_shared=PREDICTION_TESTS.format(count=8))
    result = pytester.runpytest_subprocess(
        "-n", "4", "-p", "no:cacheprovider",
        f"--sm-model-data={sklearn_model_dir}",
        f"--sm-image-uri={SKLEARN_IMAGE}", *SKLEARN_ENV_ARGS,
    )  # fmt: skip
    result.assert_outcomes(passed=8)
    names = project("names.txt")
    assert len(names) == 8
    assert len({line.split()[1] for line in names}) == 1  # one endpoint for every test
    assert len({line.split()[0] for line in names}) >= 2  # used from several workers
    assert sorted(project("calls.txt")) == ["CreateEndpoint", "DeleteEndpoint"]
    result.stdout.fnmatch_lines(
        [
            "*pytest-sm-* (moto, us-east-1): deployed in *teardown deleted",
            # The worker asked the controller's server what served its endpoint.
            "  served by: image sagemaker-scikit-learn:1.9-0: Python *, scikit-learn *",
        ]
    )


def test_worker_killed_mid_deploy_leaves_nothing_and_another_takes_over(
    pytester: pytest.Pytester,
    sklearn_model_dir: Path,
    project: Callable[[str], list[str]],
    moto_server: MotoServer,
) -> None:
    pytester.makeconftest(COUNTING_CONFTEST + KILLING_CONFTEST)
    pytester.makepyfile(test_shared=ENDPOINT_TESTS)
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "no:cacheprovider", "--sm-backend=aws",
        "--sm-role=arn:aws:iam::123456789012:role/ci",
        f"--sm-model-data={sklearn_model_dir}",
        f"--sm-image-uri={SKLEARN_IMAGE}", *SKLEARN_ENV_ARGS,
    )  # fmt: skip
    result.assert_outcomes(passed=3, failed=1)  # the test that was running when gw0 died
    result.stdout.fnmatch_lines(["*worker*crashed*"])
    assert len({line.split()[1] for line in project("names.txt")}) == 1
    # The dead worker's endpoint was removed by the worker that took over, which deployed again
    # under the same names; the controller deleted that one once every worker was done.
    assert project("calls.txt").count("CreateEndpoint") == 2
    assert moto_server.inventory().empty, moto_server.inventory()
    # The model folder was packed and uploaded once for the run; the controller deleted it,
    # though the worker that uploaded it died before its session end.
    bucket = moto_server.client("s3").list_objects_v2(Bucket="sagemaker-us-east-1-123456789012")
    assert bucket["KeyCount"] == 0, bucket.get("Contents")


def test_shared_server_serves_invocations_without_motos_parser(
    sklearn_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    import numpy as np
    from botocore.exceptions import ClientError
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    from pytest_smendpoint.aws.backends.moto.server import SharedMotoServer

    def never(self: object) -> None:
        raise AssertionError("moto's sagemaker-runtime handler saw the request")

    monkeypatch.setattr(SageMakerRuntimeResponse, "invoke_endpoint", never)
    server = SharedMotoServer("us-east-1", "123456789012")
    url = server.start()
    try:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        s3 = session.client("s3", endpoint_url=url)
        sagemaker = session.client("sagemaker", endpoint_url=url)
        runtime = session.client("sagemaker-runtime", endpoint_url=url)
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w:gz") as tar:
            tar.add(sklearn_model_dir / "model.joblib", arcname="model.joblib")
            tar.add(sklearn_model_dir / "code", arcname="code")
        s3.create_bucket(Bucket="models")
        s3.put_object(Bucket="models", Key="m.tar.gz", Body=archive.getvalue())
        sagemaker.create_model(
            ModelName="m",
            PrimaryContainer={
                "Image": SKLEARN_IMAGE,
                "ModelDataUrl": "s3://models/m.tar.gz",
                "Environment": SKLEARN_ENV,
            },
            ExecutionRoleArn="arn:aws:iam::123456789012:role/ci",
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="c",
            ProductionVariants=[
                {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1,
                 "InstanceType": "ml.m5.large"}
            ],
        )  # fmt: skip
        sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="c")
        row = "5.1,3.5,1.4,0.2\n"
        body = (row * (5_000_000 // len(row))).encode()
        started = time.perf_counter()
        answer = runtime.invoke_endpoint(
            EndpointName="e", Body=body, ContentType="text/csv", Accept="text/csv"
        )
        elapsed = time.perf_counter() - started
        predictions = np.loadtxt(io.StringIO(answer["Body"].read().decode()))
        assert len(predictions) == 5_000_000 // len(row) and set(predictions) == {0.0}
        assert answer["InvokedProductionVariant"] == "AllTraffic"
        assert elapsed < 2.0  # through moto's parser alone a 5 MB body costs about 0.45 s
        with pytest.raises(ClientError, match="Endpoint nope of account 123456789012 not found"):
            runtime.invoke_endpoint(EndpointName="nope", Body=b"1,2,3,4", ContentType="text/csv")
        sagemaker.delete_endpoint(EndpointName="e")
        with pytest.raises(ClientError, match="Endpoint e of account 123456789012 not found"):
            runtime.invoke_endpoint(EndpointName="e", Body=row.encode(), ContentType="text/csv")
    finally:
        server.stop()
