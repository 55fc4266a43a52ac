"""Every setting, declared once: its option (flag `--sm-NAME`, ini key `sm_NAME`, kind, default,
help), how its value is checked and converted, and the `Settings` field it fills, in one table
grouped by concern. Validated once at start-up, so a bad value stops the run before any AWS call.

No pytest here: settings/pytest_config.py registers the options and reads them from a
pytest.Config; a bad value raises `SettingsError`, which it turns into pytest.UsageError."""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_smendpoint.errors import SettingsError
from pytest_smendpoint.settings.ages import parse_age
from pytest_smendpoint.settings.endpoint_kinds import (
    ASYNC_DEFAULT_INVOCATION_TIMEOUT,
    ASYNC_MAX_INVOCATION_TIMEOUT,
    SERVERLESS_DEFAULT_MAX_CONCURRENCY,
    SERVERLESS_MAX_CONCURRENCY,
    SERVERLESS_MEMORY_SIZES,
    AsyncSettings,
    EndpointKind,
    ServerlessSettings,
    capacity,
)
from pytest_smendpoint.settings.environment import MASK, ContainerEnvironment, as_environment
from pytest_smendpoint.settings.formats import (
    IMAGE_RULE,
    MEDIA_TYPE_RULE,
    is_image_uri,
    is_media_type,
)
from pytest_smendpoint.settings.limits import (
    MEGABYTE,
    PAYLOAD_CEILING_MB,
    SERVERLESS_PAYLOAD_BUDGET_BYTES,
    TRANSFORM_MAX_INVOCATION_TIMEOUT,
    TRANSFORM_MAX_PAYLOAD_MB,
    TRANSFORM_MAX_RETRIES,
)
from pytest_smendpoint.settings.paths import unwritable_reason
from pytest_smendpoint.settings.patterns import LazyPattern

# SageMaker's rule for endpoint, endpoint config and model names.
RESOURCE_NAME = LazyPattern(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
ROLE_ARN = LazyPattern(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
ROLE_NAME = LazyPattern(r"^[\w+=,.@-]{1,64}$")
REGION = LazyPattern(r"^[a-z]{2}(-[a-z]+)+-\d+$")
ENV_KEY = LazyPattern(r"^[a-zA-Z_][a-zA-Z0-9_]{0,1023}$")
S3_URI = LazyPattern(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+$")
# The backends, each a module of aws/backends/ of the same name (the registry: a new backend is
# that module and its name here). The first is the default.
BACKENDS = ("moto", "aws")
# The smallest request budget that makes sense: a CSV row of a few dozen features fits in 1 KB.
MIN_PAYLOAD_MB = 0.001
# ml.<family>.<size>, e.g. ml.m5.large, ml.g5.12xlarge, ml.inf2.xlarge.
NUMBER = LazyPattern(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
INSTANCE_TYPE = LazyPattern(r"^ml\.[a-z][a-z0-9-]*\.[a-z0-9]+$")
MODEL_SOURCE_OPTIONS = ("model_data", "training_job", "existing_endpoint")
# InitialInstanceCount has no maximum in SageMaker's API model (botocore's InitialTaskCount:
# integer, min 1), but it is the API's Integer type: 32-bit signed. Account quotas are lower
# and SageMaker checks those itself.
MAX_INSTANCE_COUNT = 2**31 - 1
# sm_invoke keeps this many requests in flight at most: each is a thread and a pooled HTTPS
# connection (botocore's pool is sized to it), and one instance's model server works on a few
# requests at a time (one worker per vCPU): beyond a few dozen, requests only queue.
MAX_CONCURRENCY = 64
MAX_TRANSFORM_SHARDS = 10_000


# CI systems' run identifiers, in the order they are looked for, for the default run label.
# GitHub Actions' job summary file: every step may append Markdown to it.
STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"
CI_RUN_VARIABLES = (
    "GITHUB_RUN_ID",
    "CI_PIPELINE_ID",
    "BUILDKITE_BUILD_ID",
    "CIRCLE_WORKFLOW_ID",
    "CODEBUILD_BUILD_ID",
    "BUILD_TAG",
)
GATE = LazyPattern(
    r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|==|>|<)\s*(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*$"
)
S3_PREFIX_URI = LazyPattern(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
TAG_VALUE = LazyPattern(r"^[\w.:/=+\-@ ]{1,256}$")
# How an option's raw value becomes what it fills: (validator, option name) -> the value, or a
# tuple of values when the option fills several fields.
Convert = Callable[["_Validator", str], Any]


@dataclass(frozen=True)
class OptionSpec:
    """One setting: its name (`--sm-<name>` / `sm_<name>`), kind, default and help; how its value
    is checked and converted (default: stripped text); the Settings fields it fills (default: its
    name; `invoke.X` is InvokeSettings's field X)."""

    name: str
    help: str
    kind: str = "str"  # str | int | float | bool | list | choice | optional
    default: Any = None
    choices: tuple[str, ...] = ()
    convert: Convert | None = field(default=None, repr=False, compare=False)
    fills: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.fills:
            object.__setattr__(self, "fills", (self.name,))

    @property
    def flag(self) -> str:
        return "--sm-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "sm_" + self.name


@dataclass(frozen=True)
class RawValue:
    """A setting's value as given, and where it came from, for error messages."""

    value: Any
    source: str  # "command line" | "ini" | "default"

    def describe(self, spec: OptionSpec, inifile: str) -> str:
        value = _masked_entries(self.value) if spec.name == "env" else self.value
        shown = ", ".join(value) if isinstance(value, list) else value
        if isinstance(shown, str) and not shown.isprintable():  # a CR/LF must not split the line
            shown = repr(shown)
        if self.source == "command line":
            return f"{spec.flag}={shown} (command line)"
        if self.source == "ini":
            return f"{spec.ini} = {shown} in {inifile}"
        if self.source != "default":  # a per-endpoint override: the source names the caller
            return f"{spec.name}={value!r} ({self.source})"
        return f"{spec.flag} (default {self.value})"


@dataclass(frozen=True)
class Gate:
    """A threshold on a recorded metric or a latency figure: `auc >= 0.92`."""

    metric: str
    operator: str  # one of >=, <=, ==, >, <
    threshold: float
    # As the user wrote it (stripped), so `rows>=100000000` is never shown as `rows>=1e+08`.
    text: str = field(default="", compare=False)

    def __str__(self) -> str:
        return self.text or f"{self.metric}{self.operator}{self.threshold:g}"


class _Validator:
    """Turns raw values into a Settings; every message names the option and where it was set."""

    def __init__(self, raw: dict[str, RawValue], inifile: str, cwd: Path, inidir: Path) -> None:
        self.raw = raw
        self.inifile = inifile
        self.cwd = cwd
        self.inidir = inidir

    def fail(self, name: str, problem: str) -> SettingsError:
        spec = OPTIONS_BY_NAME[name]
        return SettingsError(f"{self.raw[name].describe(spec, self.inifile)}: {problem}")

    def text(self, name: str) -> str | None:
        value = self.raw[name].value
        if value is None:
            return None
        value = str(value).strip()
        if not value:
            raise self.fail(name, "must not be empty")
        return value

    def positive_int(self, name: str) -> int | None:
        value = self.raw[name].value
        if value is None:
            return None
        try:
            number = int(str(value).strip())
        except ValueError:
            raise self.fail(name, "must be a positive integer") from None
        if number <= 0:
            raise self.fail(name, "must be a positive integer")
        return number

    def bounded_int(self, name: str, ceiling: int, whose: str) -> int | None:
        """A positive integer no larger than `ceiling` (`whose` limit it is, for the message)."""
        number = self.positive_int(name)
        if number is not None and number > ceiling:
            raise self.fail(name, f"must be at most {ceiling} ({whose} limit)")
        return number

    def int_between(self, name: str, low: int, high: int, whose: str) -> int | None:
        """An integer from `low` to `high` (`whose` bounds they are, for the message)."""
        value = self.raw[name].value
        if value is None:
            return None
        try:
            number = int(str(value).strip())
        except ValueError:
            raise self.fail(name, f"must be an integer from {low} to {high} ({whose})") from None
        if not low <= number <= high:
            raise self.fail(name, f"must be an integer from {low} to {high} ({whose})")
        return number

    def serverless_memory(self, name: str) -> int | None:
        """MemorySizeInMB: one of SageMaker's six sizes (3000 is not one)."""
        value = self.raw[name].value
        if value is None:
            return None
        sizes = ", ".join(map(str, SERVERLESS_MEMORY_SIZES))
        try:
            number = int(str(value).strip())
        except ValueError:
            number = None
        if number not in SERVERLESS_MEMORY_SIZES:
            raise self.fail(name, f"must be one of {sizes} (SageMaker's MemorySizeInMB)")
        return number

    def transform_instance_type(self, name: str) -> str:
        """A Batch Transform instance type: one botocore's SageMaker model lists (the service's
        own enum, TransformInstanceType), so a typo fails here, not after the upload."""
        value = self.or_default(
            name,
            self.checked(
                name, INSTANCE_TYPE.match, "must be a SageMaker instance type such as ml.m5.large"
            ),
        )
        if self.raw[name].source == "default":
            return str(value)
        known = transform_instance_types()
        if known and value not in known:
            raise self.fail(
                name,
                "is not an instance type Batch Transform offers (botocore's SageMaker model "
                "lists the TransformInstanceType values, e.g. ml.m5.large, ml.c5.xlarge)",
            )
        return str(value)

    def s3_prefix(self, name: str) -> str | None:
        value = self.text(name)
        if value is not None and not S3_PREFIX_URI.match(value):
            raise self.fail(name, "must be an s3://bucket/prefix URI")
        return value

    def serve_command(self, name: str) -> tuple[str | None, str]:
        """The command and the folder it runs from. Split as it will be when the server starts
        (serving/byo.py), so a stray quote is found now, not after the deploy."""
        value = self.text(name)
        folder = str(self.inidir if self.raw[name].source == "ini" else self.cwd)
        if value is None:
            return None, folder
        try:
            words = shlex.split(value)
        except ValueError as error:
            raise self.fail(name, f"cannot be split into words: {error}") from None
        if not words:
            raise self.fail(name, "names no program")
        return value, folder

    def accept(self, name: str) -> str:
        """Sent as the Accept header of every request: one media type, no CR or LF."""
        raw = self.raw[name].value
        if raw is not None and ("\r" in str(raw) or "\n" in str(raw)):
            raise self.fail(name, "must not contain a CR or LF (it is an HTTP header)")
        return self.checked(name, is_media_type, MEDIA_TYPE_RULE) or default(name)

    def variant_seconds(self, name: str) -> int | None:
        """SageMaker accepts 60 to 3600 s for the production variant's timeouts."""
        seconds = self.positive_int(name)
        if seconds is not None and not 60 <= seconds <= 3600:
            raise self.fail(name, "must be between 60 and 3600 seconds (SageMaker's range)")
        return seconds

    def checked(self, name: str, test: Callable[[str], object], problem: str) -> str | None:
        value = self.text(name)
        if value is not None and not test(value):
            raise self.fail(name, problem)
        return value

    def settings(self) -> Settings:
        """Every option through its converter, in the table's order, into the fields it fills;
        then the rules between options."""
        self.one_model_source()
        fields: dict[str, Any] = {}
        groups: dict[str, dict[str, Any]] = {
            "invoke": {},
            "transform": {},
            "serverless": {},
            "async_inference": {},
        }
        for spec in OPTIONS:
            value: Any = (spec.convert or _text)(self, spec.name)
            values = value if len(spec.fills) > 1 else (value,)
            for target, item in zip(spec.fills, values, strict=True):
                group, _, name = target.rpartition(".")
                (groups[group] if group else fields)[name] = item
        settings = Settings(
            **fields,
            invoke=InvokeSettings(**groups["invoke"]),
            transform=TransformSettings(**groups["transform"]),
            serverless=ServerlessSettings(**groups["serverless"]),
            async_inference=AsyncSettings(**groups["async_inference"]),
            step_summary_path=self.step_summary_path(),
        )
        if settings.sweep_delete and settings.sweep_age_seconds is None:
            raise self.fail("sweep_delete", "goes with --sm-sweep[=AGE]")
        if settings.model_data and not settings.image_uri:
            raise self.fail("model_data", "needs --sm-image-uri (or sm_image_uri) as well")
        settings = self.endpoint_kind_rules(settings)
        transform = settings.transform
        if (
            transform.max_payload_mb is not None
            and transform.max_concurrent is not None
            and transform.max_payload_mb * transform.max_concurrent > TRANSFORM_MAX_PAYLOAD_MB
        ):
            raise self.fail(
                "transform_max_payload_mb",
                f"times --sm-transform-max-concurrent={transform.max_concurrent} is more than "
                f"{TRANSFORM_MAX_PAYLOAD_MB} (SageMaker's limit on MaxPayloadInMB x "
                "MaxConcurrentTransforms)",
            )
        return settings

    def endpoint_kind_rules(self, settings: Settings) -> Settings:
        """The rules between the serverless and asynchronous options; fills their defaults."""
        serverless, asynchronous = settings.serverless, settings.async_inference
        if serverless.memory_mb is None:
            for name in ("serverless_max_concurrency", "serverless_provisioned_concurrency"):
                if self.raw[name].value is not None:
                    raise self.fail(name, "goes with --sm-serverless-memory-mb")
        else:
            ceiling = serverless.max_concurrency or SERVERLESS_DEFAULT_MAX_CONCURRENCY
            provisioned = serverless.provisioned_concurrency
            if provisioned is not None and provisioned > ceiling:
                raise self.fail(
                    "serverless_provisioned_concurrency",
                    f"must be at most the endpoint's MaxConcurrency ({ceiling})",
                )
            serverless = dataclasses.replace(serverless, max_concurrency=ceiling)
            # sm_invoke keeps any budget to a serverless endpoint's 4 MB (a factory endpoint's
            # session may ask for more); a larger budget asked for by name alongside
            # --sm-serverless-memory-mb cannot be kept, so it is refused, not clamped.
            payload = self.raw["max_payload_mb"]
            if (
                payload.source != "default"
                and payload.value is not None
                and settings.invoke.max_payload_bytes > SERVERLESS_PAYLOAD_BUDGET_BYTES
            ):
                raise self.fail(
                    "max_payload_mb",
                    f"is above {SERVERLESS_PAYLOAD_BUDGET_BYTES // MEGABYTE}, a serverless "
                    "endpoint's payload limit (--sm-serverless-memory-mb)",
                )
        if asynchronous.output_path is not None:
            asynchronous = dataclasses.replace(asynchronous, enabled=True)
        if not asynchronous.enabled:
            for name in (
                "async_failure_path",
                "async_max_concurrent_invocations",
                "async_invocation_timeout",
            ):
                given = self.raw[name]
                if given.value is not None and given.source != "default":
                    raise self.fail(name, "goes with --sm-async (or --sm-async-output-path)")
        if asynchronous.enabled and serverless.enabled:
            raise self.fail(
                "serverless_memory_mb",
                "and --sm-async are both given: SageMaker's asynchronous endpoints are "
                "instance-backed, choose one kind of endpoint",
            )
        return dataclasses.replace(settings, serverless=serverless, async_inference=asynchronous)

    def one_model_source(self) -> None:
        sources = [n for n in MODEL_SOURCE_OPTIONS if self.raw[n].value is not None]
        if len(sources) > 1:
            if self.raw[sources[0]].source == "ini":
                names = " and ".join(OPTIONS_BY_NAME[n].ini for n in sources)
                where = f"in {self.inifile}"
            else:
                names = " and ".join(OPTIONS_BY_NAME[n].flag for n in sources)
                where = "(command line)"
            both = "both" if len(sources) == 2 else "all"
            raise SettingsError(f"{names} are {both} given {where}: choose one model source")

    def backend(self, name: str) -> str:
        backend = self.text(name) or BACKENDS[0]
        if backend not in BACKENDS:
            raise self.fail(name, f"unknown backend; choose one of {', '.join(BACKENDS)}")
        return backend

    def flag(self, name: str) -> bool:
        return bool(self.raw[name].value)

    def or_default(self, name: str, value: Any) -> Any:
        """`value`, or the option's default when it was not given."""
        return OPTIONS_BY_NAME[name].default if value is None else value

    def choice(self, name: str) -> str:
        spec = OPTIONS_BY_NAME[name]
        value = self.text(name) or spec.default
        if value not in spec.choices:
            raise self.fail(name, f"choose one of {', '.join(spec.choices)}")
        return str(value)

    def image_pythons(self, name: str) -> dict[str, str]:
        """X.Y=PATH entries; a relative PATH is relative to where the option was given."""
        given = self.raw[name]
        base = self.inidir if given.source == "ini" else self.cwd
        found: dict[str, str] = {}
        for entry in given.value or ():
            version, separator, path = str(entry).strip().partition("=")
            if not separator or not re.fullmatch(r"\d+\.\d+", version.strip()) or not path.strip():
                raise self.fail(
                    name,
                    f"{entry!r} is not X.Y=PATH (for example 3.9=/usr/bin/python3.9)",
                )
            resolved = (base / path.strip()).expanduser()
            if not (resolved.is_file() and os.access(resolved, os.X_OK)):
                raise self.fail(name, f"{resolved} is not an executable file")
            found[version.strip()] = str(resolved)
        return found

    def run_label(self, name: str) -> str | None:
        label = self.text(name)
        if label is None:
            label = next((os.environ[v] for v in CI_RUN_VARIABLES if os.environ.get(v)), None)
            return label[:256] if label else None
        if not TAG_VALUE.match(label):
            raise self.fail(
                name,
                "must be a valid AWS tag value (letters, digits, spaces and _.:/=+-@, at most 256)",
            )
        return label

    def sweep_age(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse_age(value)
        except ValueError as error:
            raise self.fail(name, str(error)) from None

    def writable_path(self, name: str) -> str | None:
        """A file the session writes at its end: resolved as --sm-report is, and tried now."""
        value = self.text(name)
        if value is None:
            return None
        path = Path(os.path.expanduser(value))
        if not path.is_absolute():
            path = (self.inidir if self.raw[name].source == "ini" else self.cwd) / path
        problem = unwritable_reason(path)
        if problem is not None:
            raise self.fail(name, problem)
        return str(path)

    def step_summary_path(self) -> str | None:
        """$GITHUB_STEP_SUMMARY, set by GitHub Actions on its runners: the job summary."""
        value = os.environ.get(STEP_SUMMARY_VARIABLE, "").strip()
        if not value:
            return None
        # Appended to, as GitHub documents: a FIFO or device is fine, a symbolic link followed.
        problem = unwritable_reason(Path(value), replaced=False)
        if problem is not None:
            raise SettingsError(f"{STEP_SUMMARY_VARIABLE}={value} (environment): {problem}")
        return value

    def gates(self, name: str) -> tuple[Gate, ...]:
        gates = []
        for item in self.raw[name].value or ():
            match = GATE.match(str(item))
            if not match:
                raise self.fail(
                    name, f"{item!r} is not METRIC OP NUMBER, e.g. auc>=0.92 or p99_ms<=200"
                )
            metric, operator, number = match.groups()
            gates.append(Gate(metric, operator, float(number), str(item).strip()))
        return tuple(gates)

    def resource_name(self, name: str) -> str | None:
        return self.checked(
            name,
            RESOURCE_NAME.match,
            "breaks SageMaker's naming rule ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$ "
            "(letters, digits and hyphens, at most 63)",
        )

    def model_data(self, name: str) -> str | None:
        value = self.text(name)
        if value is None or value.startswith("s3://"):
            if value is not None and not S3_URI.match(value):
                raise self.fail(name, "is not an s3://bucket/key URI")
            return value
        path = Path(os.path.expanduser(value))
        if not path.is_absolute():  # relative to where it was written: the cwd or the ini's folder
            path = (self.inidir if self.raw[name].source == "ini" else self.cwd) / path
        if not path.exists():
            raise self.fail(name, f"no such file or folder: {path}")
        if path.is_file() and not path.name.endswith((".tar.gz", ".tgz")):
            raise self.fail(name, "a local file must be a .tar.gz (or give a folder)")
        return str(path)

    def environment(self, name: str) -> ContainerEnvironment:
        """Messages name the entry by position and key: a value (or an entry without `=`,
        which may be a value pasted alone) is never shown."""
        env: dict[str, str] = {}
        for number, item in enumerate(self.raw[name].value or (), start=1):
            key, sep, value = str(item).partition("=")
            key = key.strip()
            if not sep:
                raise self.fail(name, f"entry {number} is not KEY=VALUE (it has no '='; not shown)")
            if not ENV_KEY.match(key):
                raise self.fail(
                    name,
                    f"entry {number}: {key!r} is not a valid variable name "
                    "(letters, digits and _, not starting with a digit)",
                )
            env[key] = value
        return ContainerEnvironment(env)

    def payload_bytes(self, name: str) -> int:
        """--sm-max-payload-mb, checked in MB against SageMaker's limit, as bytes."""
        max_mb_raw = self.raw[name].value
        try:
            max_mb = float(str(max_mb_raw).strip())
        except ValueError:
            raise self.fail(name, "must be a number of megabytes") from None
        if not MIN_PAYLOAD_MB <= max_mb <= PAYLOAD_CEILING_MB:
            raise self.fail(
                name,
                f"must be at least {MIN_PAYLOAD_MB:g} (1 KB) and at most "
                f"{PAYLOAD_CEILING_MB:g} (SageMaker's real-time payload limit)",
            )
        return int(max_mb * MEGABYTE)

    def labels(self, name: str) -> tuple[tuple[str, ...], bool]:
        """The label columns, and whether the user named them ('label' is only a guess)."""
        labels = tuple(self._split_list(name))
        return labels or ("label",), bool(labels)

    def features(self, name: str) -> tuple[str, ...] | int | None:
        items = self._split_list(name)
        if len(items) == 1 and _is_number(items[0]):
            # One number is a count (a column named "-3" or "2.5" is no real column name).
            if not items[0].isdigit() or int(items[0]) <= 0:
                raise self.fail(name, "a feature count must be a positive integer")
            return int(items[0])
        return tuple(items) if items else None

    def _split_list(self, name: str) -> list[str]:
        """List options take repeats and comma-separated values alike; an empty value or an
        empty name between commas is a mistake, not "nothing" (that would silently mean
        the default)."""
        items: Sequence[str] = self.raw[name].value or ()
        parts: list[str] = []
        for item in items:
            if not str(item).strip():
                raise self.fail(name, "must not be empty")
            names = [part.strip() for part in str(item).split(",")]
            if not all(names):
                raise self.fail(name, "has an empty column name (names are separated by commas)")
            parts += names
        return parts


def transform_instance_types() -> frozenset[str]:
    """TransformInstanceType's values in the installed botocore's SageMaker model (loaded only
    when the option is given: start-up cost); empty if botocore no longer names the shape."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    try:
        return frozenset(model.shape_for("TransformInstanceType").enum)
    except Exception:  # a renamed shape must not make every instance type an error
        return frozenset()


def _text(validator: _Validator, name: str) -> str | None:
    return validator.text(name)


def _is_role(value: str) -> bool:
    return bool(ROLE_ARN.match(value) or ROLE_NAME.match(value))


# The options, grouped by what they configure. The order is `pytest --help`'s and the options
# page's, and the order in which values are checked (the first bad one is reported).
OPTION_GROUPS: Mapping[str, tuple[OptionSpec, ...]] = {
    "backend and AWS": (
        OptionSpec(
            "backend",
            "moto (mocked account, offline; default) or aws (real AWS, as boto3 "
            "resolves credentials, region and AWS_ENDPOINT_URL).",
            "choice",
            BACKENDS[0],
            BACKENDS,
            convert=_Validator.backend,
        ),
        OptionSpec(
            "region",
            "AWS region (default: boto3's, else us-east-1 under moto).",
            convert=lambda v, n: v.checked(n, REGION.match, "is not an AWS region name"),
        ),
        OptionSpec(
            "role",
            "IAM role ARN or name for the model (default under moto: a role in the mocked "
            "account).",
            convert=lambda v, n: v.checked(
                n, _is_role, "is neither an IAM role ARN nor a valid role name"
            ),
        ),
    ),
    "model source": (
        OptionSpec(
            "model_data",
            "Model artifacts: s3:// URI, or a local .tar.gz or folder that is "
            "packed and uploaded to s3://sagemaker-{region}-{account}/pytest-smendpoint/.",
            convert=_Validator.model_data,
        ),
        OptionSpec(
            "image_uri",
            "Inference container image URI (with --sm-model-data).",
            convert=lambda v, n: v.checked(n, is_image_uri, IMAGE_RULE),
        ),
        OptionSpec(
            "training_job",
            "Name of a completed training job whose artifacts and image to "
            "deploy, as Estimator.attach(...).deploy() does.",
            convert=lambda v, n: v.checked(
                n, RESOURCE_NAME.match, "is not a valid training job name"
            ),
        ),
        OptionSpec(
            "existing_endpoint",
            "Use this endpoint as it is: nothing is created, changed or deleted.",
            convert=_Validator.resource_name,
        ),
    ),
    "deployment": (
        OptionSpec(
            "endpoint_name",
            "Name of the endpoint (and its config) the session creates (default: unique per "
            "session).",
            convert=_Validator.resource_name,
        ),
        OptionSpec(
            "model_name",
            "Name of the model the session creates (default: unique per session).",
            convert=_Validator.resource_name,
        ),
        OptionSpec(
            "instance_type",
            "Endpoint instance type.",
            "str",
            "ml.m5.large",
            convert=lambda v, n: v.or_default(
                n,
                v.checked(
                    n, INSTANCE_TYPE.match, "must be a SageMaker instance type such as ml.m5.large"
                ),
            ),
        ),
        OptionSpec(
            "instance_count",
            "Endpoint instance count.",
            "int",
            1,
            convert=lambda v, n: v.or_default(
                n, v.bounded_int(n, MAX_INSTANCE_COUNT, "SageMaker's")
            ),
        ),
        OptionSpec(
            "env",
            "Container environment variable KEY=VALUE (repeatable; one per ini line).",
            "list",
            (),
            convert=_Validator.environment,
        ),
        OptionSpec(
            "model_data_download_timeout",
            "Seconds SageMaker may take to download the model (ModelDataDownloadTimeoutInSeconds).",
            "int",
            convert=_Validator.variant_seconds,
        ),
        OptionSpec(
            "container_startup_health_check_timeout",
            "Seconds the container may take to pass "
            "its first /ping (ContainerStartupHealthCheckTimeoutInSeconds).",
            "int",
            convert=_Validator.variant_seconds,
        ),
        OptionSpec(
            "deploy_timeout",
            "Seconds to wait for the endpoint to be InService.",
            "int",
            1800,
            convert=lambda v, n: v.or_default(n, v.positive_int(n)),
        ),
        OptionSpec(
            "keep_endpoint",
            "Do not delete what the session created; print the commands that would.",
            "bool",
            False,
            convert=_Validator.flag,
        ),
        OptionSpec(
            "run_label",
            "Label of this test run, tagged on everything created (default: from CI variables "
            "such as GITHUB_RUN_ID).",
            convert=_Validator.run_label,
        ),
    ),
    "serving under moto": (
        OptionSpec(
            "serve_command",
            "Under moto: run this serving program (answering GET /ping and POST /invocations on "
            "{port}; {model_dir} and {python} are filled in too) from the folder the option was "
            "given in, instead of the inference-handler contract.",
            convert=_Validator.serve_command,
            fills=("serve_command", "serve_directory"),
        ),
        OptionSpec(
            "image_packages",
            "Under moto, whose Python and packages serve the model: image (the image's own "
            "Python version and package versions, installed once into a cache; default) or "
            "test-env (this environment's; every report then says the results are NOT the "
            "image's).",
            "choice",
            "image",
            ("image", "test-env"),
            convert=_Validator.choice,
        ),
        OptionSpec(
            "image_python",
            "The interpreter for an image's Python version, as X.Y=PATH (repeatable), when "
            "pythonX.Y is not on PATH, under pyenv or known to uv.",
            "list",
            (),
            convert=_Validator.image_pythons,
            fills=("image_pythons",),
        ),
    ),
    "invoking (sm_invoke, sm_compare)": (
        OptionSpec(
            "label_column",
            "Label column(s) sm_invoke drops before sending (repeatable; default: "
            "'label' when present).",
            "list",
            (),
            convert=_Validator.labels,
            fills=("invoke.label", "invoke.label_explicit"),
        ),
        OptionSpec(
            "features",
            "Feature columns sm_invoke expects, in order (repeatable), or a count.",
            "list",
            (),
            convert=_Validator.features,
            fills=("invoke.features",),
        ),
        OptionSpec(
            "max_payload_mb",
            "Largest request sm_invoke sends, in MB (at least 0.001, i.e. 1 KB; at most "
            f"{PAYLOAD_CEILING_MB:g}, SageMaker's real-time limit; default 2.5: fewer rows a "
            "request kept the model's work in cache, bench_invoke.py).",
            "float",
            # 2.5, not 5: on bench_invoke's 200,000 rows, 2.5 MB requests took 0.84-0.91 s and
            # 1.44-1.52 s of CPU, 5 MB ones 1.11-1.27 s and 2.1-2.4 s (quiet, 2 cores): the
            # model's own work per row grows with the rows of a request (its arrays outgrow
            # the cache), and smaller requests overlap encoding and serving better.
            2.5,
            convert=_Validator.payload_bytes,
            fills=("invoke.max_payload_bytes",),
        ),
        OptionSpec(
            "max_rows_per_request",
            "Most rows sm_invoke puts in one request.",
            "int",
            convert=_Validator.positive_int,
            fills=("invoke.max_rows_per_request",),
        ),
        OptionSpec(
            "max_concurrency",
            "Requests sm_invoke keeps in flight at once.",
            "int",
            4,
            convert=lambda v, n: v.or_default(n, v.bounded_int(n, MAX_CONCURRENCY, "sm_invoke's")),
            fills=("invoke.max_concurrency",),
        ),
        OptionSpec(
            "accept",
            "Accept type sm_invoke asks the endpoint for.",
            "str",
            "text/csv",
            convert=_Validator.accept,
            fills=("invoke.accept",),
        ),
        OptionSpec(
            "float32_csv",
            "Write each float64 as the shortest text its container reads back as the same "
            "float32, for endpoints whose container decodes CSV to float32 (the scikit-learn "
            "and XGBoost images' default input handling served locally; on SageMaker, the "
            "XGBoost built-in algorithm); --sm-no-float32-csv writes every float64 at full "
            "round-trip precision.",
            "bool",
            True,
            convert=_Validator.flag,
            fills=("invoke.float32_csv",),
        ),
        OptionSpec(
            "baseline_endpoint",
            "An existing endpoint to compare against (sm_baseline_invoke); never modified.",
            convert=_Validator.resource_name,
        ),
    ),
    "serverless endpoints": (
        OptionSpec(
            "serverless_memory_mb",
            "Deploy a serverless endpoint with this much memory (MemorySizeInMB: "
            f"{', '.join(map(str, SERVERLESS_MEMORY_SIZES))}); instance type and count are then "
            "not sent.",
            "int",
            convert=_Validator.serverless_memory,
            fills=("serverless.memory_mb",),
        ),
        OptionSpec(
            "serverless_max_concurrency",
            f"MaxConcurrency of the serverless endpoint, 1 to {SERVERLESS_MAX_CONCURRENCY} "
            f"(default {SERVERLESS_DEFAULT_MAX_CONCURRENCY}, the SageMaker SDK's).",
            "int",
            convert=lambda v, n: v.int_between(
                n, 1, SERVERLESS_MAX_CONCURRENCY, "SageMaker's MaxConcurrency"
            ),
            fills=("serverless.max_concurrency",),
        ),
        OptionSpec(
            "serverless_provisioned_concurrency",
            "ProvisionedConcurrency of the serverless endpoint, 1 to its MaxConcurrency "
            "(default: none).",
            "int",
            convert=lambda v, n: v.int_between(
                n, 1, SERVERLESS_MAX_CONCURRENCY, "SageMaker's ProvisionedConcurrency"
            ),
            fills=("serverless.provisioned_concurrency",),
        ),
    ),
    "asynchronous endpoints": (
        OptionSpec(
            "async",
            "Deploy an asynchronous endpoint (AsyncInferenceConfig); sm_invoke sends each "
            "payload through S3 and InvokeEndpointAsync.",
            "bool",
            False,
            convert=_Validator.flag,
            fills=("async_inference.enabled",),
        ),
        OptionSpec(
            "async_output_path",
            "S3OutputPath of the asynchronous endpoint (implies --sm-async; default: under the "
            "session's prefix in the account's SageMaker bucket).",
            convert=_Validator.s3_prefix,
            fills=("async_inference.output_path",),
        ),
        OptionSpec(
            "async_failure_path",
            "S3FailurePath of the asynchronous endpoint (default: beside the output).",
            convert=_Validator.s3_prefix,
            fills=("async_inference.failure_path",),
        ),
        OptionSpec(
            "async_max_concurrent_invocations",
            "MaxConcurrentInvocationsPerInstance of the asynchronous endpoint (default: "
            "SageMaker's).",
            "int",
            convert=lambda v, n: v.int_between(
                n, 1, 1000, "SageMaker's MaxConcurrentInvocationsPerInstance"
            ),
            fills=("async_inference.max_concurrent_invocations_per_instance",),
        ),
        OptionSpec(
            "async_invocation_timeout",
            "Seconds an asynchronous request may take, 1 to "
            f"{ASYNC_MAX_INVOCATION_TIMEOUT} (InvocationTimeoutSeconds; sm_invoke waits for "
            "the answer as long).",
            "int",
            ASYNC_DEFAULT_INVOCATION_TIMEOUT,
            convert=lambda v, n: v.or_default(
                n,
                v.int_between(
                    n, 1, ASYNC_MAX_INVOCATION_TIMEOUT, "SageMaker's InvocationTimeoutSeconds"
                ),
            ),
            fills=("async_inference.invocation_timeout",),
        ),
    ),
    "batch transform (sm_transform)": (
        OptionSpec(
            "transform_instance_type",
            "Instance type of sm_transform's Batch Transform jobs.",
            "str",
            "ml.m5.large",
            convert=_Validator.transform_instance_type,
            fills=("transform.instance_type",),
        ),
        OptionSpec(
            "transform_instance_count",
            "Instances of each transform job (the input is written in at least as many S3 "
            "objects, so each gets work).",
            "int",
            1,
            convert=lambda v, n: v.or_default(
                n, v.bounded_int(n, MAX_INSTANCE_COUNT, "SageMaker's")
            ),
            fills=("transform.instance_count",),
        ),
        OptionSpec(
            "transform_max_concurrent",
            "MaxConcurrentTransforms: requests in flight per instance (default: what the "
            "container's /execution-parameters says, else 1).",
            "int",
            convert=lambda v, n: v.bounded_int(n, MAX_CONCURRENCY, "sm_transform's"),
            fills=("transform.max_concurrent",),
        ),
        OptionSpec(
            "transform_max_payload_mb",
            "MaxPayloadInMB: largest request of a transform job, in MB, "
            f"0 to {TRANSFORM_MAX_PAYLOAD_MB} (default: the container's, else 6).",
            "int",
            convert=lambda v, n: v.int_between(
                n, 0, TRANSFORM_MAX_PAYLOAD_MB, "SageMaker's MaxPayloadInMB"
            ),
            fills=("transform.max_payload_mb",),
        ),
        OptionSpec(
            "transform_batch_strategy",
            "BatchStrategy: MultiRecord (as many lines per request as MaxPayloadInMB holds) or "
            "SingleRecord (one line per request).",
            "choice",
            "MultiRecord",
            ("MultiRecord", "SingleRecord"),
            convert=_Validator.choice,
            fills=("transform.batch_strategy",),
        ),
        OptionSpec(
            "transform_invocation_timeout",
            "ModelClientConfig InvocationsTimeoutInSeconds, 1 to "
            f"{TRANSFORM_MAX_INVOCATION_TIMEOUT} (default SageMaker's, 600).",
            "int",
            convert=lambda v, n: v.int_between(
                n, 1, TRANSFORM_MAX_INVOCATION_TIMEOUT, "SageMaker's InvocationsTimeoutInSeconds"
            ),
            fills=("transform.invocation_timeout",),
        ),
        OptionSpec(
            "transform_invocation_retries",
            f"ModelClientConfig InvocationsMaxRetries, 0 to {TRANSFORM_MAX_RETRIES} "
            "(default SageMaker's, 3).",
            "int",
            convert=lambda v, n: v.int_between(
                n, 0, TRANSFORM_MAX_RETRIES, "SageMaker's InvocationsMaxRetries"
            ),
            fills=("transform.invocation_retries",),
        ),
        OptionSpec(
            "transform_shards",
            "The fewest S3 objects sm_transform writes a DataFrame or files into (more when "
            "one would pass about 32 MiB; default: the instance count).",
            "int",
            convert=lambda v, n: v.bounded_int(n, MAX_TRANSFORM_SHARDS, "sm_transform's"),
            fills=("transform.shards",),
        ),
        OptionSpec(
            "transform_output",
            "S3 prefix for the jobs' output (default: under the session's prefix in the "
            "account's SageMaker bucket).",
            convert=_Validator.s3_prefix,
            fills=("transform.output_path",),
        ),
        OptionSpec(
            "transform_timeout",
            "Seconds to wait for a transform job to end.",
            "int",
            3600,
            convert=lambda v, n: v.or_default(n, v.positive_int(n)),
            fills=("transform.timeout",),
        ),
        OptionSpec(
            "transform_keep_data",
            "Keep the S3 input and output sm_transform wrote (default: deleted at teardown).",
            "bool",
            False,
            convert=_Validator.flag,
            fills=("transform.keep_data",),
        ),
    ),
    "sweep": (
        OptionSpec(
            "sweep",
            "List endpoints, endpoint configs and models tagged by pytest-smendpoint that are "
            "older than AGE (e.g. 30m, 6h, 2d; default 6h), then exit without running tests.",
            "optional",
            convert=_Validator.sweep_age,
            fills=("sweep_age_seconds",),
        ),
        OptionSpec(
            "sweep_delete",
            "With --sm-sweep: delete what it lists.",
            "bool",
            False,
            convert=_Validator.flag,
        ),
    ),
    "reports and gates": (
        OptionSpec(
            "report",
            "Write the session report as JSON to this path.",
            convert=_Validator.writable_path,
            fills=("report_path",),
        ),
        OptionSpec(
            "summary_md",
            "Write the session summary as Markdown to this path (it is also appended to "
            "$GITHUB_STEP_SUMMARY when that is set).",
            convert=_Validator.writable_path,
            fills=("summary_md_path",),
        ),
        OptionSpec(
            "report_html",
            "Write the session report as a self-contained HTML page to this path (with "
            "pytest-html, its --html report gets the same section).",
            convert=_Validator.writable_path,
            fills=("report_html_path",),
        ),
        OptionSpec(
            "gate",
            "A threshold the session must meet, e.g. 'auc>=0.92' or 'p99_ms<=200' (repeatable).",
            "list",
            (),
            convert=_Validator.gates,
            fills=("gates",),
        ),
    ),
}
OPTIONS: tuple[OptionSpec, ...] = tuple(s for group in OPTION_GROUPS.values() for s in group)
OPTIONS_BY_NAME: Mapping[str, OptionSpec] = {spec.name: spec for spec in OPTIONS}


# Old spellings still read, with a deprecation warning: old name -> the option it now is.
# (`--sm-label` read too much like `--sm-run-label`, which is a tag, not a column.)
DEPRECATED_NAMES: Mapping[str, str] = {"label": "label_column"}


def default(name: str) -> Any:
    """An option's default, as the options table declares it (the one place it is written)."""
    return OPTIONS_BY_NAME[name].default


@dataclass(frozen=True)
class InvokeSettings:
    """How sm_invoke splits, sends and checks a DataFrame."""

    label: tuple[str, ...] = ()
    label_explicit: bool = False
    features: tuple[str, ...] | int | None = None
    max_payload_bytes: int = int(default("max_payload_mb") * MEGABYTE)
    max_rows_per_request: int | None = None
    max_concurrency: int = default("max_concurrency")
    accept: str = default("accept")
    # Shorter CSV for endpoints that decode it to float32 (invoke/csv_payloads.py).
    float32_csv: bool = default("float32_csv")


@dataclass(frozen=True)
class TransformSettings:
    """How sm_transform runs Batch Transform jobs (None: SageMaker's or the container's own)."""

    instance_type: str = default("transform_instance_type")
    instance_count: int = default("transform_instance_count")
    max_concurrent: int | None = None
    max_payload_mb: int | None = None
    batch_strategy: str = default("transform_batch_strategy")
    invocation_timeout: int | None = None
    invocation_retries: int | None = None
    shards: int | None = None
    output_path: str | None = None
    timeout: int = default("transform_timeout")
    keep_data: bool = default("transform_keep_data")


@dataclass(frozen=True)
class Settings:
    """The whole configuration of a run, validated; built once in pytest_configure. Each field
    is filled by the option whose `fills` names it (OPTION_GROUPS); the defaults here are for
    a Settings built directly, and are the table's."""

    backend: str = default("backend")
    region: str | None = None
    role: str | None = None
    model_data: str | None = None
    image_uri: str | None = None
    training_job: str | None = None
    existing_endpoint: str | None = None
    endpoint_name: str | None = None
    model_name: str | None = None
    instance_type: str = default("instance_type")
    instance_count: int = default("instance_count")
    env: Mapping[str, str] = field(default_factory=ContainerEnvironment)  # values never shown
    model_data_download_timeout: int | None = None
    container_startup_health_check_timeout: int | None = None
    deploy_timeout: int = default("deploy_timeout")
    keep_endpoint: bool = default("keep_endpoint")
    serve_command: str | None = None
    serve_directory: str | None = None  # the folder --sm-serve-command is relative to
    image_packages: str = default("image_packages")
    image_pythons: Mapping[str, str] = field(default_factory=dict)  # "3.9" -> an interpreter
    invoke: InvokeSettings = field(default_factory=InvokeSettings)
    transform: TransformSettings = field(default_factory=TransformSettings)
    serverless: ServerlessSettings = field(default_factory=ServerlessSettings)
    async_inference: AsyncSettings = field(default_factory=AsyncSettings)
    run_label: str | None = None
    sweep_age_seconds: int | None = None  # set: run the sweep instead of the tests
    sweep_delete: bool = False
    baseline_endpoint: str | None = None
    report_path: str | None = None
    gates: tuple[Gate, ...] = ()
    summary_md_path: str | None = None  # --sm-summary-md: written whole
    step_summary_path: str | None = None  # $GITHUB_STEP_SUMMARY: appended to
    report_html_path: str | None = None

    def __post_init__(self) -> None:
        # However it was given (a dict, a mappingproxy), the environment prints masked.
        object.__setattr__(self, "env", as_environment(self.env))

    @property
    def endpoint_kind(self) -> EndpointKind:
        """Which kind of endpoint the session deploys (the options say; real-time by default)."""
        if self.serverless.enabled:
            return EndpointKind.SERVERLESS
        if self.async_inference.enabled:
            return EndpointKind.ASYNC
        return EndpointKind.REAL_TIME

    @property
    def capacity(self) -> str:
        """What the session's endpoint runs on, in one phrase (endpoint_kinds.capacity)."""
        return capacity(
            self.instance_type,
            self.instance_count,
            self.serverless,
            asynchronous=self.async_inference.enabled,
        )

    @property
    def model_source(self) -> str | None:
        """A one-line description of where the model comes from, or None when nothing says."""
        if self.existing_endpoint:
            return f"existing endpoint {self.existing_endpoint}"
        if self.training_job:
            return f"training job {self.training_job}"
        if self.model_data:
            return f"model data {self.model_data}"
        return None


def _is_number(text: str) -> bool:
    return NUMBER.fullmatch(text) is not None


def _masked_entries(value: Any) -> Any:
    """`--sm-env` entries as they may be shown: `KEY=***`, or `***` for an entry without `=`."""
    if not isinstance(value, list):
        return value
    shown = []
    for item in value:
        key, sep, _ = str(item).partition("=")
        shown.append(f"{key}={MASK}" if sep else MASK)
    return shown


def validate(raw: dict[str, RawValue], inifile: str, cwd: Path, inidir: Path) -> Settings:
    """Every raw value (by option name) checked and converted into one Settings; raises
    SettingsError naming the first bad option and where it was set."""
    return _Validator(raw, inifile, cwd, inidir).settings()


def validate_overrides(values: Mapping[str, Any], source: str, base_dir: Path) -> Settings:
    """Check some options' values by the options' own rules (per-endpoint overrides, see
    factory.py): a Settings with those fields validated and every other field at its default.
    Raises ValueError with the option's own message, naming `source` as where it was set."""
    raw = {spec.name: RawValue(spec.default, "default") for spec in OPTIONS}
    raw.update((name, RawValue(value, source)) for name, value in values.items())
    try:
        return validate(raw, "the ini file", base_dir, base_dir)
    except SettingsError as error:
        raise ValueError(str(error)) from None
