"""Once the session's mocked account closes, a client the tests made (or a thread they left
running) cannot reach real AWS: its request is refused with a reason, before any connection."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from pytest_smendpoint import make_settings, open_account
from pytest_smendpoint.aws.backends.moto.closed_account import ClosedAccountError

NO_RETRIES = Config(retries={"total_max_attempts": 1}, connect_timeout=1)


def test_a_client_made_in_the_session_is_refused_real_aws_after_it() -> None:
    with open_account(make_settings()) as account:
        s3 = account.boto_session.client("s3", config=NO_RETRIES)
        s3.create_bucket(Bucket="kept-for-later")
        plain = boto3.client("s3", region_name="us-east-1", config=NO_RETRIES)
        assert plain.list_buckets()["Buckets"]  # moto answers while the account is open
    for client in (s3, plain):
        with pytest.raises(ClosedAccountError) as refused:
            client.head_object(Bucket="kept-for-later", Key="late.out")
        assert str(refused.value).startswith(
            "pytest-smendpoint: HEAD kept-for-later.s3.amazonaws.com refused: the session's "
            "mocked AWS account is closed, and this request would have gone to real AWS."
        )


def test_loopback_and_a_later_mock_are_not_refused() -> None:
    import moto

    with open_account(make_settings()):
        pass
    local = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRIES,
    )
    with pytest.raises(EndpointConnectionError):  # tried (nothing listens), not refused
        local.list_buckets()
    with moto.mock_aws():  # the user's own mock: moto answers, the guard stands aside
        assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []


def test_only_the_mocked_accounts_credentials_are_refused() -> None:
    """A request signed with other credentials (restored after the session: a plugin that
    uploads reports to real S3) is not the guard's to stop."""
    from botocore.awsrequest import AWSRequest

    from pytest_smendpoint.aws.backends.moto import closed_account

    with open_account(make_settings()):
        pass

    def request(key: str) -> AWSRequest:
        signed = AWSRequest("GET", "https://bucket.s3.amazonaws.com/key")
        signed.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={key}/20261207/us-east-1/s3/aws4_request, "
            "SignedHeaders=host, Signature=0"
        )
        return signed

    closed_account._GUARD(request("AKIAREALKEY"))  # passes: no error
    for fake in sorted(closed_account.FAKE_ACCESS_KEYS):
        with pytest.raises(ClosedAccountError):
            closed_account._GUARD(request(fake))
