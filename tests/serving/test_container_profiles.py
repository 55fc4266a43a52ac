"""Which container an image URI gets, what each refuses and why, and the model's own processes:
working directory, environment, requirements.txt, workers, and that nothing outlives them."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError
from helpers.container_setup import SKLEARN_IMAGE
from helpers.localsupport import (
    FEATURES,
    TOOLKIT_IMAGE,
    Deployed,
    csv_predictions,
    csv_rows,
    loaded_variants,
    model_processes,
    with_model,
)
from sklearn.linear_model import LogisticRegression

from pytest_smendpoint.aws.backends.moto.serving import MotoServing as LocalServing
from pytest_smendpoint.serving import instance_cpus
from pytest_smendpoint.serving.profiles import rule_for

TWO_ROWS = csv_rows(FEATURES[:2])
PING_FAILED = (
    "The primary container for production variant AllTraffic did not pass the ping health "
    "check. Please check CloudWatch logs for this endpoint."
)


def described(sagemaker: Any, name: str) -> tuple[str, str]:
    answer = sagemaker.describe_endpoint(EndpointName=name)
    return answer["EndpointStatus"], answer.get("FailureReason", "")


def invoke(runtime: Any, name: str, body: bytes = TWO_ROWS, **kwargs: Any) -> bytes:
    response = runtime.invoke_endpoint(
        EndpointName=name, Body=body, ContentType=kwargs.pop("content_type", "text/csv"), **kwargs
    )
    answer: bytes = response["Body"].read()
    return answer


def model_workers() -> list[int]:
    """Model processes of this test process that still run (Linux /proc): started fresh (our
    children running model_worker) or forked by the zygote (the zygote's children)."""
    processes: dict[int, tuple[int, bytes]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        processes[int(entry.name)] = (parent, command)
    me = os.getpid()
    zygotes = {
        pid for pid, (parent, command) in processes.items()
        if parent == me and b"pytest_smendpoint.serving.zygote" in command
    }  # fmt: skip
    return [
        pid
        for pid, (parent, command) in processes.items()
        if parent in zygotes
        or (parent == me and b"pytest_smendpoint.serving.model_worker" in command)
    ]


def leftover_folders(endpoint: str) -> list[Path]:
    folders = Path(tempfile.gettempdir()).glob(f"pytest-smendpoint-model-{os.getpid()}-*")
    return [folder for folder in folders if folder.name.rsplit("-", 1)[0].endswith(f"-{endpoint}")]


# -- which profile ---------------------------------------------------------------------------

ECR = "dkr.ecr.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    ("image", "module", "function"),
    [
        (SKLEARN_IMAGE, "scikit_learn", "stage"),
        (f"683313688378.{ECR}/sagemaker-scikit-learn@sha256:0123abcd", "scikit_learn", "stage"),
        (f"683313688378.{ECR}/sagemaker-xgboost:1.7-1", "xgboost.container", "stage"),
        (TOOLKIT_IMAGE, "inference_toolkit", "stage"),
        (f"763104351884.{ECR}/pytorch-inference:2.1.0-cpu-py310", "refusals", "unfaithful"),
        (
            f"763104351884.{ECR}/huggingface-pytorch-inference:2.1.0-transformers4.37.0-cpu-py310",
            "refusals",
            "unfaithful",
        ),
        (f"763104351884.{ECR}/tensorflow-inference:2.14-cpu", "refusals", "unfaithful"),
        (
            f"763104351884.{ECR}/djl-inference:0.26.0-deepspeed0.12.6-cu121",
            "refusals",
            "unfaithful",
        ),
        ("local/sklearn", "refusals", "bring_your_own"),
        (f"123456789012.{ECR}/my-model:latest", "refusals", "bring_your_own"),
    ],
)
def test_the_image_repository_name_picks_the_profile(
    image: str, module: str, function: str
) -> None:
    rule = rule_for(image)
    assert (rule.module, rule.function) == (module, function)


def test_a_pytorch_image_fails_naming_the_serve_command(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    image = f"763104351884.{ECR}/pytorch-inference:2.1.0-cpu-py310"
    endpoint = deploy(with_model(classifier), image=image)
    status, reason = described(sagemaker, endpoint.name)
    assert status == "Failed"
    assert f"Local serving does not reproduce image {image}" in reason
    assert '--sm-serve-command="{python} serve.py --port {port} --model-dir {model_dir}"' in reason


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_an_unknown_image_needs_the_serve_command(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier), image="local/sklearn")
    status, reason = described(sagemaker, endpoint.name)
    assert status == "Failed"
    assert "Image local/sklearn is not a container the local serving emulates" in reason
    assert "Give it with --sm-serve-command" in reason


# -- the scikit-learn container's start-up rules ----------------------------------------------


def test_code_inside_the_model_without_submit_directory_is_not_found(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier), env={"SAGEMAKER_SUBMIT_DIRECTORY": None})
    status, reason = described(sagemaker, endpoint.name)
    assert status == "Failed"
    assert reason.startswith("Local serving could not load the model")
    assert (
        f"{PING_FAILED} The container exits at start: No module named 'inference'. "
        "SAGEMAKER_PROGRAM=inference.py not found in /opt/ml/code. SAGEMAKER_SUBMIT_DIRECTORY "
        "defaults to /opt/ml/code, which is not inside the model, so code/inference.py in "
        "model.tar.gz is not found. To fix: set SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code."
    ) in reason


def test_no_entry_script_at_all_fails_as_the_containers_ping(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy({"model.joblib": classifier}, base_env={})
    status, reason = described(sagemaker, endpoint.name)
    assert status == "Failed"
    assert (
        f"{PING_FAILED} The container has no entry script (SAGEMAKER_PROGRAM is not set), so "
        "/ping answers 500 with NotImplementedError: Please provide a model_fn implementation."
    ) in reason
    assert "set SAGEMAKER_PROGRAM=inference.py" in reason


def test_a_submit_directory_outside_the_container_fails(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier), env={"SAGEMAKER_SUBMIT_DIRECTORY": "/home/me/src"})
    status, reason = described(sagemaker, endpoint.name)
    assert status == "Failed"
    assert (
        "SAGEMAKER_SUBMIT_DIRECTORY=/home/me/src is neither an s3:// URI nor a folder of the "
        "container" in reason
    )


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_imports_inside_handler_functions_work(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    script = """
        def output_fn(prediction, accept):
            import helper  # imported on every call, from the code folder

            return helper.TAG
    """
    endpoint = deploy(with_model(classifier, script, **{"code/helper.py": "TAG = 'late'\n"}))
    assert invoke(runtime, endpoint.name) == b"late"
    assert invoke(runtime, endpoint.name) == b"late"
    assert "helper" not in sys.modules


# -- the model's own process --------------------------------------------------------------------

REPORTING = """
    import json
    import os
    import sys

    def output_fn(prediction, accept):
        environment = os.environ
        return json.dumps({
            "pid": os.getpid(),
            "cwd": os.getcwd(),
            "listing": os.listdir("."),
            "secret": environment.get("SMENDPOINT_TEST_SECRET"),
            "setting": environment.get("MY_SETTING"),
            "key": environment.get("AWS_ACCESS_KEY_ID"),
            "aws_url": environment.get("AWS_ENDPOINT_URL"),
            "model_dir": environment.get("SM_MODEL_DIR"),
            "serving_module": environment.get("SAGEMAKER_SERVING_MODULE"),
        }), "application/json"
"""


def test_the_model_runs_in_its_own_process_with_the_containers_environment(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMENDPOINT_TEST_SECRET", "must not leak")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    endpoint = deploy(with_model(classifier, REPORTING), env={"MY_SETTING": "blue"})
    seen = json.loads(invoke(runtime, endpoint.name))
    assert seen["pid"] != os.getpid()
    assert seen["cwd"] != os.getcwd() and seen["listing"] == []  # a folder of its own
    assert seen["secret"] is None  # nothing of the test process's environment
    assert seen["setting"] == "blue"  # the model's Environment
    assert (seen["key"], seen["aws_url"]) == ("testing", "http://127.0.0.1:9")
    assert Path(seen["model_dir"], "model.joblib").is_file()
    assert seen["serving_module"] == "sagemaker_sklearn_container.serving:main"


def test_model_server_workers_start_that_many_processes(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    script = """
        import os

        def output_fn(prediction, accept):
            return str(os.getpid())
    """
    endpoint = deploy(with_model(classifier, script), env={"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})
    served = model_processes(loaded_variants(serving, endpoint.name)[0])
    assert len(served.pids) == 2
    answered = {int(invoke(runtime, endpoint.name)) for _ in range(4)}
    assert answered == set(served.pids)


@pytest.mark.parametrize(
    ("instance_type", "cores", "workers"),
    [("ml.m5.xlarge", 3, 3), ("ml.m5.xlarge", 8, 4), ("ml.m5.large", 1, 1)],
)
def test_unset_model_server_workers_grow_to_the_instances_vcpus_up_to_the_local_cores(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    monkeypatch: pytest.MonkeyPatch,
    instance_type: str,
    cores: int,
    workers: int,
) -> None:
    """The container starts one worker per CPU it sees (an ml.m5.xlarge has 4): offline, one
    at the deploy, and more, up to this machine's cores, as concurrent requests find them busy."""
    monkeypatch.setattr(instance_cpus, "local_cores", lambda: cores)
    script = """
        import os, time

        def output_fn(prediction, accept):
            time.sleep(0.2)  # sleep-ok: the model's own work, keeping its worker busy
            return str(os.getpid())
    """
    endpoint = deploy(with_model(classifier, script), instance_type=instance_type)
    served = model_processes(loaded_variants(serving, endpoint.name)[0])
    assert len(served.pids) == 1
    answered: list[int] = []
    for _ in range(3):  # bursts of concurrent calls, until every worker has started
        with ThreadPoolExecutor(8) as pool:
            answered += pool.map(lambda _: int(invoke(runtime, endpoint.name)), range(8))
        if len(served.pids) == workers:
            break
    assert len(served.pids) == workers
    assert set(answered) <= set(served.pids)


def test_instance_vcpus_follow_the_size_names() -> None:
    sizes = ["ml.t2.medium", "ml.m5.large", "ml.c5.xlarge", "ml.m5.4xlarge", "ml.c5.9xlarge"]
    assert [instance_cpus.instance_vcpus(name) for name in sizes] == [2, 2, 4, 16, 36]
    assert instance_cpus.instance_vcpus("ml.c4.8xlarge") == 36  # not 4 x 8
    assert instance_cpus.instance_vcpus("ml.g5.48xlarge") == 192
    assert instance_cpus.instance_vcpus("local") is None
    assert instance_cpus.default_workers(None) == 1  # serverless: its CPUs are not published


def test_a_bad_worker_count_fails_the_endpoint(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier), env={"SAGEMAKER_MODEL_SERVER_WORKERS": "zero"})
    status, reason = described(sagemaker, endpoint.name)
    assert status == "Failed"
    assert "SAGEMAKER_MODEL_SERVER_WORKERS='zero' is not a positive whole number" in reason


def test_a_failed_load_leaves_no_process_and_no_folder(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    script = "def model_fn(model_dir):\n    raise OSError('disk full')\n"
    endpoint = deploy({"code/inference.py": script}, env={"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})
    status, reason = described(sagemaker, endpoint.name)
    assert status == "Failed" and "model_fn raised OSError: disk full" in reason
    assert model_workers() == []
    assert leftover_folders(endpoint.name) == []


def test_deleting_the_endpoint_stops_its_processes(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy(with_model(classifier), env={"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})
    assert len(model_workers()) == 2
    sagemaker.delete_endpoint(EndpointName=endpoint.name)
    serving.endpoint_deleted(endpoint.name)
    assert model_workers() == []
    assert leftover_folders(endpoint.name) == []


ORPHAN_SCRIPT = """
import os, signal, sys
sys.path[:0] = [{tests!r}, {tests_root!r}]
import boto3, moto
from helpers.container_setup import SKLEARN_ENV, SKLEARN_IMAGE
from helpers.localsupport import FEATURES, CLASSES, pack, with_model
from sklearn.linear_model import LogisticRegression
from pytest_smendpoint.aws.backends.moto.routing import MOTO_CONFIG
from pytest_smendpoint.aws.backends.moto.serving import MotoServing as LocalServing

os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
with moto.mock_aws(config=MOTO_CONFIG):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="models")
    model = LogisticRegression().fit(FEATURES, CLASSES)
    s3.put_object(Bucket="models", Key="m.tar.gz", Body=pack(with_model(model)))
    serving = LocalServing(region="us-east-1", account_id="123456789012")
    serving.install()
    sm = boto3.client("sagemaker")
    sm.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                    PrimaryContainer={{"Image": SKLEARN_IMAGE, "Environment": SKLEARN_ENV,
                                      "ModelDataUrl": "s3://models/m.tar.gz"}})
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[{{
        "VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}}])
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c")
    serving.endpoint_created("e")
    loaded = serving._slots[("us-east-1", "e")].variants.loaded[0]
    print(" ".join(map(str, loaded.served.pids)), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no teardown, no atexit
"""


@pytest.mark.slow
def test_model_processes_die_with_the_test_process(tmp_path: Path) -> None:
    script = tmp_path / "orphan.py"
    here = Path(__file__).parent
    script.write_text(ORPHAN_SCRIPT.format(tests=str(here), tests_root=str(here.parent)))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    pids = [int(p) for p in done.stdout.split()]
    assert pids
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.1)  # sleep-ok: waiting for other processes to exit, not for moto
    assert not [p for p in pids if Path(f"/proc/{p}").exists()]


# -- requirements.txt ------------------------------------------------------------------------------


def probe_wheel(folder: Path) -> Path:
    """A tiny pure-Python wheel, installable offline: smendpoint_probe.VALUE."""
    files = {
        "smendpoint_probe/__init__.py": b"VALUE = 'from the wheel'\n",
        "smendpoint_probe-1.0.dist-info/METADATA": (
            b"Metadata-Version: 2.1\nName: smendpoint-probe\nVersion: 1.0\n"
        ),
        "smendpoint_probe-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("smendpoint_probe-1.0.dist-info/RECORD,,")
    files["smendpoint_probe-1.0.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / "smendpoint_probe-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


PROBE_SCRIPT = """
    def output_fn(prediction, accept):
        import smendpoint_probe

        return smendpoint_probe.VALUE
"""


@pytest.mark.slow
def test_requirements_are_installed_into_a_cache_not_the_test_environment(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_SMENDPOINT_CACHE", str(tmp_path / "cache"))
    requirements = f"{probe_wheel(tmp_path)}\n"
    first = deploy(with_model(classifier, PROBE_SCRIPT, **{"code/requirements.txt": requirements}))
    assert invoke(runtime, first.name) == b"from the wheel"
    assert importlib.util.find_spec("smendpoint_probe") is None
    [installed] = (tmp_path / "cache" / "requirements").glob("*/smendpoint_probe")
    stamp = (installed.parent / ".complete").stat().st_mtime_ns
    second = deploy(with_model(classifier, PROBE_SCRIPT, **{"code/requirements.txt": requirements}))
    assert invoke(runtime, second.name) == b"from the wheel"
    assert (installed.parent / ".complete").stat().st_mtime_ns == stamp  # installed once
    assert [p.name for p in installed.parent.parent.iterdir() if "partial" in p.name] == []


def test_requirements_that_cannot_install_fail_the_endpoint_with_pips_words(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_SMENDPOINT_CACHE", str(tmp_path / "cache"))
    missing = tmp_path / "nowhere" / "gone-1.0-py3-none-any.whl"
    endpoint = deploy(with_model(classifier, **{"code/requirements.txt": f"{missing}\n"}))
    status, reason = described(sagemaker, endpoint.name)
    assert status == "Failed"
    assert (
        "InstallModuleError: pip install -r /opt/ml/code/requirements.txt failed with exit code 1"
        in reason
    )
    assert "To fix: correct /opt/ml/code/requirements.txt" in reason
    assert "gone-1.0-py3-none-any.whl" in reason  # pip's own words
    assert model_workers() == [] and leftover_folders(endpoint.name) == []


# -- images built on the generic inference toolkit -------------------------------------------------


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_a_toolkit_error_keeps_its_status(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    pytest.importorskip("sagemaker_inference")
    script = """
        from sagemaker_inference.errors import GenericInferenceToolkitError

        def predict_fn(data, model):
            raise GenericInferenceToolkitError(400, "row 2 is empty")
    """
    endpoint = deploy(with_model(classifier, script), image=TOOLKIT_IMAGE, base_env={})
    with pytest.raises(ClientError) as raised:
        invoke(runtime, endpoint.name)
    error = raised.value.response
    assert error["OriginalStatusCode"] == 400
    assert error["OriginalMessage"].startswith("row 2 is empty\nTraceback")
    assert "Received client error (400)" in error["Error"]["Message"]


def test_toolkit_reads_csv_as_float64_so_its_precision_is_kept(
    serving: LocalServing, deploy: Callable[..., Deployed], classifier: LogisticRegression
) -> None:
    script = "def predict_fn(data, model):\n    return model.predict(data)\n"
    endpoint = deploy(with_model(classifier, script), image=TOOLKIT_IMAGE, base_env={})
    serving.endpoint_created(endpoint.name)
    assert not serving.reads_csv_as_float32(endpoint.name)  # np.genfromtxt: float64


def test_toolkit_unsupported_types_are_500_with_its_message(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    script = "def predict_fn(data, model):\n    return model.predict(data)\n"
    endpoint = deploy(with_model(classifier, script), image=TOOLKIT_IMAGE, base_env={})
    assert csv_predictions(invoke(runtime, endpoint.name, Accept="image/png, text/csv")) == (
        classifier.predict(np.genfromtxt(TWO_ROWS.decode().splitlines(), delimiter=",")).tolist()
    )
    with pytest.raises(ClientError) as raised:
        invoke(runtime, endpoint.name, content_type="text/csv; charset=utf-8")
    error = raised.value.response
    assert error["OriginalStatusCode"] == 500
    assert error["OriginalMessage"].startswith(
        "Content type text/csv; charset=utf-8 is not supported by this framework."
    )


def test_toolkit_model_without_model_fn_fails(
    serving: LocalServing,
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    classifier: LogisticRegression,
) -> None:
    endpoint = deploy({"model.joblib": classifier}, image=TOOLKIT_IMAGE, base_env={})
    status, reason = described(sagemaker, endpoint.name)
    assert status == "Failed"
    assert "model_fn raised NotImplementedError: Please provide a model_fn implementation." in (
        reason
    )
    assert "To fix: define model_fn(model_dir) in code/inference.py" in reason


# -- sagemaker-xgboost -----------------------------------------------------------------------


XGBOOST_IMAGE = f"683313688378.{ECR}/sagemaker-xgboost:1.7-1"


def test_builtin_xgboost_model_is_served_by_the_algorithm(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    tmp_path: Path,
) -> None:
    xgb = pytest.importorskip("xgboost")
    labels = (FEATURES[:, 0] > 1.5).astype(int)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(FEATURES, label=labels), 3
    )
    booster.save_model(str(tmp_path / "xgboost-model.json"))
    model = (tmp_path / "xgboost-model.json").read_bytes()
    endpoint = deploy({"xgboost-model": model}, image=XGBOOST_IMAGE, base_env={})
    answer = invoke(runtime, endpoint.name, body=csv_rows(FEATURES).strip())
    expected = booster.predict(xgb.DMatrix(FEATURES.astype(np.float32))).tolist()
    assert csv_predictions(answer) == expected
    assert serving.reads_csv_as_float32(endpoint.name)  # a DMatrix holds float32


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_xgboost_image_without_xgboost_fails_saying_what_to_install(
    make_serving: Callable[..., LocalServing],
    deploy: Callable[..., Deployed],
    sagemaker: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_serving(packages="test-env")  # an image runtime always has the image's xgboost
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "xgboost" else real(name, *a)
    )
    endpoint = deploy({"xgboost-model": b"x"}, image=XGBOOST_IMAGE, base_env={})
    status, reason = described(sagemaker, endpoint.name)
    assert status == "Failed"
    assert 'pip install "pytest-smendpoint[xgboost]"' in reason


def test_a_model_setting_import_time_variables_gets_a_fresh_interpreter(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
) -> None:
    script = """
        import os

        def output_fn(prediction, accept):
            return os.environ["OMP_NUM_THREADS"]
    """
    endpoint = deploy(
        with_model(classifier, script),
        env={"OMP_NUM_THREADS": "1", "SAGEMAKER_MODEL_SERVER_WORKERS": "1"},
    )
    [process] = model_processes(loaded_variants(serving, endpoint.name)[0])._all
    # Not forked from the zygote, whose numpy started its thread pools without the variable.
    assert isinstance(process.process, subprocess.Popen)
    assert invoke(runtime, endpoint.name) == b"1"


def test_xgboost_script_mode_uses_the_entry_script_and_xgboosts_decoder(
    serving: LocalServing, runtime: Any, deploy: Callable[..., Deployed], tmp_path: Path
) -> None:
    xgb = pytest.importorskip("xgboost")
    labels = (FEATURES[:, 0] > 1.5).astype(int)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(FEATURES, label=labels), 3
    )
    booster.save_model(str(tmp_path / "model.json"))
    script = """
        import os

        import xgboost

        def model_fn(model_dir):
            booster = xgboost.Booster()
            booster.load_model(os.path.join(model_dir, "model.json"))
            return booster
    """
    files = {"model.json": (tmp_path / "model.json").read_bytes(), "code/inference.py": script}
    endpoint = deploy(files, image=XGBOOST_IMAGE)  # SAGEMAKER_PROGRAM set: script mode
    answer = json.loads(invoke(runtime, endpoint.name, body=csv_rows(FEATURES).strip()))
    assert answer == booster.predict(xgb.DMatrix(FEATURES)).tolist()  # JSON by default here
    with pytest.raises(ClientError) as raised:  # its CSV decoder splits on "\n", no strip
        invoke(runtime, endpoint.name, body=csv_rows(FEATURES))
    assert raised.value.response["OriginalStatusCode"] == 500


# -- bounds -------------------------------------------------------------------------------------


def test_a_model_slower_than_the_invocation_limit_gets_a_model_error(
    serving: LocalServing,
    runtime: Any,
    deploy: Callable[..., Deployed],
    classifier: LogisticRegression,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pytest_smendpoint.serving import model_process

    # SageMaker's limit is 60 s; the same code path with a 1 s bound keeps the test short.
    monkeypatch.setattr(model_process, "INVOKE_TIMEOUT", 1.0)
    script = """
        import time

        def predict_fn(data, model):
            time.sleep(30)  # sleep-ok: a model that blows the invocation limit
    """
    endpoint = deploy(with_model(classifier, script))
    started = time.monotonic()
    with pytest.raises(runtime.exceptions.ModelError) as raised:
        invoke(runtime, endpoint.name)
    assert time.monotonic() - started < 10
    assert "the model did not answer within 1 s" in str(raised.value)


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_the_runtime_client_waits_longer_than_the_invocation_limit() -> None:
    # Over HTTP (the shared moto server under pytest-xdist), botocore's default 60 s read
    # timeout would race the endpoint's own 60 s bound, and a timed-out read is retried.
    import boto3

    from pytest_smendpoint.invoke.invoker import make_runtime_client
    from pytest_smendpoint.settings.options import InvokeSettings

    session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    client = make_runtime_client(session, InvokeSettings())
    assert client.meta.config.read_timeout == 70


@pytest.mark.slow  # over 1.5 s: not in the quick loop
def test_a_model_fn_that_never_returns_is_bounded_by_the_startup_timeout(
    make_serving: Callable[..., LocalServing], deploy: Callable[..., Deployed], sagemaker: Any
) -> None:
    make_serving(startup_timeout=1)  # --sm-container-startup-health-check-timeout, made short
    script = (
        "import time\n\ndef model_fn(model_dir):\n"
        "    time.sleep(600)  # sleep-ok: a model that never loads\n"
    )
    started = time.monotonic()
    endpoint = deploy({"code/inference.py": script})
    assert time.monotonic() - started < 15
    status, reason = described(sagemaker, endpoint.name)
    assert status == "Failed"
    assert "the model did not load within 1 s (the container's start-up health check timeout)" in (
        reason
    )
    assert model_workers() == []


def test_sys_exit_in_the_entry_script_fails_the_endpoint_with_its_code(
    serving: LocalServing, deploy: Callable[..., Deployed], sagemaker: Any
) -> None:
    script = "import sys\n\nsys.exit(3)\n\ndef model_fn(model_dir):\n    return None\n"
    endpoint = deploy({"code/inference.py": script})
    status, reason = described(sagemaker, endpoint.name)
    assert status == "Failed"
    assert "The entry script inference.py called sys.exit(3) while it was imported" in reason
    assert "SystemExit: 3" not in reason  # not a bare SystemExit


def test_model_folders_of_a_killed_run_are_removed_when_serving_starts(
    make_serving: Callable[..., LocalServing],
) -> None:
    import subprocess

    from pytest_smendpoint.tempdirs import MODEL_PREFIX

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                              capture_output=True, text=True)  # fmt: skip
    dead = Path(tempfile.gettempdir()) / f"{MODEL_PREFIX}{finished.stdout.strip()}-e-k2_x9abc"
    mine = Path(tempfile.mkdtemp(prefix=f"{MODEL_PREFIX}{os.getpid()}-e-"))
    (dead / "model").mkdir(parents=True)
    try:
        make_serving()  # what a session's moto backend does at start
        assert not dead.exists()  # its owner is gone: kill -9 skipped its cleanup
        assert mine.exists()  # a live process's folder is never touched
    finally:
        shutil.rmtree(dead, ignore_errors=True)
        shutil.rmtree(mine, ignore_errors=True)
