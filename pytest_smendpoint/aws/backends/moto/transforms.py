"""Batch Transform behind moto: a transform job runs for real, in a thread of the process that
holds moto's state (in-process, or the server pytest-xdist's workers share), through the
container emulator's transform run (serving/transform/) and the same loading as endpoints.

moto 5.2 makes a job `Completed` at CreateTransformJob and writes nothing, and has no
StopTransformJob. While attached: CreateTransformJob checks what SageMaker checks first, answers
`InProgress` and starts the job; the job ends `Completed`, `Failed` (FailureReason) or, after
StopTransformJob (`Stopping`), `Stopped`, with TransformStartTime and TransformEndTime set.
Its data log goes to the mocked CloudWatch Logs, where SageMaker writes it
(/aws/sagemaker/TransformJobs, stream `{job}/{instance}/data-log`), and to the
pytest_smendpoint.serving logger."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pytest_smendpoint.aws.backends.moto import s3_objects
from pytest_smendpoint.aws.backends.moto.state import _variant_container
from pytest_smendpoint.serving.errors import LocalServingError, ModelLoadError
from pytest_smendpoint.serving.instance_cpus import local_cores
from pytest_smendpoint.serving.loader import LoadedModel
from pytest_smendpoint.serving.pool import ModelKey
from pytest_smendpoint.serving.transform.parameters import JobSettings
from pytest_smendpoint.serving.transform.run import (
    FAILED,
    STOPPED,
    InputObject,
    TransformRun,
    concurrency,
)
from pytest_smendpoint.tempdirs import TRANSFORM_PREFIX

if TYPE_CHECKING:
    from pytest_smendpoint.serving.local_serving import LocalServing

logger = logging.getLogger("pytest_smendpoint.serving")

IN_PROGRESS = "InProgress"
STOPPING = "Stopping"
LOG_GROUP = "/aws/sagemaker/TransformJobs"
# SageMaker names the streams after the instance (`{job}/i-0abc...-data-log` style ids); offline
# there is one machine.
INSTANCE = "local-instance-1"
FAILURE_REASON_MAX = 1024
# CreateTransformJob's service-side limits (the API reference of MaxPayloadInMB: "cannot be
# greater than 100 MB ... (MaxConcurrentTransforms * MaxPayloadInMB) also cannot exceed 100 MB").
MAX_PAYLOAD_MB = 100
# A transform job's container failing to start (field report: "AlgorithmError: Model container
# failed to respond to ping"); then what the container said, as an endpoint's reason says it.
LOAD_FAILED = "AlgorithmError: Model container failed to respond to ping."
_ENDPOINT_PING_SENTENCE = re.compile(
    r"The primary container for production variant \S+ did not pass the ping health check\. "
    r"Please check CloudWatch logs for this endpoint\.\s*"
)
JOIN_TIMEOUT = 30.0


# Whose a pool entry is, beside the endpoints' (local_serving.py keys theirs by endpoint).
TRANSFORM_USER = "transform job"
# How long sm_transform's question (does the model read float32?) waits for the model to load.
PROBE_STARTUP_SECONDS = 60.0


class Unsupported(Exception):
    """A job setting the offline transform does not emulate: the job fails, saying which."""


@dataclass
class _Job:
    """One running job: the thread, its stop signal and what it loaded."""

    region: str
    name: str
    fake: Any  # moto's FakeTransformJob, whose fields DescribeTransformJob reads
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    loaded: LoadedModel | None = None
    key: ModelKey | None = None  # its model in the serving's pool (this job is its one user)
    done: threading.Event = field(default_factory=threading.Event)


class TransformJobs:
    """The transform jobs of one mocked account, run for `serving`'s account with its load
    options and its S3 client (for the model data)."""

    def __init__(self, serving: LocalServing) -> None:
        self.serving = serving
        self.account_id = serving.account_id
        self._jobs: dict[tuple[str, str], _Job] = {}
        self._lock = threading.Lock()
        self._closed = False

    # -- what the patched moto calls -------------------------------------------------------

    def start(self, region: str, backend: Any, fake: Any) -> None:
        """Run the job moto just created, in the background: InProgress now."""
        now = _utcnow()
        fake.transform_job_status = IN_PROGRESS
        fake.failure_reason = None
        fake.transform_start_time = now
        fake.transform_end_time = None
        fake.last_modified_time = now
        job = _Job(region, fake.transform_job_name, fake)
        with self._lock:
            if self._closed:
                self._finish(job, STOPPED, None)
                return
            self._jobs[(region, job.name)] = job
        job.thread = threading.Thread(
            target=self._run, args=(job, backend), name=f"smendpoint-transform-{job.name}"
        )
        job.thread.daemon = True
        job.thread.start()

    def reads_csv_as_float32(self, region: str, model_name: str, instance_type: str) -> bool | None:
        """Whether the account's model reads CSV numbers as float32, asked of the model itself:
        loaded once, in one process, as a job would load it, then unloaded (sm_transform asks
        before it writes the job's input, so that it can write the float32 text). None when
        it does not load within PROBE_STARTUP_SECONDS: the input is then written at full
        precision, and the job's own load says why, in its FailureReason."""
        from moto.sagemaker.models import sagemaker_backends

        from pytest_smendpoint.serving.loader import load_model

        backend = sagemaker_backends[self.account_id][region]
        variant = {"VariantName": "AllTraffic", "ModelName": model_name}
        variant["InstanceType"] = instance_type
        try:
            spec = _variant_container(backend, f"{model_name}-probe", variant)
        except Exception:  # no such model, or no container: CreateTransformJob says so
            return None
        options = self.serving.pool.options
        # A model that hangs at load would otherwise wait out the start-up bound twice.
        bound = min(PROBE_STARTUP_SECONDS, options.startup_timeout)
        try:
            loaded = load_model(
                dataclasses.replace(spec, workers=1),
                self.serving._s3(region),
                dataclasses.replace(options, startup_timeout=bound),
            )
        except (ModelLoadError, LocalServingError) as error:
            logger.info(
                "model %s did not load within %g s to say whether it reads CSV as float32 (%s): "
                "sm_transform writes its input at full precision",
                model_name,
                bound,
                str(error).splitlines()[0] if str(error) else type(error).__name__,
            )
            return None
        try:
            return loaded.csv_float32
        finally:
            loaded.close()

    def stop(self, region: str, name: str) -> None:
        """StopTransformJob: Stopping now, Stopped once the run has let go."""
        with self._lock:
            job = self._jobs.get((region, name))
        if job is None or job.done.is_set():
            return
        job.fake.transform_job_status = STOPPING
        job.fake.last_modified_time = _utcnow()
        job.stop.set()
        loaded = job.loaded
        if loaded is not None:
            # In-flight calls end now (the run sees the stop), without holding up the caller
            # while the processes exit; the job's thread closes the model again, idempotently.
            threading.Thread(
                target=loaded.served.close, name=f"smendpoint-stop-{name}", daemon=True
            ).start()

    def wait(self, region: str, name: str, timeout: float | None = None) -> bool:
        """For tests: block until the job has ended (True) or `timeout` passed."""
        with self._lock:
            job = self._jobs.get((region, name))
        return True if job is None else job.done.wait(timeout)

    def close(self) -> None:
        """Stop every running job and its processes (the session's end)."""
        with self._lock:
            self._closed = True
            jobs = list(self._jobs.values())
        for job in jobs:
            self.stop(job.region, job.name)
        for job in jobs:
            if job.thread is not None:
                job.thread.join(JOIN_TIMEOUT)

    # -- the job's thread ------------------------------------------------------------------

    def _run(self, job: _Job, backend: Any) -> None:
        log = _DataLog(self.account_id, job.region, job.name)
        # Named for this process, so that the next run removes it if this one is killed.
        workdir = Path(tempfile.mkdtemp(prefix=f"{TRANSFORM_PREFIX}{os.getpid()}-{job.name}-"))
        status: str = FAILED
        reason: str | None = "InternalServerError: the job ended unexpectedly"
        try:
            status, reason = self._transform(job, backend, log, workdir)
        except (Unsupported, s3_objects.ObjectsError) as error:
            status, reason = FAILED, f"ClientError: {error}"
        except Exception as error:  # a bug here must end the job, not leave it InProgress
            logger.exception("transform job %s failed locally", job.name)
            status, reason = FAILED, f"InternalServerError: {type(error).__name__}: {error}"
        finally:
            key, job.key, job.loaded = job.key, None, None
            if key is not None:
                try:
                    self.serving.pool.release(key)  # the job was its one user: unloaded
                except Exception:
                    logger.exception("transform job %s: unloading failed", job.name)
            shutil.rmtree(workdir, ignore_errors=True)
            log.flush()  # before the job says it ended: its log is there when it has
            self._finish(job, status, reason)

    def _transform(
        self, job: _Job, backend: Any, log: _DataLog, workdir: Path
    ) -> tuple[str, str | None]:
        settings = _settings(job.fake)
        inputs = _Inputs(self.account_id, job.fake)
        outputs = _Outputs(self.account_id, job.fake, inputs)
        objects = inputs.objects()
        try:
            job.loaded = self._load(job, backend, settings)
        except ModelLoadError as error:
            return FAILED, _load_failure(str(error))
        if job.stop.is_set():
            return STOPPED, None
        run = TransformRun(
            settings,
            job.loaded,
            objects,
            inputs.read,
            outputs.store,
            stop=job.stop,
            log=log.write,
            workdir=workdir,
        )
        outcome = run.run()
        return outcome.status, outcome.failure_reason

    def _load(self, job: _Job, backend: Any, settings: JobSettings) -> LoadedModel:
        """The model as an endpoint loads it, with the job's environment, and as many model
        processes as requests will be in flight (MaxConcurrentTransforms x InstanceCount, bounded
        by this machine's cores; when the job leaves MaxConcurrentTransforms to the container,
        as many as the cores)."""
        fake = job.fake
        resources = fake.transform_resources or {}
        variant = {"VariantName": "AllTraffic", "ModelName": fake.model_name}
        variant["InstanceType"] = resources.get("InstanceType")
        spec = _variant_container(backend, job.name, variant)
        cores = local_cores()
        requested = settings.max_concurrent_transforms or cores
        environment = {
            **spec.environment,
            **(fake.environment or {}),
            **settings.container_environment(),
        }
        spec = dataclasses.replace(
            spec,
            environment=environment,
            workers=concurrency(requested, settings.instance_count, cores),
        )
        s3 = self.serving._s3(job.region)
        # A second front end over the endpoints' pool: the job (as created) owns its model's
        # processes, as a transform job's instances are its own on SageMaker.
        key = ModelKey(
            (TRANSFORM_USER, job.region, job.name, id(job)), fake.model_name, "AllTraffic"
        )
        loaded = self.serving.pool.acquire(key, spec, s3)
        job.key = key
        return loaded

    def _finish(self, job: _Job, status: str, reason: str | None) -> None:
        fake = job.fake
        now = _utcnow()
        fake.failure_reason = _shortened(reason) if reason else None
        fake.transform_end_time = now
        fake.last_modified_time = now
        fake.transform_job_status = status
        job.done.set()
        if status == FAILED:
            logger.error("transform job %s failed: %s", job.name, reason)


def _settings(fake: Any) -> JobSettings:
    given = fake.transform_input or {}
    output = fake.transform_output or {}
    client = fake.model_client_config or {}
    resources = fake.transform_resources or {}
    source = (given.get("DataSource") or {}).get("S3DataSource") or {}
    kind = source.get("S3DataType", "S3Prefix")
    if kind not in ("S3Prefix", "ManifestFile"):
        raise Unsupported(
            f"S3DataType {kind} is not emulated offline by pytest-smendpoint (S3Prefix and "
            "ManifestFile are)."
        )
    split = given.get("SplitType") or "None"
    if split not in ("None", "Line"):
        raise Unsupported(
            f"SplitType {split} is not emulated offline by pytest-smendpoint (None and Line are)."
        )
    processing = fake.data_processing or {}
    if any(processing.get(k) not in (None, "", "$", "None") for k in processing):
        raise Unsupported(
            "DataProcessing (InputFilter, OutputFilter, JoinSource) is not emulated offline by "
            "pytest-smendpoint."
        )
    timeout = client.get("InvocationsTimeoutInSeconds")
    return JobSettings(
        job_name=fake.transform_job_name,
        max_concurrent_transforms=fake.max_concurrent_transforms,
        max_payload_mb=fake.max_payload_in_mb,
        batch_strategy=fake.batch_strategy,
        split_type=split,
        compression=given.get("CompressionType") or "None",
        content_type=given.get("ContentType"),
        accept=output.get("Accept"),
        assemble_with=output.get("AssembleWith") or "None",
        invocation_timeout=None if timeout is None else float(timeout),
        max_retries=client.get("InvocationsMaxRetries"),
        instance_count=int(resources.get("InstanceCount") or 1),
    )


class _Inputs:
    """The job's input objects: every object under the S3Prefix, or those a manifest lists."""

    def __init__(self, account_id: str, fake: Any) -> None:
        self.account_id = account_id
        source = fake.transform_input["DataSource"]["S3DataSource"]
        self.kind = source.get("S3DataType", "S3Prefix")
        self.bucket, self.prefix = s3_objects.split_uri(source["S3Uri"])
        self.uri = source["S3Uri"]
        # key -> its name relative to the input, which names its output
        self.relative: dict[str, str] = {}

    def objects(self) -> list[InputObject]:
        if self.kind == "ManifestFile":
            keys = self._manifest()
        else:
            keys = s3_objects.keys_under(self.account_id, self.bucket, self.prefix)
            for key in keys:
                self.relative[key] = _relative(self.prefix, key)
        if not keys:
            raise s3_objects.ObjectsError(f"No S3 objects were found under {self.uri}.")
        return [InputObject(name=f"{self.bucket}/{key}", key=key) for key in keys]

    def _manifest(self) -> list[str]:
        """A manifest: `[{"prefix": "s3://bucket/p/"}, "relative/key", ...]`; each entry's output
        is named by its path relative to the prefix."""
        import json

        text = s3_objects.read_object(self.account_id, self.bucket, self.prefix)
        try:
            entries = json.loads(text)
            base = entries[0]["prefix"]
            names = [str(item) for item in entries[1:]]
        except (ValueError, KeyError, IndexError, TypeError):
            raise s3_objects.ObjectsError(
                f'The manifest {self.uri} is not a list starting with {{"prefix": ...}}.'
            ) from None
        self.bucket, prefix = s3_objects.split_uri(base)
        keys = []
        for name in names:
            key = prefix + name
            keys.append(key)
            self.relative[key] = name
        return keys

    def read(self, item: InputObject) -> Iterator[bytes]:
        return s3_objects.chunks(self.account_id, self.bucket, item.key)


class _Outputs:
    """`{S3OutputPath}/{the object's path relative to the input}.out`."""

    def __init__(self, account_id: str, fake: Any, inputs: _Inputs) -> None:
        self.account_id = account_id
        self.bucket, prefix = s3_objects.split_uri(fake.transform_output["S3OutputPath"])
        self.prefix = prefix.rstrip("/")
        self.inputs = inputs

    def key(self, item: InputObject) -> str:
        name = self.inputs.relative[item.key] + ".out"
        return f"{self.prefix}/{name}" if self.prefix else name

    def store(self, item: InputObject, source: IO[bytes]) -> None:
        s3_objects.store(self.account_id, self.bucket, self.key(item), source)


def _relative(prefix: str, key: str) -> str:
    """An object's name under the job's S3Uri: the rest of its key after the prefix as a folder
    (`in/` or `in`, key `in/a/b.csv` -> `a/b.csv`); an S3Uri naming the object itself gives its
    file name; a partial name (`in/part`, key `in/part-1.csv`) counts from its folder. (The API
    reference's example of this is garbled; this is what the SDK's local mode and field reports
    show.)"""
    if key == prefix:
        return key.rsplit("/", 1)[-1]
    rest = key[len(prefix) :]
    if prefix.endswith("/") or not prefix:
        return rest
    if rest.startswith("/"):
        return rest[1:]
    folder = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    return key[len(folder) :]


class _DataLog:
    """The job's data log: lines timestamped as SageMaker's (`2020-10-14T04:08:19.163:[sagemaker
    logs]: ...`), to the logger at once and to the mocked CloudWatch Logs when the job ends."""

    def __init__(self, account_id: str, region: str, job_name: str) -> None:
        self.account_id = account_id
        self.region = region
        self.stream = f"{job_name}/{INSTANCE}/data-log"
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}"
        message = f"{stamp}:[sagemaker logs]: {line}"
        logger.info("%s", message)
        with self._lock:
            self.events.append({"timestamp": int(now * 1000), "message": message})

    def flush(self) -> None:
        with self._lock:
            events, self.events = self.events, []
        if not events:
            return
        try:
            from moto.logs.models import logs_backends

            backend = logs_backends[self.account_id][self.region]
            if LOG_GROUP not in backend.groups:
                backend.create_log_group(LOG_GROUP, {})
            if self.stream not in backend.groups[LOG_GROUP].streams:
                backend.create_log_stream(LOG_GROUP, self.stream)
            backend.put_log_events(LOG_GROUP, self.stream, events)
        except Exception:  # the log is a courtesy: never fail the job over it
            logger.exception("transform job data log could not be written to CloudWatch Logs")


def _load_failure(detail: str) -> str:
    """A model that cannot load: SageMaker's words for a transform job, then what the container
    said and what to change, as an endpoint's FailureReason says it."""
    detail = _ENDPOINT_PING_SENTENCE.sub("", detail).strip()
    return f"{LOAD_FAILED} {detail}" if detail else LOAD_FAILED


def _shortened(text: str) -> str:
    if len(text) <= FAILURE_REASON_MAX:
        return text
    head = FAILURE_REASON_MAX // 3
    return text[:head] + " ... " + text[-(FAILURE_REASON_MAX - head - 5) :]


def _utcnow() -> Any:
    from moto.core.utils import utcnow

    return utcnow()


# -- attaching to moto ----------------------------------------------------------------------

_LOCK = threading.Lock()
_ATTACHED: list[TransformJobs] = []
_ORIGINALS: dict[str, Callable[..., Any]] = {}


def attach(jobs: TransformJobs) -> None:
    """Run every transform job created in `jobs`' account from now on."""
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    with _LOCK:
        if jobs in _ATTACHED:
            return
        if not _ATTACHED:
            _ORIGINALS["create_transform_job"] = SageMakerModelBackend.create_transform_job
            setattr(SageMakerModelBackend, "create_transform_job", _create_transform_job)  # noqa: B010
            # moto 5.2 has no StopTransformJob: add it to the backend and to its responses.
            setattr(SageMakerModelBackend, "stop_transform_job", _stop_transform_job)  # noqa: B010
            setattr(SageMakerResponse, "stop_transform_job", _stop_transform_job_response)  # noqa: B010
        _ATTACHED.append(jobs)


def detach(jobs: TransformJobs) -> None:
    """Stop running new jobs for `jobs`' account; the last one out restores moto."""
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    with _LOCK:
        if jobs not in _ATTACHED:
            return
        _ATTACHED.remove(jobs)
        if _ATTACHED:
            return
        original = _ORIGINALS.pop("create_transform_job")
        # Something that patched moto after us (a test's monkeypatch) keeps its patch.
        if getattr(SageMakerModelBackend, "create_transform_job") is _create_transform_job:  # noqa: B009
            setattr(SageMakerModelBackend, "create_transform_job", original)  # noqa: B010
        for owner in (SageMakerModelBackend, SageMakerResponse):
            if "stop_transform_job" in vars(owner):
                delattr(owner, "stop_transform_job")


def _runner(backend: Any) -> TransformJobs | None:
    with _LOCK:
        return next((j for j in _ATTACHED if j.account_id == backend.account_id), None)


def _create_transform_job(backend: Any, *args: Any, **kwargs: Any) -> Any:
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.utils import arn_formatter

    name = kwargs.get("transform_job_name")
    model_name = str(kwargs.get("model_name"))
    if model_name not in backend._models:  # moto keeps models in a private dict
        arn = arn_formatter("model", model_name, backend.account_id, backend.region_name)
        # SageMaker's words (field report aws/deep-learning-containers#586).
        raise ValidationError(message=f'Could not find model "{arn}".')
    if name in backend.transform_jobs:
        raise ValidationError(
            message="Job name must be unique within an AWS Region in an AWS account."
        )
    payload = kwargs.get("max_payload_in_mb")
    concurrent = kwargs.get("max_concurrent_transforms") or 1
    if payload is not None and (payload > MAX_PAYLOAD_MB or payload * concurrent > MAX_PAYLOAD_MB):
        # The limit is SageMaker's; the wording of its refusal is not published.
        raise ValidationError(
            message=f"MaxPayloadInMB ({payload}) cannot be greater than {MAX_PAYLOAD_MB}, nor "
            f"MaxConcurrentTransforms * MaxPayloadInMB ({concurrent} * {payload})."
        )
    fake = _ORIGINALS["create_transform_job"](backend, *args, **kwargs)
    if getattr(fake, "tags", None) is None:
        # moto 5.2 keeps an untagged job's tags as None, and ListTags on it then fails in
        # moto's paginator; SageMaker answers an empty list (a sweep lists every running job).
        fake.tags = []
    runner = _runner(backend)
    if runner is not None:
        runner.start(backend.region_name, backend, fake)
    return fake


def _stop_transform_job(backend: Any, transform_job_name: str) -> None:
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeTransformJob

    if transform_job_name not in backend.transform_jobs:
        arn = FakeTransformJob.arn_formatter(
            transform_job_name, backend.account_id, backend.region_name
        )
        raise ValidationError(message=f"Could not find transform job '{arn}'.")
    runner = _runner(backend)
    if runner is not None:
        runner.stop(backend.region_name, transform_job_name)


def _stop_transform_job_response(response: Any) -> Any:
    from moto.core.responses import EmptyResult

    response.sagemaker_backend.stop_transform_job(response._get_param("TransformJobName"))
    return EmptyResult()
