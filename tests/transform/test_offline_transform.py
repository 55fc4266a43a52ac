"""A transform job behind the plugin's moto account runs for real, with plain boto3 calls: the
model's own predictions in the .out objects, split and assembled as SageMaker's agent does, and
the job's status and FailureReason as SageMaker reports them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from botocore.exceptions import ClientError
from helpers.container_setup import ROW_KEEPING_SCRIPT
from helpers.transform_jobs import BUCKET, ROWS, Account, answers, csv_of, expected

from pytest_smendpoint.serving.transform.run import CLIENT_ERROR
from pytest_smendpoint.tempdirs import TRANSFORM_PREFIX


@pytest.mark.slow  # over 1.5 s (it loads the model for a job and an endpoint)
def test_predictions_are_what_an_endpoint_returns_for_the_same_rows(
    account: Account, model_folder: Path
) -> None:
    model = account.model(model_folder)
    body = csv_of(ROWS)
    account.s3.put_object(Bucket=BUCKET, Key="in/iris.csv", Body=body)
    account.s3.put_object(Bucket=BUCKET, Key="in/more/part.csv", Body=csv_of(ROWS[:10]))
    job = account.transform(model, "in")
    described = account.wait(job)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert "FailureReason" not in described
    assert described["TransformStartTime"] <= described["TransformEndTime"]
    assert sorted(account.keys("out/")) == ["out/iris.csv.out", "out/more/part.csv.out"]

    account.sagemaker.create_endpoint_config(
        EndpointConfigName="config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    account.sagemaker.create_endpoint(EndpointName="endpoint", EndpointConfigName="config")
    runtime = account.backend.client("sagemaker-runtime")
    answered = runtime.invoke_endpoint(
        EndpointName="endpoint", Body=body, ContentType="text/csv", Accept="application/json"
    )["Body"].read()
    # One request for the whole object (it fits 6 MB), then AssembleWith=Line's newline.
    assert account.read("out/iris.csv.out") == answered + b"\n"
    assert answers(answered)[0] == expected(model_folder, ROWS)
    assert answers(account.read("out/more/part.csv.out")) == [expected(model_folder, ROWS[:10])]


def test_multi_record_splits_at_max_payload_in_order(account: Account, model_folder: Path) -> None:
    rows = np.tile(ROWS, (600, 1))  # 90,000 rows, 1.4 MB of CSV
    body = csv_of(rows)
    account.s3.put_object(Bucket=BUCKET, Key="big/rows.csv", Body=body)
    job = account.transform(account.model(model_folder), "big/rows.csv", MaxPayloadInMB=1)
    described = account.wait(job)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    batches = answers(account.read("out/rows.csv.out"))
    assert len(batches) == 2  # 1 MiB of whole lines, then the rest
    assert all(len(batch) > 1000 for batch in batches)
    assert [p for batch in batches for p in batch] == expected(model_folder, rows)
    assert any(
        "MaxPayloadInMB=1, BatchStrategy=MULTI_RECORD" in line for line in account.data_log(job)
    )


@pytest.mark.slow  # over 1.5 s
def test_single_record_sends_one_record_per_request(
    account: Account, scripted_model: Callable[[str], Path]
) -> None:
    folder = scripted_model(ROW_KEEPING_SCRIPT)
    account.s3.put_object(Bucket=BUCKET, Key="few/rows.csv", Body=csv_of(ROWS[:5]))
    job = account.transform(account.model(folder), "few", BatchStrategy="SingleRecord")
    described = account.wait(job)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert answers(account.read("out/rows.csv.out")) == [[p] for p in expected(folder, ROWS[:5])]


def test_a_container_error_fails_the_job_as_sagemaker_reports_it(
    account: Account, model_folder: Path
) -> None:
    # SingleRecord with the container's default input_fn: one CSV row decodes to a 1-D array,
    # which scikit-learn refuses (500), on SageMaker as here.
    account.s3.put_object(Bucket=BUCKET, Key="single/rows.csv", Body=csv_of(ROWS[:3]))
    account.s3.put_object(Bucket=BUCKET, Key="single/z.csv", Body=b"")
    job = account.transform(
        account.model(model_folder),
        "single",
        BatchStrategy="SingleRecord",
        ModelClientConfig={"InvocationsMaxRetries": 0},
    )
    described = account.wait(job)
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"] == CLIENT_ERROR
    assert account.keys("out/") == ["out/z.csv.out"]  # only whole objects are written
    log = account.data_log(job)
    assert any(line.endswith(f"{BUCKET}/single/rows.csv: ClientError: 500") for line in log)
    assert any("Internal Server Error" in line for line in log)


def test_a_record_over_max_payload_fails_the_job(account: Account, model_folder: Path) -> None:
    long_row = (",".join(["1.0"] * 300_000) + "\n").encode()  # 1.2 MB: over 1 MiB
    account.s3.put_object(Bucket=BUCKET, Key="wide/rows.csv", Body=csv_of(ROWS[:4]) + long_row)
    job = account.transform(account.model(model_folder), "wide", MaxPayloadInMB=1)
    described = account.wait(job)
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"] == CLIENT_ERROR
    assert account.keys("out/") == []
    assert any(
        "wide/rows.csv: record 5 is 1200000 bytes, more than the 1048576-byte limit" in line
        for line in account.data_log(job)
    )


def test_a_model_that_cannot_load_fails_the_job(account: Account, model_folder: Path) -> None:
    model = account.model(model_folder, environment={})  # no SAGEMAKER_PROGRAM
    account.s3.put_object(Bucket=BUCKET, Key="in/rows.csv", Body=csv_of(ROWS[:4]))
    described = account.wait(account.transform(model, "in"))
    assert described["TransformJobStatus"] == "Failed"
    reason = described["FailureReason"]
    assert reason.startswith("AlgorithmError: Model container failed to respond to ping. ")
    assert "SAGEMAKER_PROGRAM is not set" in reason
    assert "production variant" not in reason  # the endpoint's words are not the job's


def test_stop_transform_job_stops_it(
    account: Account, scripted_model: Callable[[str], Path]
) -> None:
    slow = ROW_KEEPING_SCRIPT + (
        "\nimport time\n\ndef predict_fn(data, model):\n"
        "    time.sleep(0.2)  # sleep-ok: a slow model, for the stop to arrive mid-job\n"
        "    return model.predict(data)\n"
    )
    account.s3.put_object(Bucket=BUCKET, Key="slow/rows.csv", Body=csv_of(ROWS))
    job = account.transform(
        account.model(scripted_model(slow)), "slow", BatchStrategy="SingleRecord"
    )
    account.sagemaker.stop_transform_job(TransformJobName=job)
    assert account.sagemaker.describe_transform_job(TransformJobName=job)["TransformJobStatus"] in (
        "Stopping",
        "Stopped",
    )
    described = account.wait(job)
    assert described["TransformJobStatus"] == "Stopped"
    assert account.keys("out/") == []
    listed = account.sagemaker.list_transform_jobs()["TransformJobSummaries"]
    assert [(j["TransformJobName"], j["TransformJobStatus"]) for j in listed] == [(job, "Stopped")]


def test_stop_of_an_unknown_job_is_a_validation_error(account: Account) -> None:
    with pytest.raises(ClientError) as raised:
        account.sagemaker.stop_transform_job(TransformJobName="nope")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "Could not find transform job" in raised.value.response["Error"]["Message"]


def test_create_refuses_what_sagemaker_refuses(account: Account, model_folder: Path) -> None:
    with pytest.raises(ClientError, match='Could not find model "arn:aws:sagemaker:.*:model/nope"'):
        account.transform("nope", "in")
    model = account.model(model_folder)
    with pytest.raises(ClientError, match="MaxPayloadInMB"):
        account.transform(model, "in", MaxPayloadInMB=101)
    with pytest.raises(ClientError, match="MaxConcurrentTransforms"):
        account.transform(model, "in", MaxPayloadInMB=60, MaxConcurrentTransforms=2)


def test_missing_input_fails_the_job_naming_it(account: Account, model_folder: Path) -> None:
    described = account.wait(account.transform(account.model(model_folder), "nothing-here/"))
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"] == (
        f"ClientError: No S3 objects were found under s3://{BUCKET}/nothing-here/."
    )


def test_an_unemulated_setting_fails_the_job_saying_so(
    account: Account, model_folder: Path
) -> None:
    account.s3.put_object(Bucket=BUCKET, Key="in/rows.csv", Body=csv_of(ROWS[:4]))
    job = account.transform(
        account.model(model_folder), "in", TransformInput={"SplitType": "RecordIO"}
    )
    described = account.wait(job)
    assert described["TransformJobStatus"] == "Failed"
    assert "SplitType RecordIO is not emulated offline" in described["FailureReason"]


def test_model_processes_are_bounded_by_the_cores(
    account: Account, scripted_model: Callable[[str], Path]
) -> None:
    # Each answer names the process that served it.
    script = ROW_KEEPING_SCRIPT + (
        "\nimport os\n\ndef predict_fn(data, model):\n    return [os.getpid()] * len(data)\n"
    )
    account.s3.put_object(Bucket=BUCKET, Key="many/rows.csv", Body=csv_of(ROWS[:40]))
    job = account.transform(
        account.model(scripted_model(script)),
        "many",
        BatchStrategy="SingleRecord",
        MaxConcurrentTransforms=8,
    )
    described = account.wait(job)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    from pytest_smendpoint.serving.instance_cpus import local_cores

    pids = {p for answer in answers(account.read("out/rows.csv.out")) for p in answer}
    assert 1 <= len(pids) <= local_cores()


@pytest.mark.slow  # over 1.5 s
def test_closing_the_account_stops_its_running_jobs(
    scripted_model: Callable[[str], Path],
) -> None:
    from pytest_smendpoint import make_settings, open_account

    slow = ROW_KEEPING_SCRIPT + (
        "\nimport time\n\ndef predict_fn(data, model):\n"
        "    time.sleep(0.2)  # sleep-ok: a slow model, still running when the account closes\n"
        "    return model.predict(data)\n"
    )
    with open_account(make_settings()) as backend:
        account = Account(backend)
        account.s3.create_bucket(Bucket=BUCKET)
        account.s3.put_object(Bucket=BUCKET, Key="slow/rows.csv", Body=csv_of(ROWS))
        model = account.model(scripted_model(slow))
        job = account.transform(model, "slow", BatchStrategy="SingleRecord")
        jobs = account.backend.serving.transforms
    assert jobs.wait(account.region, job, 0)  # ended by the close, not waited for here
    assert all(running.loaded is None for running in jobs._jobs.values())  # processes stopped
    left = Path(tempfile.gettempdir()).glob(f"{TRANSFORM_PREFIX}{os.getpid()}-{job}-*")
    assert list(left) == []  # nor its folder


@pytest.mark.slow  # over 1.5 s
def test_invocations_timeout_in_seconds_bounds_each_request(
    account: Account, scripted_model: Callable[[str], Path]
) -> None:
    slow = ROW_KEEPING_SCRIPT + (
        "\nimport time\n\ndef predict_fn(data, model):\n"
        "    time.sleep(30)  # sleep-ok: longer than the job's 1 s bound\n"
        "    return model.predict(data)\n"
    )
    account.s3.put_object(Bucket=BUCKET, Key="slow/rows.csv", Body=csv_of(ROWS[:4]))
    job = account.transform(
        account.model(scripted_model(slow)),
        "slow",
        ModelClientConfig={"InvocationsTimeoutInSeconds": 1, "InvocationsMaxRetries": 0},
    )
    described = account.wait(job)
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"] == CLIENT_ERROR
    assert any("the model did not answer within 1 s" in line for line in account.data_log(job))
