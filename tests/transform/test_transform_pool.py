"""Under moto a transform job is the model pool's second front end (endpoints are the first): it
takes its model from the serving's pool under a key of its own and gives it back when it ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.transform_jobs import BUCKET, ROWS, Account, csv_of

from pytest_smendpoint.aws.backends.moto.transforms import TRANSFORM_USER


def test_a_transform_job_takes_its_model_from_the_pool_and_gives_it_back(
    account: Account, model_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = account.backend.serving.pool
    taken: list[Any] = []
    acquire = pool.acquire

    def recorded(key: Any, spec: Any, s3: Any) -> Any:
        taken.append(key)
        return acquire(key, spec, s3)

    monkeypatch.setattr(pool, "acquire", recorded)
    account.s3.put_object(Bucket=BUCKET, Key="pooled/rows.csv", Body=csv_of(ROWS[:10]))
    model = account.model(model_folder)
    described = account.wait(account.transform(model, "pooled"))
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    [key] = taken
    assert key.user[0] == TRANSFORM_USER and key.model_name == model
    assert pool.keys() == []  # unloaded: the job was its one user
