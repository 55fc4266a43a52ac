"""Container environments print their keys and never their values (they are often secrets),
yet read as ordinary mappings; AWS libraries' log records lose the values too."""

from __future__ import annotations

import dataclasses
import json
import logging
import pickle

import boto3
import pytest

from pytest_smendpoint.aws.redaction import credentials_redacted, mask_also
from pytest_smendpoint.aws.resolve import ModelSpec
from pytest_smendpoint.settings.environment import ContainerEnvironment
from pytest_smendpoint.settings.options import Settings

SECRET = "sk-live-4f9a8b7c"


def test_repr_and_str_show_keys_and_mask_values() -> None:
    env = ContainerEnvironment({"DB_PASSWORD": "hunter2", "API_KEY": SECRET})
    assert repr(env) == "ContainerEnvironment(DB_PASSWORD=***, API_KEY=***)"
    assert str(env) == repr(env)
    assert f"{env}" == repr(env)


def test_it_reads_as_a_mapping() -> None:
    env = ContainerEnvironment({"A": "1"}, B=2)
    assert dict(env) == {"A": "1", "B": "2"}  # values are strings, as SageMaker's are
    assert env["A"] == "1" and len(env) == 2 and list(env) == ["A", "B"]
    assert env == {"A": "1", "B": "2"} and env.get("C") is None
    assert env | {"A": "9"} == {"A": "9", "B": "2"}
    assert pickle.loads(pickle.dumps(env)) == env
    with pytest.raises(TypeError):
        env["A"] = "2"  # type: ignore[index]


def test_the_dict_handed_to_botocore_is_a_dict_that_prints_masked() -> None:
    value = ContainerEnvironment({"API_KEY": SECRET}).request_value()
    assert isinstance(value, dict) and value == {"API_KEY": SECRET}
    assert repr(value) == "{'API_KEY': '***'}"
    assert json.dumps(value) == json.dumps({"API_KEY": SECRET})  # the request body is real


def test_settings_and_model_specs_mask_whatever_mapping_they_were_given() -> None:
    settings = Settings(env={"API_KEY": SECRET})
    spec = ModelSpec(image_uri="img", role_arn="arn", environment={"API_KEY": SECRET})
    for holder in (
        settings,
        spec,
        dataclasses.replace(settings, env={"API_KEY": SECRET}),
        dataclasses.replace(spec, environment={"API_KEY": SECRET}),
    ):
        assert SECRET not in repr(holder)
        assert "ContainerEnvironment(API_KEY=***)" in repr(holder)
    assert settings.env["API_KEY"] == spec.environment["API_KEY"] == SECRET


def test_log_records_of_aws_libraries_lose_credentials_and_env_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    session = boto3.Session(
        aws_access_key_id="AKIAMASKTESTMARKER01",
        aws_secret_access_key="not-logged-anyway-0000",
        aws_session_token="token-mask-test-marker-02",
        region_name="us-east-1",
    )
    logger = logging.getLogger("botocore.endpoint")
    with caplog.at_level(logging.DEBUG, logger="botocore"):
        with credentials_redacted(session, also=["hunter2", "1", 'quo"ted-value']):
            mask_also(["late-model-value"])  # a model's environment, known at deploy time
            logger.debug(
                "key %s token %s body %s %s short %s late %s",
                "AKIAMASKTESTMARKER01",
                "token-mask-test-marker-02",
                json.dumps({"DB_PASSWORD": "hunter2", "Q": 'quo"ted-value'}).encode(),
                "hunter2",
                "x=1",
                "late-model-value",
            )
        logger.debug("after %s", "hunter2")  # the filter is gone with the session
    assert [r.getMessage() for r in caplog.records] == [
        "key *** token *** body "
        """b'{"DB_PASSWORD": "***", "Q": "***"}' *** short x=1 late ***""",
        "after hunter2",
    ]
