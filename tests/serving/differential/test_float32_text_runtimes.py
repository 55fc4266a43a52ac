"""The shortest float32 text through sagemaker-containers 2.8.6 itself (serving.py's default
input_fn: its decoder, then float32) and through the profile, inside each scikit-learn image's
runtime (numpy 1.24.1 on Python 3.9 for 1.2-1, numpy 2.5.1 on Python 3.12 for 1.9-0): the
container reads the short body as exactly the array it reads from the full-precision one."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from helpers.float32_values import adversarial_values, as_frame, bodies, without_twice_rounded
from helpers.runtime_side import ask, faithful_runtime
from test_runtime_differential import IMAGES, reference_folder

HERE = Path(__file__).parent

ROWS_PER_BODY = 2000  # above FAST_CSV_BYTES: the profile's pyarrow path
SMALL_ROWS = 40  # below it: the reference's own csv.reader steps


def decode_cases() -> list[dict[str, Any]]:
    """Pairs of (short, full) bodies: a frame holding the twice-rounded pattern (pyarrow's
    table writes its short text) and one without it (orjson writes it)."""
    values = adversarial_values()
    cases = []
    for frame in (as_frame(values), as_frame(without_twice_rounded(values))):
        short, full = bodies(frame)
        short_lines, full_lines = short.splitlines(True), full.splitlines(True)
        for size in (ROWS_PER_BODY, SMALL_ROWS):
            for start in range(0, min(len(short_lines), 10 * size), size):
                for text in (short_lines, full_lines):
                    body = base64.b64encode("".join(text[start : start + size]).encode())
                    case = {"op": "decode", "body": body.decode(), "content_type": "text/csv"}
                    cases.append(case)
    return cases


@pytest.mark.slow
@pytest.mark.parametrize("image", sorted(IMAGES))
def test_the_container_reads_short_text_as_the_same_float32_under_the_images_numpy(
    image: str,
) -> None:
    runtime = faithful_runtime(IMAGES[image])
    folder = reference_folder(runtime)
    cases = decode_cases()
    answers = ask(
        runtime,
        HERE / "runtime_side.py",
        cases,
        [folder, HERE],
        PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION="python",
    )
    for short, full in zip(answers[::2], answers[1::2], strict=True):
        assert full["theirs"]["dtype"] == "float32"
        assert short["theirs"] == full["theirs"]  # the container's own decode, bit for bit
        assert short["ours"] == full["theirs"]  # and the profile's
