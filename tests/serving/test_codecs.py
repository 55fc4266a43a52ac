"""The default media-type codecs: exact CSV both ways, whichever parser a body's size picks."""

from __future__ import annotations

import numpy as np
import pytest
from localsupport import csv_predictions

from pytest_smendpoint.serving import UnsupportedFormatError, codecs


def random_csv(rows: int, seed: int = 7) -> tuple[np.ndarray, bytes]:
    values = np.random.default_rng(seed).normal(size=(rows, 6)) * 1e3
    body = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in values)
    return values, body.encode()


@pytest.mark.parametrize("rows", [3, 4000])  # below and above SMALL_CSV_BYTES
def test_csv_decode_is_exact_for_both_parsers(rows):
    values, body = random_csv(rows)
    assert (len(body) < codecs.SMALL_CSV_BYTES) == (rows == 3)
    decoded = codecs.decode(body, "text/csv; charset=utf-8")
    assert decoded.dtype == np.float64
    assert decoded.flags.c_contiguous  # else BLAS rounds differently from model.predict(rows)
    assert np.array_equal(decoded, values)


def test_integer_csv_decodes_to_float64_whichever_parser():
    small = b"1,2\n3,4\n"
    large = small * (codecs.SMALL_CSV_BYTES // len(small) + 1)
    assert codecs.decode(small, "text/csv").dtype == codecs.decode(large, "text/csv").dtype


def test_csv_encode_is_one_line_per_row_and_round_trips():
    values, _ = random_csv(50)
    body, media = codecs.encode(values[:, 0], "text/csv")
    assert media == "text/csv"
    assert [float(v) for v in body.decode().splitlines()] == values[:, 0].tolist()
    two_d, _ = codecs.encode(values, "text/csv")
    lines = two_d.decode().splitlines()
    assert len(lines) == 50
    assert [[float(v) for v in line.split(",")] for line in lines] == values.tolist()


def test_unknown_media_types_raise_the_toolkits_error():
    with pytest.raises(UnsupportedFormatError) as raised:
        codecs.decode(b"x", "text/plain")
    assert raised.value.status == 415
    with pytest.raises(UnsupportedFormatError) as raised:
        codecs.encode([1], "text/plain")
    assert raised.value.status == 406


def test_large_csv_invoke_is_exact(serving, runtime, deploy, regressor):
    rows = np.random.default_rng(1).normal(size=(20000, 3))
    body = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()
    endpoint = deploy({"model.joblib": regressor})
    serving.endpoint_created(endpoint.name)
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint.name, Body=body, ContentType="text/csv", Accept="text/csv"
    )["Body"].read()
    assert csv_predictions(answer) == regressor.predict(rows).tolist()
