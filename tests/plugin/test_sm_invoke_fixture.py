"""sm_invoke through the plugin: settings reach the invoker, predictions are the model's own,
and the session summary counts what was sent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.container_setup import ROW_KEEPING_SCRIPT, SKLEARN_ENV_ARGS

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"

TEST_FILE = """
import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

@pytest.fixture(scope="session")
def holdout_df():
    features, labels = load_iris(return_X_y=True, as_frame=True)
    return features.assign(target=labels)

def test_predictions_equal_the_model_in_process(sm_invoke, holdout_df):
    model = joblib.load({model!r})
    expected = model.predict(np.ascontiguousarray(holdout_df.drop(columns="target").to_numpy()))
    predicted = sm_invoke(holdout_df)
    assert list(predicted.index) == list(holdout_df.index)
    np.testing.assert_array_equal(predicted.to_numpy(dtype=float), expected.astype(float))

def test_rows_sends_one_request_per_row(sm_invoke, holdout_df):
    before = sm_invoke.stats.requests
    sm_invoke.rows(holdout_df.head(3))
    assert sm_invoke.stats.requests - before == 3
"""


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_sm_invoke_uses_the_settings_and_reports_its_counters(
    pytester: pytest.Pytester, sklearn_model_dir: Path
) -> None:
    model_dir = pytester.path / "model"
    shutil.copytree(sklearn_model_dir, model_dir)
    (model_dir / "code" / "inference.py").write_text(ROW_KEEPING_SCRIPT)
    pytester.makepyfile(TEST_FILE.format(model=str(model_dir / "model.joblib")))
    result = pytester.runpytest(
        f"--sm-model-data={model_dir}",
        f"--sm-image-uri={IMAGE}",
        *SKLEARN_ENV_ARGS,
        "--sm-label-column=target",
        "--sm-max-rows-per-request=50",
        "--sm-features=4",
    )
    result.assert_outcomes(passed=2)
    # 150 rows at 50 a request, then 3 single rows.
    result.stdout.fnmatch_lines(
        ["  sm_invoke: 6 requests, 153 rows, 0.0 MB sent, 0 errors, 0 retries; latency ms p50 *"]
    )


def test_explicit_label_that_is_absent_is_named(
    pytester: pytest.Pytester, sklearn_model_dir: Path
) -> None:
    pytester.makepyfile(
        """
        import pandas as pd
        import pytest
        from pytest_smendpoint import FrameError

        def test_missing_label(sm_invoke):
            with pytest.raises(FrameError) as caught:
                sm_invoke(pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0], "d": [4.0]}))
            print("MESSAGE:", caught.value)
        """
    )
    result = pytester.runpytest(
        "-s",
        f"--sm-model-data={sklearn_model_dir}",
        f"--sm-image-uri={IMAGE}",
        *SKLEARN_ENV_ARGS,
        "--sm-label-column=y",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*MESSAGE: label column 'y' is not in the DataFrame (columns: 'a', 'b', 'c', 'd')"]
    )
