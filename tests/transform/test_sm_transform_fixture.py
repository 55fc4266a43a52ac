"""sm_transform as users run it (pytester, the moto default): the model's real predictions
through a Batch Transform job, aligned as sm_invoke aligns them, no endpoint deployed, and
nothing left behind: no model, no job running, no transform data in S3."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from helpers.container_setup import SKLEARN_ENV_ARGS

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"

HELPERS = """
import boto3, joblib, numpy as np, pandas as pd
from sklearn.datasets import load_iris

def holdout():
    features, labels = load_iris(return_X_y=True, as_frame=True)
    frame = features.assign(label=labels)
    frame.index = frame.index + 500  # not a RangeIndex from 0: alignment must follow it
    return frame

def expected(frame, model_dir):
    model = joblib.load(model_dir + "/model.joblib")
    return model.predict(frame.drop(columns="label").to_numpy(dtype="float32"))

def transform_objects():
    s3 = boto3.client("s3")
    keys = []
    for bucket in s3.list_buckets()["Buckets"]:
        listed = s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
        keys += [item["Key"] for item in listed if "-transform-" in item["Key"]]
    return keys
"""


def run(pytester: pytest.Pytester, model_dir: Path, test_code: str, *args: str) -> Any:
    pytester.makepyfile(helpers_transform=HELPERS)
    pytester.makepyfile(test_code.replace("MODEL_DIR", repr(str(model_dir))))
    return pytester.runpytest(
        f"--sm-model-data={model_dir}", f"--sm-image-uri={IMAGE}", *SKLEARN_ENV_ARGS, *args
    )


def test_a_frame_is_transformed_for_real_aligned_and_nothing_is_left(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path
) -> None:
    result = run(
        pytester,
        sklearn_model_dir,
        """
        import boto3
        from helpers_transform import expected, holdout, transform_objects

        def test_predictions(sm_transform):
            frame = holdout()
            predictions = sm_transform(frame, instance_count=2, max_payload_mb=1)
            assert list(predictions.index) == list(frame.index)
            assert (predictions.to_numpy() == expected(frame, MODEL_DIR)).all()
            assert boto3.client("sagemaker").list_endpoints()["Endpoints"] == []
            jobs = boto3.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]
            assert [job["TransformJobStatus"] for job in jobs] == ["Completed"]
            assert transform_objects() == []  # the call's input and output are gone
        """,
        "--sm-report=report.json",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "smendpoint: transform job pytest-sm-*-transform-1 InProgress after 0 s "
            "(ml.m5.large x 2; * of 2 objects answered)",
            "smendpoint: transform job pytest-sm-*-transform-1 Completed after * s "
            "(ml.m5.large x 2; 2 of 2 objects answered)",
            "*pytest-sm-*-transform-1 (sm_transform, ml.m5.large x 2): Completed, 150 rows in "
            "2 objects, * s (* s in the job), * rows/s",
            "  input: a DataFrame of 150 rows",
        ]
    )
    assert audit().empty  # the jobs' model was deleted at the session's end
    [job] = json.loads((pytester.path / "report.json").read_text())["transforms"]
    assert (job["status"], job["rows"], job["objects"], job["failure"]) == (
        "Completed",
        150,
        2,
        None,
    )


def test_parquet_and_csv_files_in_a_range_index(
    pytester: pytest.Pytester, sklearn_model_dir: Path
) -> None:
    result = run(
        pytester,
        sklearn_model_dir,
        """
        from helpers_transform import expected, holdout

        def test_files(sm_transform, tmp_path):
            frame = holdout()
            frame.iloc[:100].to_parquet(tmp_path / "a.parquet")
            frame.iloc[100:].to_csv(tmp_path / "b.csv", index=False)
            predictions = sm_transform([tmp_path / "a.parquet", tmp_path / "b.csv"])
            assert list(predictions.index) == list(range(150))
            assert (predictions.to_numpy() == expected(frame, MODEL_DIR)).all()
        """,
    )
    result.assert_outcomes(passed=1)


def test_a_frame_sm_invoke_refuses_is_refused_before_any_job(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path
) -> None:
    result = run(
        pytester,
        sklearn_model_dir,
        """
        import boto3, numpy as np, pytest
        from pytest_smendpoint import FrameError
        from helpers_transform import holdout, transform_objects

        def test_nan(sm_transform):
            frame = holdout()
            frame.loc[503, "petal width (cm)"] = np.nan
            with pytest.raises(FrameError) as refused:
                sm_transform(frame)
            assert str(refused.value) == (  # sm_invoke's own words (tests/invoke)
                "NaN or missing values in columns 'petal width (cm)' (first at row 503): drop "
                "or fill them, or pass allow_nan=True to send them as empty fields"
            )
            assert boto3.client("sagemaker").list_transform_jobs()["TransformJobSummaries"] == []
            assert transform_objects() == []
        """,
    )
    result.assert_outcomes(passed=1)
    assert audit().empty


def test_a_record_over_max_payload_fails_the_job_naming_the_row(
    pytester: pytest.Pytester, audit: Any, sklearn_model_dir: Path
) -> None:
    result = run(
        pytester,
        sklearn_model_dir,
        """
        import boto3, pytest
        from pytest_smendpoint import TransformJobError
        from helpers_transform import holdout, transform_objects

        def test_too_long(sm_transform):
            frame = holdout().head(3)
            frame.insert(4, "note", ["x" * 2_000_000, "short", "short"])
            with pytest.raises(TransformJobError) as failed:
                sm_transform(frame, allow_strings=True, max_payload_mb=1)
            message = str(failed.value)
            assert message.startswith("transform job 'pytest-sm-")
            assert "ended Failed: ClientError: See job logs for more information" in message
            assert "row 500 is 2,000,0" in message
            assert "more than MaxPayloadInMB=1 (1,048,576 bytes) allows" in message
            assert transform_objects() == []
        """,
    )
    result.assert_outcomes(passed=1)
    assert audit().empty


def test_bad_keywords_are_refused_with_the_options_message(
    pytester: pytest.Pytester, sklearn_model_dir: Path
) -> None:
    result = run(
        pytester,
        sklearn_model_dir,
        """
        import pytest
        from pytest_smendpoint import InvokeArgumentError

        def test_keywords(sm_transform):
            with pytest.raises(InvokeArgumentError) as bad:
                sm_transform(None, max_payload_mb=101)
            assert str(bad.value) == (
                "max_payload_mb=101 (sm_transform()): must be an integer from 0 to "
                "100 (SageMaker's MaxPayloadInMB)"
            )
            with pytest.raises(InvokeArgumentError) as zero:
                sm_transform(None, instance_count=0)
            assert str(zero.value) == (
                "instance_count=0 (sm_transform()): must be a positive integer"
            )
            with pytest.raises(InvokeArgumentError) as product:
                sm_transform(None, max_payload_mb=30)  # 4 at once: the command line's
            assert str(product.value) == (
                "sm_transform(): max_payload_mb=30 times max_concurrent=4 is more than 100 "
                "(SageMaker's limit on MaxPayloadInMB x MaxConcurrentTransforms)"
            )
            with pytest.raises(TypeError) as unknown:
                sm_transform(None, instance_typ="ml.m5.large")
            assert str(unknown.value).startswith(
                "sm_transform() got unknown keyword instance_typ; known: instance_type, "
            )
        """,
        "--sm-transform-max-concurrent=4",
    )
    result.assert_outcomes(passed=1)


SLOW_SCRIPT = """
import os, time
import joblib

def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))

def predict_fn(data, model):
    time.sleep(60)  # sleep-ok: a model slower than the job's wait
    return model.predict(data)
"""


@pytest.mark.slow  # a real wait of about 2 s
def test_a_job_past_its_timeout_is_stopped_and_leaves_nothing(
    pytester: pytest.Pytester, audit: Any, tmp_path: Path
) -> None:
    from helpers.models import build_sklearn_model

    model_dir = build_sklearn_model(tmp_path / "slow", inference_script=SLOW_SCRIPT)
    result = run(
        pytester,
        model_dir,
        """
        import boto3, pytest
        from pytest_smendpoint import TransformJobError
        from helpers_transform import holdout, transform_objects

        def test_slow(sm_transform):
            with pytest.raises(TransformJobError) as failed:
                sm_transform(holdout())
            assert str(failed.value).startswith("transform job 'pytest-sm-")
            assert "ended InProgress: still InProgress after " in str(failed.value)
            assert "(--sm-transform-timeout=2)" in str(failed.value)
            [job] = boto3.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]
            assert job["TransformJobStatus"] in ("Stopping", "Stopped")
            assert transform_objects() == []
        """,
        "--sm-transform-timeout=2",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*-transform-1 (sm_transform, ml.m5.large x 1): Stop*"])
    assert audit().empty


@pytest.mark.slow  # a moto server in this process, and a pytester run against it
def test_the_aws_code_path_runs_the_same_job_and_deletes_what_it_wrote(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, sklearn_model_dir: Path
) -> None:
    """--sm-backend=aws against a server that runs jobs for real (the plugin's own moto server,
    as pytest-xdist workers share it): what a CI run against SageMaker executes."""
    import boto3

    from pytest_smendpoint.aws.backends.moto.server import SharedMotoServer

    # sys.modules' runner, which the fixture imports (a start-up test may have reloaded it).
    runner = importlib.import_module("pytest_smendpoint.transform.runner")

    # Ask whether the model reads float32 even for iris: on this path the image and environment
    # answer (DescribeModel), and an entry script's image keeps full precision.
    monkeypatch.setattr(runner, "FLOAT32_MIN_ROWS", 100)
    server = SharedMotoServer("us-east-1", "123456789012")
    url = server.start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(name, "testing")
        result = run(
            pytester,
            sklearn_model_dir,
            """
            from helpers_transform import expected, holdout

            def test_predictions(sm_transform, sm_settings):
                assert sm_settings.backend == "aws"
                frame = holdout()
                predictions = sm_transform(frame, shards=3)
                assert (predictions.to_numpy() == expected(frame, MODEL_DIR)).all()
            """,
            "--sm-backend=aws",
            "--sm-region=us-east-1",
            "--sm-role=arn:aws:iam::123456789012:role/ci",
        )
        result.assert_outcomes(passed=1)
        sagemaker = boto3.client("sagemaker", endpoint_url=url, region_name="us-east-1")
        assert sagemaker.list_models()["Models"] == []
        jobs = sagemaker.list_transform_jobs()["TransformJobSummaries"]
        assert [job["TransformJobStatus"] for job in jobs] == ["Completed"]
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
        for bucket in s3.list_buckets()["Buckets"]:
            assert s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", []) == []
    finally:
        server.stop()


FLOAT32_TEXT_TEST = """
import boto3, numpy as np, pandas as pd
from helpers_transform import expected, holdout

def test_input_text(sm_transform):
    frame = holdout()
    frame[frame.columns[:-1]] = frame[frame.columns[:-1]] / 3  # not float32-exact
    predictions = sm_transform(frame, keep_data=True)
    assert (predictions.to_numpy() == expected(frame, MODEL_DIR)).all()
    s3 = boto3.client("s3")
    [bucket] = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    [key] = [
        item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]
        if "/input/" in item["Key"]
    ]
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    read = pd.read_csv(pd.io.common.BytesIO(text), header=None).to_numpy()
    features = frame.drop(columns="label").to_numpy()
    # What the container reads (float64, then float32) is the features' float32 either way.
    assert (read.astype(np.float32) == features.astype(np.float32)).all()
    print("EXACT_FLOAT64", bool((read == features).all()), "BYTES", len(text))
"""


@pytest.mark.parametrize(("option", "exact"), [((), False), (("--sm-no-float32-csv",), True)])
def test_the_input_is_the_float32_text_for_a_model_that_reads_float32(
    pytester: pytest.Pytester,
    sklearn_model_dir: Path,
    option: tuple[str, ...],
    exact: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The model's default input_fn reads CSV as float32 (asked of the model, loaded once before
    the input is written): the input holds the shortest text of those float32, unless turned
    off, when it holds every float64 as it is."""
    # sys.modules' runner, which the fixture imports (a start-up test may have reloaded it).
    runner = importlib.import_module("pytest_smendpoint.transform.runner")

    monkeypatch.setattr(runner, "FLOAT32_MIN_ROWS", 100)  # iris has 150 (pytester: in-process)
    result = run(pytester, sklearn_model_dir, FLOAT32_TEXT_TEST, "-s", *option)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"EXACT_FLOAT64 {exact} BYTES *"])


def test_a_small_input_keeps_full_precision_without_asking_the_model(
    pytester: pytest.Pytester, sklearn_model_dir: Path
) -> None:
    """150 rows: not worth a second load of the model to ask it (FLOAT32_MIN_ROWS)."""
    result = run(pytester, sklearn_model_dir, FLOAT32_TEXT_TEST, "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["EXACT_FLOAT64 True BYTES *"])
