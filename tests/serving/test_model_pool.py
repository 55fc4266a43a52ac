"""The pool of loaded models under the endpoints front end: one load per key however many users,
unloaded when the last lets go; and endpoints of one model keep their own processes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.localsupport import (
    FEATURES,
    REGION,
    Deployed,
    csv_predictions,
    csv_rows,
    with_model,
)

from pytest_smendpoint.serving import LocalServingError
from pytest_smendpoint.serving import pool as pool_module
from pytest_smendpoint.serving.errors import ModelLoadError
from pytest_smendpoint.serving.invocation import ContainerSpec
from pytest_smendpoint.serving.modes import LoadOptions
from pytest_smendpoint.serving.pool import ModelKey, ModelPool

SPEC = ContainerSpec("ep", "AllTraffic", "m", "s3://models/m.tar.gz")
KEY = ModelKey("endpoint 1", "m", "AllTraffic")


class _Loaded:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[_Loaded]:
    """Every model the pool loads, in order (nothing is fetched or started)."""
    made: list[_Loaded] = []

    def load(spec: ContainerSpec, s3: Any, options: LoadOptions) -> _Loaded:
        made.append(_Loaded())
        return made[-1]

    monkeypatch.setattr(pool_module, "load_model", load)
    return made


def _pool() -> ModelPool:
    return ModelPool(LoadOptions(serve_command=None, startup_timeout=1.0))


def test_a_key_is_loaded_once_and_unloaded_when_its_last_user_lets_go(
    loads: list[_Loaded],
) -> None:
    pool = _pool()
    first = pool.acquire(KEY, SPEC, None)
    assert pool.acquire(KEY, SPEC, None) is first
    assert len(loads) == 1
    pool.release(KEY)
    assert loads[0].closed == 0 and pool.keys() == [KEY]
    pool.release(KEY)
    assert loads[0].closed == 1 and pool.keys() == []


def test_concurrent_first_users_of_a_key_share_one_load(
    loads: list[_Loaded], monkeypatch: pytest.MonkeyPatch
) -> None:
    started, go = threading.Event(), threading.Event()

    def slow_load(spec: ContainerSpec, s3: Any, options: LoadOptions) -> Any:
        started.set()
        go.wait(5)
        loads.append(_Loaded())
        return loads[-1]

    monkeypatch.setattr(pool_module, "load_model", slow_load)
    pool = _pool()
    got: list[Any] = []
    threads = [threading.Thread(target=lambda: got.append(pool.acquire(KEY, SPEC, None)))]
    threads[0].start()
    started.wait(5)
    threads.append(threading.Thread(target=lambda: got.append(pool.acquire(KEY, SPEC, None))))
    threads[1].start()
    go.set()
    for thread in threads:
        thread.join(5)
    assert len(loads) == 1 and got == [loads[0], loads[0]]


def test_a_failed_load_holds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(spec: ContainerSpec, s3: Any, options: LoadOptions) -> Any:
        raise ModelLoadError("no weights")

    monkeypatch.setattr(pool_module, "load_model", refuse)
    pool = _pool()
    with pytest.raises(ModelLoadError, match="no weights"):
        pool.acquire(KEY, SPEC, None)
    assert pool.keys() == []


def test_a_closed_pool_unloads_everything_and_loads_nothing_more(loads: list[_Loaded]) -> None:
    pool = _pool()
    pool.acquire(KEY, SPEC, None)
    pool.acquire(ModelKey("endpoint 2", "m", "AllTraffic"), SPEC, None)
    pool.close()
    assert [item.closed for item in loads] == [1, 1]
    with pytest.raises(LocalServingError, match="closed"):
        pool.acquire(KEY, SPEC, None)
    pool.close()  # twice is fine


def test_two_endpoints_of_one_model_keep_their_own_processes(
    serving: Any,
    runtime: Any,
    sagemaker: Any,
    deploy: Callable[..., Deployed],
    classifier: Any,
) -> None:
    first = deploy(with_model(classifier))
    sagemaker.create_endpoint_config(
        EndpointConfigName="again",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": first.model_name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName="again", EndpointConfigName="again")
    [one] = serving._slots[(REGION, first.name)].variants.loaded
    [other] = serving._slots[(REGION, "again")].variants.loaded
    assert one is not other and one.workdir != other.workdir
    assert len(serving.pool.keys()) == 2

    sagemaker.delete_endpoint(EndpointName=first.name)
    assert not Path(one.workdir).exists() and Path(other.workdir).is_dir()
    body = runtime.invoke_endpoint(
        EndpointName="again",
        Body=csv_rows(FEATURES[:2]),
        ContentType="text/csv",
        Accept="text/csv",
    )["Body"].read()
    assert csv_predictions(body) == classifier.predict(FEATURES[:2].astype("float32")).tolist()
    sagemaker.delete_endpoint(EndpointName="again")
    assert serving.pool.keys() == []
