"""sm_transform's input and output, without a job: the shards hold every row once, in order,
encoded as sm_invoke encodes them; bad frames are refused as sm_invoke refuses them; the answers
are joined back in input order and counted against the rows sent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pytest_smendpoint import FrameError, InvokeArgumentError, PredictionCountError
from pytest_smendpoint.invoke.csv_payloads import CsvEncoder
from pytest_smendpoint.invoke.frame_checks import FrameRules, prepare
from pytest_smendpoint.transform import shards as shards_module
from pytest_smendpoint.transform.outputs import joined_predictions, output_key
from pytest_smendpoint.transform.shards import Shard, source_of, write_shards

RULES = FrameRules()


def frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    df = pd.DataFrame(rng.normal(size=(rows, 3)), columns=["a", "b", "c"])
    df["label"] = rng.integers(0, 2, rows)
    df.index = pd.RangeIndex(1000, 1000 + rows)
    return df


def written(source_data: object, shards: int) -> tuple[list[Shard], dict[str, bytes]]:
    objects: dict[str, bytes] = {}

    def upload(body: bytes, key: str) -> None:
        objects[key] = body

    result = write_shards(source_of(source_data), RULES, shards, upload, lambda n: f"in/p{n}.csv")
    return result, objects


@pytest.mark.parametrize("shards", [1, 3, 7])
def test_shards_hold_every_row_once_in_order_as_sm_invoke_encodes_it(
    shards: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shards_module, "CHUNK_ROWS", 4)  # rows cross chunk and shard bounds
    df = frame(23)
    result, objects = written(df, shards)
    assert [s.key for s in result] == [f"in/p{n}.csv" for n in range(shards)]
    assert sum(s.rows for s in result) == 23
    assert [s.rows for s in result] == [len(objects[s.key].splitlines()) for s in result]
    expected = CsvEncoder(prepare(df, RULES).frame).encode(0, 23)
    assert b"".join(objects[s.key] for s in result) == expected  # label dropped, same text


def test_more_shards_than_rows_gives_one_object_per_row() -> None:
    result, objects = written(frame(2), 5)
    assert [s.rows for s in result] == [1, 1]


def test_parquet_and_csv_files_are_read_in_order_with_their_header(tmp_path: Path) -> None:
    df = frame(10).reset_index(drop=True)
    df.iloc[:6].to_parquet(tmp_path / "a.parquet", index=False)
    df.iloc[6:].to_csv(tmp_path / "b.csv", index=False)
    source = source_of([tmp_path / "a.parquet", str(tmp_path / "b.csv")])
    assert source.rows == 10 and list(source.index) == list(range(10))
    result, objects = written([tmp_path / "a.parquet", tmp_path / "b.csv"], 2)
    expected = CsvEncoder(prepare(df, RULES).frame).encode(0, 10)
    assert b"".join(objects[s.key] for s in result) == expected


def test_a_frame_sm_invoke_refuses_is_refused_the_same_way() -> None:
    df = frame(5)
    df.loc[1003, "b"] = np.nan
    with pytest.raises(FrameError) as from_transform:
        written(df, 1)
    with pytest.raises(FrameError) as from_invoke:
        prepare(df, RULES)
    assert str(from_transform.value) == str(from_invoke.value)
    assert "1003" in str(from_transform.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"a": [1]},
            "sm_transform takes a pandas DataFrame, a path or list of paths to CSV or Parquet "
            "files, or an s3:// prefix; got dict",
        ),
        ("missing.csv", "sm_transform: no such file: missing.csv"),
    ],
)
def test_unusable_input_is_refused_with_the_reason(data: object, message: str) -> None:
    with pytest.raises(InvokeArgumentError) as refused:
        source_of(data)
    assert str(refused.value) == message


def test_answers_are_joined_in_input_order_and_counted() -> None:
    shards = [Shard("in/p0.csv", 2), Shard("in/p1.csv", 3)]
    keys = [output_key(s, "in/", "out/job") for s in shards]
    assert keys == ["out/job/p0.csv.out", "out/job/p1.csv.out"]
    bodies = {keys[0]: b"0.1\n0.2\n", keys[1]: b"0.3\n0.4\n0.5\n"}
    index = pd.Index(list("vwxyz"))
    joined = joined_predictions(shards, bodies.__getitem__, keys, "text/csv", index, "job")
    assert joined.tolist() == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert list(joined.index) == list("vwxyz")
    bodies[keys[1]] = b"0.3\n0.4\n"
    with pytest.raises(PredictionCountError) as short:
        joined_predictions(shards, bodies.__getitem__, keys, "text/csv", index, "job")
    assert str(short.value) == (
        "transform job 'job' answered 2 predictions for rows 'x' to 'z' "
        "(out/job/p1.csv.out) (3 rows sent)"
    )


def test_an_object_past_its_size_limit_is_cut_into_more_objects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shards_module, "CHUNK_ROWS", 4)
    df = frame(40)
    objects: dict[str, bytes] = {}
    result = write_shards(
        source_of(df),
        RULES,
        2,
        lambda body, key: objects.__setitem__(key, body),
        lambda n: f"in/p{n}.csv",
        max_object_bytes=300,  # a few rows of this frame's CSV
    )
    assert len(result) > 2
    assert all(len(body) < 300 + 4 * 100 for body in objects.values())
    expected = CsvEncoder(prepare(df, RULES).frame).encode(0, 40)
    assert b"".join(objects[s.key] for s in result) == expected
    assert sum(s.rows for s in result) == 40
