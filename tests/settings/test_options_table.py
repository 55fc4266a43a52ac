"""The options table is the one place an option is written: every Settings field is filled by
exactly one option, and the table's module works without pytest."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

from pytest_smendpoint.settings.endpoint_kinds import AsyncSettings, ServerlessSettings
from pytest_smendpoint.settings.options import OPTIONS, InvokeSettings, Settings, TransformSettings

# Not options: the nested group, and $GITHUB_STEP_SUMMARY (read from the environment).
NOT_FROM_AN_OPTION = {
    "invoke",
    "transform",
    "serverless",
    "async_inference",
    "step_summary_path",
}


def test_every_settings_field_is_filled_by_exactly_one_option() -> None:
    filled = [target for spec in OPTIONS for target in spec.fills]
    fields = {f.name for f in dataclasses.fields(Settings)} - NOT_FROM_AN_OPTION
    fields |= {f"invoke.{f.name}" for f in dataclasses.fields(InvokeSettings)}
    fields |= {f"transform.{f.name}" for f in dataclasses.fields(TransformSettings)}
    fields |= {f"serverless.{f.name}" for f in dataclasses.fields(ServerlessSettings)}
    fields |= {f"async_inference.{f.name}" for f in dataclasses.fields(AsyncSettings)}
    assert sorted(filled) == sorted(fields)


def test_the_options_table_imports_no_pytest() -> None:
    code = (
        "import sys, pytest_smendpoint.settings.options; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
