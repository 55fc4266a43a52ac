"""--sm-sweep and transform jobs: a tagged job a dead session left running is stopped; an untagged
one, or one of a session still alive, is left alone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers.container_setup import ROW_KEEPING_SCRIPT
from helpers.transform_jobs import BUCKET, ROWS, Account, csv_of

from pytest_smendpoint.aws import sweep
from pytest_smendpoint.settings.naming import TAG_CREATED, TAG_SESSION

SLOW = ROW_KEEPING_SCRIPT + (
    "\nimport time\n\ndef predict_fn(data, model):\n"
    "    time.sleep(0.5)  # sleep-ok: a job still running when the sweep comes\n"
    "    return model.predict(data)\n"
)


@pytest.mark.slow  # over 1.5 s: two jobs of a real model
def test_a_dead_sessions_running_job_is_stopped_and_nothing_else(
    account: Account, scripted_model: Callable[[str], Path]
) -> None:
    model = account.model(scripted_model(SLOW))
    account.s3.put_object(Bucket=BUCKET, Key="rows/rows.csv", Body=csv_of(ROWS))
    old = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat(timespec="seconds")
    tagged = account.transform(
        model,
        "rows",
        output="a",
        BatchStrategy="SingleRecord",
        Tags=[{"Key": TAG_SESSION, "Value": "dead"}, {"Key": TAG_CREATED, "Value": old}],
    )
    untagged = account.transform(model, "rows", output="b", BatchStrategy="SingleRecord")
    found = sweep.find_leftovers(account.sagemaker, 3600)
    assert [(f.kind.label, f.name) for f in found] == [("transform job", tagged)]
    assert sweep.delete_leftovers(account.sagemaker, found) == []
    described = account.sagemaker.describe_transform_job(TransformJobName=tagged)
    assert described["TransformJobStatus"] in ("Stopping", "Stopped")
    assert (
        account.sagemaker.describe_transform_job(TransformJobName=untagged)["TransformJobStatus"]
        == "InProgress"
    )
    account.sagemaker.stop_transform_job(TransformJobName=untagged)
    account.wait(untagged)
