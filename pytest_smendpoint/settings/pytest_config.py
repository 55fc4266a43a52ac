"""The pytest side of the settings (options.py): register every option as a flag and an ini key,
read each value with where it came from, and turn a SettingsError into pytest.UsageError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_smendpoint.errors import SettingsError
from pytest_smendpoint.settings.ages import DEFAULT_SWEEP_AGE
from pytest_smendpoint.settings.options import (
    DEPRECATED_NAMES,
    MODEL_SOURCE_OPTIONS,
    OPTIONS,
    OPTIONS_BY_NAME,
    OptionSpec,
    RawValue,
    Settings,
    validate,
)


def add_options(parser: pytest.Parser) -> None:
    """Register every setting as a CLI option and an ini key, in one help group."""
    group = parser.getgroup("smendpoint", "SageMaker endpoint testing (pytest-smendpoint)")
    for spec in OPTIONS:
        kwargs: dict[str, Any] = {"dest": spec.ini, "default": None, "help": spec.help}
        if spec.kind == "bool":
            kwargs["action"] = "store_const"
            kwargs["const"] = True
        elif spec.kind == "list":
            kwargs["action"] = "append"
        elif spec.kind == "optional":  # `--sm-sweep` alone, or `--sm-sweep=2d`
            kwargs["nargs"] = "?"
            kwargs["const"] = DEFAULT_SWEEP_AGE
        # Choices are checked by the validator, not argparse, so that the CLI and the ini
        # give the same message.
        group.addoption(spec.flag, **kwargs)
        if spec.kind == "bool":  # `--sm-no-NAME` turns off what the ini turned on
            group.addoption(
                spec.flag.replace("--sm-", "--sm-no-", 1),
                dest=spec.ini,
                action="store_const",
                const=False,
                default=None,
                help=f"Override {spec.ini} from ini.",
            )
        ini_type = {"bool": "bool", "list": "linelist"}.get(spec.kind, "string")
        parser.addini(spec.ini, spec.help, type=ini_type, default=None)  # type: ignore[arg-type]
    for old, new in DEPRECATED_NAMES.items():
        spec = OPTIONS_BY_NAME[new]
        note = f"Deprecated spelling of {spec.flag}."
        old_spec = OptionSpec(old, note, spec.kind)
        action = "append" if spec.kind == "list" else "store"
        group.addoption(old_spec.flag, dest=old_spec.ini, default=None, action=action, help=note)
        ini_type = "linelist" if spec.kind == "list" else "string"
        parser.addini(old_spec.ini, note, type=ini_type, default=None)  # type: ignore[arg-type]


def read_raw(config: pytest.Config) -> dict[str, RawValue]:
    """Each setting's value by precedence: command line, then ini, then default."""
    raw: dict[str, RawValue] = {}
    for spec in OPTIONS:
        cli = config.getoption(spec.ini)
        if cli is not None:
            raw[spec.name] = RawValue(cli, "command line")
            continue
        try:
            ini = config.getini(spec.ini)
        except (ValueError, pytest.UsageError) as error:  # a bool key that is not a truth value
            inifile = config.inipath.name if config.inipath else "the ini file"
            raise pytest.UsageError(f"{spec.ini} in {inifile}: {error}") from None
        if ini is not None and ini != [] and ini != "":
            raw[spec.name] = RawValue(ini, "ini")
        else:
            raw[spec.name] = RawValue(spec.default, "default")
    for old, new in DEPRECATED_NAMES.items():
        given = _deprecated_value(config, old, new)
        # An old spelling counts as its source does: never over the new one from the same place.
        if given is not None and (raw[new].source, given.source) in _OLD_SPELLING_WINS:
            raw[new] = given
    return raw


_OLD_SPELLING_WINS = {("default", "command line"), ("default", "ini"), ("ini", "command line")}


def _deprecated_value(config: pytest.Config, old: str, new: str) -> RawValue | None:
    """The value given under an old spelling, with a deprecation warning naming the new one."""
    old_spec, spec = OptionSpec(old, ""), OPTIONS_BY_NAME[new]
    cli = config.getoption(old_spec.ini)
    ini = config.getini(old_spec.ini)
    if cli is not None:
        value, where, shown = cli, "command line", old_spec.flag
    elif ini is not None and ini != [] and ini != "":
        value, where, shown = ini, "ini", old_spec.ini
    else:
        return None
    instead = spec.flag if where == "command line" else spec.ini
    config.issue_config_time_warning(
        pytest.PytestDeprecationWarning(f"{shown} is deprecated: use {instead}"), stacklevel=2
    )
    return RawValue(value, where)


def build_settings(config: pytest.Config) -> Settings:
    """Read and validate every setting; raise pytest.UsageError naming the first bad one."""
    inifile = config.inipath.name if config.inipath else "the ini file"
    cli_sources = [n for n in MODEL_SOURCE_OPTIONS if config.getoption("sm_" + n) is not None]
    raw = read_raw(config)
    if cli_sources:  # a source on the command line replaces every source from the ini
        for name in MODEL_SOURCE_OPTIONS:
            if name not in cli_sources:
                raw[name] = RawValue(None, "default")
    cwd = Path(config.invocation_params.dir)
    inidir = config.inipath.parent if config.inipath else cwd
    try:
        return validate(raw, inifile, cwd, inidir)
    except SettingsError as error:
        raise pytest.UsageError(str(error)) from None
