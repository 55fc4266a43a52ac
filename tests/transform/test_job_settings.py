"""What a job runs with: its own settings, then the container's /execution-parameters, then
SageMaker's defaults; and what the container's environment gets."""

from __future__ import annotations

import json

from pytest_smendpoint.serving.profiles import flask_responses
from pytest_smendpoint.serving.profiles.base import EXECUTION_PARAMETERS, Request
from pytest_smendpoint.serving.profiles.scikit_learn import SklearnServer
from pytest_smendpoint.serving.profiles.xgboost.algorithm import execution_parameters
from pytest_smendpoint.serving.transform.parameters import JobSettings, resolve

OFFERED = json.dumps(
    {"MaxConcurrentTransforms": 8, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 20}
).encode()


def test_without_an_answer_the_defaults_apply() -> None:
    resolved = resolve(JobSettings("job"), None)
    assert (resolved.max_concurrent_transforms, resolved.max_payload_mb) == (1, 6)
    assert resolved.batch_strategy == "MultiRecord"
    assert resolved.log_line() == (
        "MaxConcurrentTransforms=1, MaxPayloadInMB=6, BatchStrategy=MULTI_RECORD"
    )


def test_the_containers_answer_fills_what_the_job_left_out() -> None:
    resolved = resolve(JobSettings("job", max_payload_mb=2), OFFERED)
    assert resolved.max_concurrent_transforms == 8
    assert resolved.max_payload_mb == 2  # the job's own value wins
    assert resolved.single_record


def test_an_unreadable_answer_is_ignored() -> None:
    resolved = resolve(JobSettings("job"), b"<html>not json</html>")
    assert (resolved.max_concurrent_transforms, resolved.max_payload_mb) == (1, 6)
    resolved = resolve(JobSettings("job"), b'{"MaxConcurrentTransforms": "four"}')
    assert resolved.max_concurrent_transforms == 1


def test_the_container_environment_names_only_what_the_job_set() -> None:
    assert JobSettings("job").container_environment() == {"SAGEMAKER_BATCH": "true"}
    settings = JobSettings(
        "job", max_concurrent_transforms=2, max_payload_mb=3, batch_strategy="SingleRecord"
    )
    assert settings.container_environment() == {
        "SAGEMAKER_BATCH": "true",
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": "3",
        "SAGEMAKER_BATCH_STRATEGY": "SINGLE_RECORD",
        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "2",
    }


def test_xgboost_algorithm_mode_offers_its_cpus_and_six_mib() -> None:
    reply = execution_parameters()
    offered = json.loads(reply.body)
    assert reply.status == 200
    assert offered["BatchStrategy"] == "MULTI_RECORD"
    assert offered["MaxPayloadInMB"] == 6
    assert offered["MaxConcurrentTransforms"] >= 1


def test_scikit_learn_answers_404_unless_the_script_defines_execution_parameters_fn() -> None:
    server = SklearnServer(model=None, transform_fn=None, functions=(print, print, print))
    probe = Request(b"", None, None, path=EXECUTION_PARAMETERS)
    reply = server(probe)
    assert reply.status == 404
    assert (reply.body, reply.content_type) == flask_responses.not_found(server.werkzeug)
    server.execution_parameters_fn = lambda: {"MaxConcurrentTransforms": 3}
    reply = server(probe)
    assert (reply.status, json.loads(reply.body)) == (200, {"MaxConcurrentTransforms": 3})
