"""The XGBoost algorithm-mode profile against the container's request path (transcribed in
helpers/xgboost_container_reference.py), both run inside the 1.7-1 image's runtime: xgboost
1.7.4, numpy 1.24.1 and scipy 1.8.0 word and compute as the image does, with no wording mapped."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from helpers.runtime_side import ask, faithful_runtime
from test_xgboost_algorithm import CSV_BODIES, LIBSVM_BODIES

HERE = Path(__file__).parent
TESTS = HERE.parents[1]
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
CASES = [
    {"body": base64.b64encode(body).decode(), "content_type": content_type, "model": model}
    for model in ("booster", "pickle")
    for bodies, content_type in ((CSV_BODIES, "text/csv"), (LIBSVM_BODIES, "text/libsvm"))
    for body in bodies
]
CASE_IDS = [
    f"{case['model']}-{case['content_type']}-{base64.b64decode(case['body'])!r}" for case in CASES
]


@pytest.fixture(scope="module")
def answers() -> list[dict[str, Any]]:
    runtime = faithful_runtime(IMAGE)
    return ask(runtime, HERE / "runtime_side_xgboost.py", CASES, [TESTS], OMP_NUM_THREADS="1")


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(CASES)), ids=CASE_IDS)
def test_requests_answer_as_the_container_under_the_images_packages(
    answers: list[dict[str, Any]], index: int
) -> None:
    assert answers[index]["ours"] == answers[index]["theirs"]
