"""sm_transform's edges, through the library on the moto default: JSON answers of several
mini-batches, CSV files with blank lines, what a failed upload leaves (nothing), what a refused
frame reports (no job), keep_data for good, an empty frame's checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from helpers.container_setup import SKLEARN_ENV, SKLEARN_IMAGE

from pytest_smendpoint import FrameError, make_settings, open_account, transformer


@pytest.fixture  # per test: the autouse environment cleaning would unset the account's
def session(sklearn_model_dir: Path) -> Iterator[tuple[Any, Any]]:
    settings = make_settings(
        model_data=str(sklearn_model_dir), image_uri=SKLEARN_IMAGE, env=SKLEARN_ENV
    )
    with (
        open_account(settings) as account,
        transformer(settings=settings, account=account) as transform,
    ):
        yield account, transform


def iris(rows: int = 150) -> pd.DataFrame:
    from sklearn.datasets import load_iris

    features, _ = load_iris(return_X_y=True, as_frame=True)
    return pd.concat([features] * (rows // 150 + 1)).head(rows).reset_index(drop=True)


def expected(model_dir: Path, frame: pd.DataFrame) -> np.ndarray:
    model = joblib.load(model_dir / "model.joblib")
    return np.asarray(model.predict(frame.to_numpy("float32")))


def transform_keys(account: Any) -> list[str]:
    s3 = account.client("s3")
    keys: list[str] = []
    for bucket in s3.list_buckets()["Buckets"]:
        contents = s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
        keys += [item["Key"] for item in contents if "-transform-" in item["Key"]]
    return keys


@pytest.mark.slow  # several mini-batches of a real model
def test_json_answers_of_several_requests_are_read_one_by_one(
    session: tuple[Any, Any], sklearn_model_dir: Path
) -> None:
    # (SingleRecord would send the scikit-learn container one row, which its default input_fn
    # squeezes to 1-D and the model refuses: a 500, as on SageMaker.)
    _, transform = session
    frame = iris(30_000)  # 2 MB of CSV: three requests at MaxPayloadInMB=1
    got = transform(frame, accept="application/json", max_payload_mb=1)
    assert (got.to_numpy() == expected(sklearn_model_dir, frame)).all()


def test_csv_files_with_blank_lines_count_the_rows_they_hold(
    session: tuple[Any, Any], sklearn_model_dir: Path, tmp_path: Path
) -> None:
    _, transform = session
    frame = iris(30)
    path = tmp_path / "blank.csv"
    path.write_text(frame.to_csv(index=False) + "\n\n")
    got = transform([path])
    assert list(got.index) == list(range(30))
    assert (got.to_numpy() == expected(sklearn_model_dir, frame)).all()


def test_a_refused_frame_leaves_no_data_and_no_job_in_the_report(
    session: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_smendpoint.transform import shards

    account, transform = session
    monkeypatch.setattr(shards, "MAX_OBJECT_BYTES", 2000)  # objects go up before the bad row
    frame = iris(600)
    frame.loc[599, "sepal width (cm)"] = np.nan
    before = len(transform.records)
    with pytest.raises(FrameError, match="first at row 599"):
        transform(frame)
    assert transform_keys(account) == []
    assert len(transform.records) == before


def test_keep_data_keeps_a_calls_input_and_output_for_good(session: tuple[Any, Any]) -> None:
    account, transform = session
    transform(iris(20), keep_data=True)
    kept = transform_keys(account)
    assert any(key.endswith(".csv") for key in kept) and any(key.endswith(".out") for key in kept)
    assert all(prefix not in key for prefix in transform._data for key in kept)
    s3 = account.client("s3")
    for key in kept:  # this test's own leftovers
        bucket = next(
            b["Name"]
            for b in s3.list_buckets()["Buckets"]
            if any(
                o["Key"] == key for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", [])
            )
        )
        s3.delete_object(Bucket=bucket, Key=key)


def test_an_empty_frame_is_checked_as_sm_invoke_checks_it(session: tuple[Any, Any]) -> None:
    _, transform = session
    with pytest.raises(FrameError, match="'nope'"):
        transform(iris(1).iloc[:0], label="nope")
    assert len(transform(iris(1).iloc[:0])) == 0
