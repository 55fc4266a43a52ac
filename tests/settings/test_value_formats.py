"""The value shapes checked at start-up (settings/formats.py): what real image references and
Accept values look like passes; the mistakes a user makes do not."""

from __future__ import annotations

import pytest

from pytest_smendpoint.settings.ages import parse_age
from pytest_smendpoint.settings.formats import is_image_uri, is_media_type

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "uri",
    [
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/model:latest",
        f"123456789012.dkr.ecr.us-east-1.amazonaws.com/model@{DIGEST}",
        f"registry.example.com:5000/a/b:1@{DIGEST}",
        "localhost/model:dev",
        "img:1",
        "img",
        "my-byo:1",
        "registry/inference:1",
        "MyRegistry.example.com/model:V1",
    ],
)
def test_real_image_references_pass(uri: str) -> None:
    assert is_image_uri(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "not an image",
        "MyRepo:1",
        "team/Model:1",
        "img:",
        "img:1:2",
        "img@sha256:short",
        "registry.example.com/",
        "/img:1",
        "img:-bad",
        "img:täg",
        "a" * 256,
    ],
)
def test_malformed_image_references_fail(uri: str) -> None:
    assert not is_image_uri(uri)


@pytest.mark.parametrize(
    "value",
    [
        "text/csv",
        "application/json",
        "application/jsonlines",
        "text/csv; charset=utf-8",
        "text/csv;header=present",
        'text/plain; format="a b"',
        "*/*",
    ],
)
def test_media_types_pass(value: str) -> None:
    assert is_media_type(value)


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "text/",
        "/csv",
        "text/csv;",
        "text/csv\r\nX: 1",
        "text/csv\n",
        "text csv",
        "text/csv, application/json",
    ],
)
def test_non_media_types_fail(value: str) -> None:
    assert not is_media_type(value)


def test_the_largest_age_still_works_in_datetime_arithmetic() -> None:
    from datetime import datetime, timedelta, timezone

    seconds = parse_age("36500d")
    assert datetime.now(timezone.utc) - timedelta(seconds=seconds) > datetime(
        1, 1, 1, tzinfo=timezone.utc
    )
    with pytest.raises(ValueError, match="at most 36500d"):
        parse_age("36501d")
