"""Which runtime an image's tag names: every recorded version, the SDK's tag spellings, and a
clear refusal (listing the known versions) for a framework image of any other version."""

from __future__ import annotations

import pytest

from pytest_smendpoint.serving.runtimes.catalog import (
    RUNTIMES,
    UnknownImageTag,
    closest_for_framework,
    runtime_for,
    version_of,
)

ECR = "683313688378.dkr.ecr.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    ("image", "version", "python"),
    [
        (f"{ECR}/sagemaker-scikit-learn:1.2-1-cpu-py3", "1.2-1", "3.9"),
        (f"{ECR}/sagemaker-scikit-learn:1.4-2-py312-cpu-py3", "1.4-2-py312", "3.12"),
        (f"{ECR}/sagemaker-scikit-learn:1.9-0-cpu-py3", "1.9-0", "3.12"),
        (f"{ECR}/sagemaker-xgboost:1.7-1", "1.7-1", "3.9"),
        (f"{ECR}/sagemaker-xgboost:1.7-1-cpu-py3", "1.7-1", "3.9"),
        (f"{ECR}/sagemaker-xgboost:3.0-5", "3.0-5", "3.10"),
        (f"{ECR}/sagemaker-xgboost:3.2-0", "3.2-0", "3.12"),
    ],
)
def test_the_sdks_tags_name_their_image_version(image: str, version: str, python: str) -> None:
    runtime = runtime_for(image)
    assert runtime is not None
    assert (runtime.version, runtime.python) == (version, python)


def test_an_unknown_version_is_refused_with_the_known_ones() -> None:
    image = f"{ECR}/sagemaker-scikit-learn:9.9-9-cpu-py3"
    with pytest.raises(UnknownImageTag) as raised:
        runtime_for(image)
    assert str(raised.value) == (
        f"Image {image}: sagemaker-scikit-learn with tag 9.9-9-cpu-py3 is not an image version "
        "pytest-smendpoint knows the Python and packages of, so it cannot serve the model as "
        "that image would. Known versions: 1.2-1, 1.4-2-py312, 1.9-0 (tags such as "
        "sagemaker-scikit-learn:1.9-0-cpu-py3). To fix: deploy one of those tags, or serve "
        "with the test environment's packages (--sm-image-packages=test-env, marked as such "
        "in every report)."
    )


@pytest.mark.parametrize(
    ("image", "shown"),
    [
        (f"{ECR}/sagemaker-xgboost:latest", "latest"),
        (f"{ECR}/sagemaker-xgboost", "no tag (a digest, or :latest implied)"),
        (f"{ECR}/sagemaker-xgboost@sha256:{'a' * 64}", "no tag (a digest, or :latest implied)"),
    ],
)
def test_no_version_in_the_tag_is_refused(image: str, shown: str) -> None:
    with pytest.raises(UnknownImageTag, match=r"Known versions: 1\.7-1, 3\.0-5, 3\.2-0") as raised:
        runtime_for(image)
    assert f"with tag {shown} is not an image version" in str(raised.value)


def test_a_version_older_than_python_3_9_is_known_and_refused_with_its_reason() -> None:
    image = f"{ECR}/sagemaker-scikit-learn:1.0-1-cpu-py3"
    with pytest.raises(UnknownImageTag) as raised:
        runtime_for(image)
    assert str(raised.value).startswith(
        f"Image {image}: sagemaker-scikit-learn:1.0-1 runs Python 3.8, older than the Python "
        "3.9 pytest-smendpoint's local serving runs in"
    )


def test_other_repositories_have_no_recorded_runtime() -> None:
    assert runtime_for(f"{ECR}/my-inference-toolkit:1.10.1") is None
    assert version_of(f"{ECR}/my-byo-server:latest") is None


def test_each_runtime_pins_its_framework_and_says_where_from() -> None:
    for runtime in RUNTIMES:
        assert runtime.framework_version, runtime.tag
        assert runtime.packages["numpy"], runtime.tag
        assert "Dockerfile" in runtime.source, runtime.tag


def test_a_models_training_version_suggests_the_matching_image() -> None:
    found = closest_for_framework("sagemaker-scikit-learn", "1.9.1")
    assert found is not None and found.version == "1.9-0"
    assert closest_for_framework("sagemaker-scikit-learn", "1.3.0") is None


@pytest.mark.parametrize(
    ("version", "content_type", "first_line"),
    [
        ("sagemaker-xgboost:1.7-1", "text/html", b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2'),
        ("sagemaker-scikit-learn:1.2-1", "text/html; charset=utf-8", b"<!DOCTYPE HTML PUBLIC"),
        ("sagemaker-scikit-learn:1.9-0", "text/html; charset=utf-8", b"<!doctype html>"),
        ("sagemaker-xgboost:3.2-0", "text/html; charset=utf-8", b"<!doctype html>"),
    ],
)
def test_each_images_werkzeug_writes_its_own_500_page(
    version: str, content_type: str, first_line: bytes
) -> None:
    from pytest_smendpoint.serving.profiles.flask_responses import internal_server_error
    from pytest_smendpoint.serving.runtimes.catalog import BY_TAG

    body, media = internal_server_error(BY_TAG[version].werkzeug)
    assert media == content_type
    assert body.startswith(first_line)
    assert body.endswith(b"there is an error in the application.</p>\n")
