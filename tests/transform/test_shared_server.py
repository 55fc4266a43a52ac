"""The same jobs through the moto server pytest-xdist's workers share: plain boto3 clients on its
URL, the job run in the server's process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from helpers.container_setup import ROW_KEEPING_SCRIPT
from helpers.transform_jobs import BUCKET, ROWS, Account, answers, csv_of, expected

from pytest_smendpoint.aws.backends.moto.server import SharedMotoServer

REGION = "us-east-1"


@dataclass
class ServerBackend:
    """What Account needs of a backend: clients and the serving (here, the server's)."""

    url: str
    serving: Any

    def client(self, service: str) -> Any:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        return session.client(service, endpoint_url=self.url)


@pytest.fixture
def shared() -> Iterator[Account]:
    server = SharedMotoServer(REGION, "123456789012")
    url = server.start()
    try:
        made = Account(ServerBackend(url, server.serving))
        made.s3.create_bucket(Bucket=BUCKET)
        yield made
    finally:
        server.stop()


@pytest.mark.slow  # over 1.5 s
def test_a_job_through_the_shared_server_runs_and_stops(
    shared: Account, scripted_model: Callable[[str], Path]
) -> None:
    folder: Path = scripted_model(ROW_KEEPING_SCRIPT)
    model = shared.model(folder)
    shared.s3.put_object(Bucket=BUCKET, Key="in/rows.csv", Body=csv_of(ROWS))
    described = shared.wait(shared.transform(model, "in"))
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert answers(shared.read("out/rows.csv.out")) == [expected(folder, ROWS)]

    job = shared.transform(model, "in", output="stopped", BatchStrategy="SingleRecord")
    shared.sagemaker.stop_transform_job(TransformJobName=job)
    assert shared.wait(job)["TransformJobStatus"] == "Stopped"
    assert shared.keys("stopped/") == []
