"""sm_transform: the session's model over a data set of any size, as a SageMaker Batch Transform
job. The same contract as sm_invoke (labels dropped, features checked, the same CSV and parsing,
predictions aligned with the input's index), with S3 between: the input written in shards under
the session's prefix, one job per call, its `.out` objects read back in order.

Nothing is left behind: a call deletes its S3 input and output once it has read them (and on
failure), unless --sm-transform-keep-data; at the session's end every job still running is
stopped, what remains of the session's transform data is deleted, and the model the jobs ran is
deleted when the session created it. Everything created carries the session's tags and liveness
mark, so --sm-sweep finds what a killed run left.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import pandas as pd

from pytest_smendpoint.aws.models import create_model, delete_model
from pytest_smendpoint.aws.records import TransformRecord
from pytest_smendpoint.aws.resolve import ExistingEndpoint, ModelSpec, aws_context
from pytest_smendpoint.aws.resources import MODEL, TRANSFORM_JOB, cli_command
from pytest_smendpoint.aws.signal_holding import hold_signals, stopping
from pytest_smendpoint.aws.transform_jobs import (
    TransformJobPlan,
    create_transform_job,
    stop_if_running,
    wait_completed,
)
from pytest_smendpoint.aws.uploads import session_key_prefix, split_s3_uri
from pytest_smendpoint.errors import TeardownError, TransformJobError
from pytest_smendpoint.invoke.errors import InvokeArgumentError
from pytest_smendpoint.invoke.frame_checks import frame_rules, prepare
from pytest_smendpoint.settings.limits import TRANSFORM_DEFAULT_PAYLOAD_MB
from pytest_smendpoint.settings.options import TransformSettings, validate_overrides
from pytest_smendpoint.transform.outputs import joined_predictions, output_key
from pytest_smendpoint.transform.shards import LongestRecord, source_of, write_shards

if TYPE_CHECKING:
    from pytest_smendpoint.aws.backends import Backend
    from pytest_smendpoint.settings.naming import SessionIdentity
    from pytest_smendpoint.settings.options import Settings

# Makes a job's progress line: (job name, "type x count", objects done) -> on_status.
ProgressFactory = Callable[[str, str, Callable[[], str]], Callable[[str, float], None]]
# What sm_transform(...) takes as keywords: the --sm-transform-* options without the prefix.
OVERRIDES = tuple(field.name for field in dataclasses.fields(TransformSettings))
_OPTION_OF = {"output_path": "transform_output"}
MEBIBYTE = 2**20
# Below this many rows the float32 text is not asked for: finding out whether the model reads
# float32 loads it once more offline (about 0.3 s), more than the shorter text saves (about
# 0.1 us a value: 0.15 s for 50,000 rows of 30); either text gives the model the same array.
FLOAT32_MIN_ROWS = 50_000


@dataclass(frozen=True)
class TransformOutput:
    """A job's output left in S3 (the input was an s3:// prefix): where, and its objects."""

    job_name: str
    output_uri: str
    keys: tuple[str, ...]


class Transformer:
    """The sm_transform fixture's value: `sm_transform(df_or_files_or_s3_prefix, **overrides)`."""

    def __init__(
        self,
        backend: Backend,
        settings: Settings,
        identity: SessionIdentity,
        model: Callable[[], Any],
        records: list[TransformRecord],
        *,
        base_dir: Path | None = None,
        progress: ProgressFactory | None = None,
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.identity = identity
        self._model = model  # the session's model, resolved on first use
        self.records = records
        self._base_dir = base_dir or Path.cwd()
        self._progress = progress
        self._lock = threading.Lock()
        self._model_name: str | None = None
        self._created_model: str | None = None
        self._jobs: list[str] = []
        self._data: list[str] = []  # s3:// prefixes this session wrote transform data under
        self._held: list[str] = []  # ARNs kept marked alive for a sweep
        self._counter = 0
        self._float32: dict[tuple[str, str], bool] = {}  # (model, instance type): reads float32

    # -- a call -----------------------------------------------------------------------------

    @overload
    def __call__(
        self,
        data: str,
        *,
        label: Hashable | Sequence[Hashable] | None = None,
        features: Sequence[str] | int | None = None,
        allow_nan: bool = False,
        allow_strings: bool = False,
        accept: str | None = None,
        **overrides: Any,
    ) -> pd.Series | pd.DataFrame | TransformOutput: ...

    @overload
    def __call__(
        self,
        data: pd.DataFrame | Path | Sequence[str | Path],
        *,
        label: Hashable | Sequence[Hashable] | None = None,
        features: Sequence[str] | int | None = None,
        allow_nan: bool = False,
        allow_strings: bool = False,
        accept: str | None = None,
        **overrides: Any,
    ) -> pd.Series | pd.DataFrame: ...

    def __call__(
        self,
        data: Any,
        *,
        label: Hashable | Sequence[Hashable] | None = None,
        features: Sequence[str] | int | None = None,
        allow_nan: bool = False,
        allow_strings: bool = False,
        accept: str | None = None,
        **overrides: Any,
    ) -> pd.Series | pd.DataFrame | TransformOutput:
        """Predictions for every row, aligned with the input's index (a DataFrame, or CSV or
        Parquet files: then a RangeIndex over their rows in order); for an s3:// prefix, a
        TransformOutput naming where the job wrote its answers."""
        __tracebackhide__ = True
        options = self._options(overrides)
        rules = frame_rules(self.settings.invoke, label, features, allow_nan, allow_strings)
        accept = accept or self.settings.invoke.accept
        in_s3 = isinstance(data, str) and data.startswith("s3://")
        source = None if in_s3 else source_of(_anchored(data, self._base_dir))
        if source is not None and source.rows == 0:
            if isinstance(data, pd.DataFrame):
                prepare(data, rules)  # sm_invoke's checks: a bad label or feature list says so
            return pd.Series([], index=source.index, dtype="float64")
        model_name = self._session_model()  # before any upload: a bad model fails first
        job_name = self._next_name()
        record = TransformRecord(
            job_name,
            data if in_s3 else source.describe if source is not None else "",
            options.instance_type,
            options.instance_count,
        )
        started = time.perf_counter()
        s3 = self._s3()
        base = self._data_prefix(job_name)
        output = options.output_path or f"{base}/output"
        output = f"{output.rstrip('/')}/{job_name}/" if options.output_path else f"{output}/"
        written: list[str] = []
        keep = options.keep_data
        longest = LongestRecord(_payload_limit(options))
        try:
            if in_s3:
                input_prefix = data
            else:
                assert source is not None
                input_prefix = f"{base}/input/"
                bucket, prefix_key = split_s3_uri(input_prefix)
                self._remember(input_prefix)
                written.append(input_prefix)  # a failed upload's objects go too
                shards = write_shards(
                    source,
                    rules,
                    options.shards or options.instance_count,
                    lambda body, key: s3.put_object(Bucket=bucket, Key=key, Body=body),
                    lambda number: f"{prefix_key}part-{number:05d}.csv",
                    longest,
                    float32=source.rows >= FLOAT32_MIN_ROWS
                    and self._float32_text(model_name, options.instance_type),
                )
                record.objects = len(shards)
            self._remember(output)
            written.append(output)
            plan = TransformJobPlan(
                name=job_name,
                model_name=model_name,
                input_prefix=input_prefix,
                output_path=output,
                instance_type=options.instance_type,
                instance_count=options.instance_count,
                accept=accept,
                batch_strategy=options.batch_strategy,
                max_concurrent=options.max_concurrent,
                max_payload_mb=options.max_payload_mb,
                invocation_timeout=options.invocation_timeout,
                invocation_retries=options.invocation_retries,
                tags=self._tags(),
            )
            done = (
                _objects_done(s3, output, record.objects)
                if not in_s3
                else lambda: "input: an s3:// prefix"
            )
            self.records.append(record)  # a job SageMaker knows of, from here on
            self._run(plan, options, record, done)
            if in_s3:
                keep = True  # the caller reads it: deleted at the session's end (unless kept)
                listed = tuple(_keys_under(s3, output))
                record.objects = len(listed)
                return TransformOutput(job_name, output, listed)
            out_bucket, out_key = split_s3_uri(output)
            in_key = split_s3_uri(input_prefix)[1]
            keys = [output_key(shard, in_key, out_key) for shard in shards]
            assert source is not None
            # Files: their rows as streamed (a CSV's newline count is only an estimate).
            rows = sum(shard.rows for shard in shards)
            index = source.index if len(source.index) == rows else pd.RangeIndex(rows)
            predictions = joined_predictions(
                shards,
                lambda key: s3.get_object(Bucket=out_bucket, Key=key)["Body"].read(),
                keys,
                accept,
                index,
                job_name,
                single_record=options.batch_strategy == "SingleRecord",
            )
            record.rows = len(predictions)
            return predictions
        except TransformJobError as error:
            record.failure = error.reason
            if longest.row is not None:  # SageMaker says "ClientError"; this says which row
                raise TransformJobError(
                    error.job_name,
                    error.status,
                    error.reason,
                    f"row {longest.row!r} is {longest.size:,} bytes of CSV, more than "
                    f"MaxPayloadInMB={longest.limit // MEBIBYTE} ({longest.limit:,} bytes) "
                    "allows: raise --sm-transform-max-payload-mb (at most 100)"
                    + (f"\n{error.details}" if error.details else ""),
                ) from None
            raise
        except BaseException as error:
            record.failure = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise
        finally:
            record.call_seconds = time.perf_counter() - started
            if not keep:
                self._delete_data(s3, written)
            elif options.keep_data:  # kept for good: not deleted at the session's end either
                self._forget(written)

    def _run(
        self,
        plan: TransformJobPlan,
        options: TransformSettings,
        record: Any,
        done: Callable[[], str],
    ) -> None:
        """Create the job (signals held: a cut-short create leaves a job nobody recorded) and
        wait for it; a job that does not complete is stopped here, not at the session's end."""
        sagemaker = self.backend.client("sagemaker")
        started = time.perf_counter()
        with hold_signals():
            response = create_transform_job(sagemaker, plan)
            self._jobs.append(plan.name)
            self._hold(sagemaker, response.get("TransformJobArn"))
        record.status = "InProgress"

        shown = (
            self._progress(plan.name, f"{plan.instance_type} x {plan.instance_count}", done)
            if self._progress is not None
            else None
        )

        def status(text: str, elapsed: float) -> None:
            record.status = text
            if shown is not None:
                shown(text, elapsed)

        try:
            wait_completed(
                sagemaker,
                plan.name,
                options.timeout,
                logs=lambda: self.backend.client("logs"),
                on_status=status,
                sleep=_until_ended(self.backend.serving, plan.name),
            )
        except TransformJobError as error:
            record.status = error.status
            raise
        finally:
            record.job_seconds = time.perf_counter() - started
            if record.status == "InProgress":  # a timeout, a signal, an error: stop it now
                with hold_signals():
                    if stop_if_running(sagemaker, plan.name) == "InProgress":
                        record.status = "Stopping"

    # -- the session's model ------------------------------------------------------------------

    def _session_model(self) -> str:
        """The model the jobs run: created once from the session's model (tagged, deleted at
        the end), or an existing endpoint's own model (used, never changed or deleted)."""
        with self._lock:
            if self._model_name is not None:
                return self._model_name
            from pytest_smendpoint.aws.sdk_objects import from_user_object

            sagemaker = self.backend.client("sagemaker")
            target = from_user_object(
                self._model(), self.settings, aws_context(self.backend, self.identity, sagemaker)
            )
            if isinstance(target, ExistingEndpoint):
                self._model_name = _endpoint_model(sagemaker, target.name)
                return self._model_name
            assert isinstance(target, ModelSpec)
            name = self.identity.name(f"transform-model{_worker_suffix()}")
            with hold_signals():
                response = create_model(sagemaker, target, name, self._tags())
                self._created_model = name
                self._hold(sagemaker, response.get("ModelArn"))
            self._model_name = name
            return name

    def _float32_text(self, model_name: str, instance_type: str) -> bool:
        """Whether the job's model reads CSV numbers as float32 (and --sm-float32-csv is on),
        so that the input is written in the shortest text of those float32: what serves it
        says (offline, the model loaded once), else its image and environment; asked once per
        model and instance type."""
        if not self.settings.invoke.float32_csv:
            return False
        with self._lock:
            known = self._float32.get((model_name, instance_type))
        if known is not None:
            return known
        served = self.backend.serving.model_reads_csv_as_float32(model_name, instance_type)
        if served is None:
            from pytest_smendpoint.serving.profiles import reads_csv_as_float32_unseen

            described = self.backend.client("sagemaker").describe_model(ModelName=model_name)
            container = described.get("PrimaryContainer") or {}
            served = bool(container) and reads_csv_as_float32_unseen(
                str(container.get("Image") or ""), container.get("Environment") or {}
            )
        with self._lock:
            self._float32[(model_name, instance_type)] = served
        return served

    # -- names, tags, data ----------------------------------------------------------------------

    def _options(self, overrides: dict[str, Any]) -> TransformSettings:
        """This call's options: keywords checked by the --sm-transform-* options' own rules."""
        unknown = sorted(set(overrides) - set(OVERRIDES))
        if unknown:
            raise TypeError(
                f"sm_transform() got unknown keyword{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(unknown)}; known: {', '.join(OVERRIDES)}"
            )
        given = {name: value for name, value in overrides.items() if value is not None}
        if not given:
            return self.settings.transform
        raw = {_OPTION_OF.get(name, f"transform_{name}"): value for name, value in given.items()}
        try:
            checked = validate_overrides(raw, "sm_transform()", self._base_dir).transform
        except ValueError as error:
            message = str(error)
            for name in given:  # the keyword as the caller wrote it, not the option's name
                option = _OPTION_OF.get(name, f"transform_{name}")
                message = message.replace(f"{option}=", f"{name}=")
                message = message.replace(f"--sm-{option.replace('_', '-')}=", f"{name}=")
            raise InvokeArgumentError(message) from None
        chosen = dataclasses.replace(
            self.settings.transform, **{name: getattr(checked, name) for name in given}
        )
        payload, concurrent = chosen.max_payload_mb, chosen.max_concurrent
        if payload is not None and concurrent is not None and payload * concurrent > 100:
            raise InvokeArgumentError(
                f"sm_transform(): max_payload_mb={payload} times max_concurrent={concurrent} is "
                "more than 100 (SageMaker's limit on MaxPayloadInMB x MaxConcurrentTransforms)"
            )
        return chosen

    def _s3(self) -> Any:
        """The S3 client of the data, without hashing every byte twice more: no checksum
        where S3 does not require one (botocore's default CRC32 trailer sends bodies aws-chunked:
        a pass over every byte, and under moto a slow decode, 0.4 s per 32 MiB measured), and
        no SHA-256 of each body in the signature (UNSIGNED-PAYLOAD: over HTTPS, which protects
        the bytes in transit, S3 accepts it). 10 GB of CSV is a minute of CPU less."""
        return self.backend.client(
            "s3",
            request_checksum_calculation="when_required",
            s3={"payload_signing_enabled": False},
        )

    def _next_name(self) -> str:
        with self._lock:
            self._counter += 1
            return self.identity.name(f"transform{_worker_suffix()}-{self._counter}")

    def _tags(self) -> list[dict[str, str]]:
        tags = list(self.identity.tags())
        if self.backend.liveness is not None:
            tags.append(self.backend.liveness.tag())
        return tags

    def _hold(self, sagemaker: Any, arn: str | None) -> None:
        if arn and self.backend.liveness is not None:
            self.backend.liveness.hold(sagemaker, arn)
            self._held.append(arn)

    def _data_prefix(self, job_name: str) -> str:
        from pytest_smendpoint.aws.artifacts import default_bucket

        bucket = default_bucket(
            self.backend.client("s3"), self.backend.client("sts"), self.backend.region
        )
        return f"s3://{bucket}/{session_key_prefix(self.identity.session_id)}/{job_name}"

    def _remember(self, prefix: str) -> None:
        with self._lock:
            self._data.append(prefix)

    def _forget(self, prefixes: Sequence[str]) -> None:
        with self._lock:
            self._data = [prefix for prefix in self._data if prefix not in prefixes]

    def _delete_data(self, s3: Any, prefixes: Sequence[str]) -> list[str]:
        """Delete every object under these prefixes; a line per failure."""
        failures: list[str] = []
        for prefix in prefixes:
            bucket, key = split_s3_uri(prefix)
            try:
                for batch in _batches(_keys_under(s3, prefix), 1000):
                    answer = s3.delete_objects(
                        Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch]}
                    )
                    failures += [
                        f"DeleteObjects s3://{bucket}/{e['Key']}: {e.get('Code')}: "
                        f"{e.get('Message')}"
                        for e in answer.get("Errors", [])
                    ]
            except Exception as error:  # one prefix's failure must not keep the others
                failures.append(f"delete s3://{bucket}/{key}: {type(error).__name__}: {error}")
            else:
                with self._lock:
                    if prefix in self._data:
                        self._data.remove(prefix)
        return failures

    # -- the session's end ----------------------------------------------------------------------

    def close(self) -> None:
        """Stop every job still running, delete the transform data the session wrote (unless
        kept) and the model it created; TeardownError lists what could not be done."""
        failures: list[str] = []
        commands: list[str] = []
        with hold_signals():
            sagemaker = self.backend.client("sagemaker")
            for name in self._jobs:
                try:
                    stop_if_running(sagemaker, name)
                except Exception as error:
                    failures.append(f"StopTransformJob {name}: {error}")
                    commands.append(cli_command(TRANSFORM_JOB, name, self.backend.region))
            if self._data and not self.settings.transform.keep_data:
                remaining = list(self._data)
                lost = self._delete_data(self._s3(), remaining)
                failures += lost
                commands += [f"aws s3 rm --recursive {prefix}" for prefix in self._data]
            if self._created_model is not None:
                try:
                    delete_model(sagemaker, self._created_model)
                except Exception as error:
                    failures.append(f"DeleteModel model {self._created_model}: {error}")
                    commands.append(cli_command(MODEL, self._created_model, self.backend.region))
                else:
                    self._created_model = None
            if self.backend.liveness is not None:
                self.backend.liveness.release(self._held)
        if failures:
            raise TeardownError(failures, commands)


def _objects_done(s3: Any, output: str, objects: int) -> Callable[[], str]:
    """'k of n objects answered', read from the job's output prefix when progress is shown."""

    def done() -> str:
        try:
            answered = len(_keys_under(s3, output))
        except Exception:  # a progress line is never worth failing a job over
            return f"{objects} objects"
        return f"{answered} of {objects} objects answered"

    return done


def _anchored(data: Any, base_dir: Path) -> Any:
    """Relative file paths are relative to where pytest was started, as the options' are."""
    if isinstance(data, (str, Path)):
        return base_dir / data
    if isinstance(data, (list, tuple)):
        return [base_dir / item if isinstance(item, (str, Path)) else item for item in data]
    return data


def _until_ended(serving: Any, job_name: str) -> Callable[[float], None]:
    """The waiter's pause between polls: cut short when the job ends (a backend that runs the
    job knows when: no poll waits on a job already done) or a stop signal arrives."""

    def pause(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            ended = serving.job_ended(job_name, min(left, 0.25))
            if ended is None:  # the backend cannot tell: the whole pause, ended by a stop
                stopping.wait(left)
                return
            if ended:
                return

    return pause


def _payload_limit(options: TransformSettings) -> int:
    """The largest record a job takes, in bytes: MaxPayloadInMB MiB (SageMaker's default 6 when
    unset; the container's /execution-parameters may say otherwise), 0 for no limit."""
    megabytes = options.max_payload_mb
    if megabytes is None:
        megabytes = TRANSFORM_DEFAULT_PAYLOAD_MB
    if options.batch_strategy == "SingleRecord" or megabytes:
        return megabytes * MEBIBYTE
    return 0


def _endpoint_model(sagemaker: Any, endpoint_name: str) -> str:
    """The model an existing endpoint serves (its config's first variant's)."""
    config = sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
    variants = sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
    return str(variants[0]["ModelName"])


def _worker_suffix() -> str:
    """Under pytest-xdist each worker runs its own jobs: the worker id keeps names apart."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"-{worker}" if worker else ""


def _keys_under(s3: Any, prefix: str) -> list[str]:
    bucket, key = split_s3_uri(prefix)
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


def _batches(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
