"""The same release checks against a bring-your-own serving container."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from botocore.exceptions import ClientError

HOLDOUT = Path(__file__).parent.parent / "quickstart" / "build" / "holdout.csv"


@pytest.fixture(scope="session")
def holdout_df() -> pd.DataFrame:
    return pd.read_csv(HOLDOUT)


def test_accuracy_on_holdout(sm_invoke, holdout_df):
    predicted = sm_invoke(holdout_df)  # serve.py answers the Pipeline's predict(): 0 or 1
    assert ((predicted == holdout_df["label"]).mean()) >= 0.95


def test_container_errors_surface_as_model_error(sm_endpoint, sm_boto_session, holdout_df):
    runtime = sm_boto_session.client("sagemaker-runtime")
    row = ",".join(repr(float(v)) for v in holdout_df.drop(columns="label").iloc[0])
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(
            EndpointName=sm_endpoint.name, ContentType="text/csv", Body=row, CustomAttributes="fail"
        )
    assert caught.value.response["Error"]["Code"] == "ModelError"
