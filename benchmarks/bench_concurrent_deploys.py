"""N endpoints in one session: `sm_endpoint_factory.many([...])` (concurrent) against the loop a
user would write, `[sm_endpoint_factory(**c) for c in configurations]` (one after another).

Two settings, both in this process, nothing leaving the machine:

1. botocore's Stubber with a real `Creating` phase: every deployment has its own stubbed client
   that answers Creating CREATING_POLLS times, and the lifecycle really sleeps POLL_SECONDS
   between polls (about 1 s per deploy: short, but shaped like SageMaker's minutes, where
   nearly all of a deploy is waiting).
2. The moto default: the plugin's real session path (resolve, create, local serving loads the
   real model), where an endpoint is InService at once, so the gain is small; shown for honesty.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import _quickstart_model as quickstart

ENDPOINTS = 4
CREATING_POLLS = 4
POLL_SECONDS = 0.25
MOTO_REPEATS = 7
NOW = dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc)


def configurations() -> list[dict[str, Any]]:
    return [{"instance_count": n} for n in range(2, 2 + ENDPOINTS)]


def stubbed_opener() -> Callable[[Any], Any]:
    """Opens a configuration through the real Lifecycle on a stubbed client of its own."""
    import boto3
    from botocore.stub import ANY, Stubber

    from pytest_smendpoint.aws.lifecycle import Lifecycle
    from pytest_smendpoint.aws.records import EndpointPlan
    from pytest_smendpoint.aws.resolve import ModelSpec
    from pytest_smendpoint.aws.waiting import Backoff

    model = ModelSpec(
        image_uri=quickstart.IMAGE, role_arn=quickstart.ROLE, model_data_url="s3://bench/m.tar.gz"
    )
    lock = threading.Lock()  # boto3's default session is not thread-safe

    @contextlib.contextmanager
    def open_stubbed(config: Any) -> Iterator[Any]:
        name, model_name = config.settings.endpoint_name, config.settings.model_name
        with lock:
            client = boto3.client(
                "sagemaker",
                region_name="us-east-1",
                aws_access_key_id="x",
                aws_secret_access_key="x",
            )
        stub = Stubber(client)
        arn = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}"
        stub.add_response("create_model", {"ModelArn": arn}, None)
        stub.add_response("create_endpoint_config", {"EndpointConfigArn": arn}, None)
        stub.add_response("create_endpoint", {"EndpointArn": arn}, None)
        for status in ["Creating"] * CREATING_POLLS + ["InService"]:
            described = {
                "EndpointName": name,
                "EndpointArn": arn,
                "EndpointConfigName": name,
                "EndpointStatus": status,
                "CreationTime": NOW,
                "LastModifiedTime": NOW,
            }
            stub.add_response("describe_endpoint", described, {"EndpointName": name})
        stub.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": name,
                "EndpointConfigArn": arn,
                "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": model_name}],
                "CreationTime": NOW,
            },
            {"EndpointConfigName": ANY},
        )
        for operation in ("delete_endpoint", "delete_endpoint_config", "delete_model"):
            stub.add_response(operation, {}, None)
        lifecycle = Lifecycle(
            client,
            region="us-east-1",
            backend="aws",
            backoff=Backoff(first=POLL_SECONDS, factor=1.0, ceiling=POLL_SECONDS),
            sleep=time.sleep,  # sleep-ok: the Creating phase, stubbed, no network
        )
        plan = EndpointPlan(endpoint_name=name, config_name=name, model_name=model_name)
        with stub, lifecycle.deployed(model, plan) as record:
            yield record

    return open_stubbed


def race(make_factory: Callable[[], Any], repeats: int = 1) -> tuple[float, float]:
    """Median wall times of the concurrent path and of the user's loop, each round with a fresh
    factory, alternating which goes first (the garbage collector's pauses land on either)."""
    times: dict[str, list[float]] = {"many": [], "loop": []}
    for round_ in range(repeats):
        for mode in ("many", "loop") if round_ % 2 == 0 else ("loop", "many"):
            with make_factory() as factory:
                started = time.perf_counter()
                if mode == "many":
                    factory.many(configurations())
                else:
                    for overrides in configurations():  # what a user writes without .many
                        factory(**overrides)
                times[mode].append(time.perf_counter() - started)
    return statistics.median(times["many"]), statistics.median(times["loop"])


def report(title: str, concurrent: float, sequential: float) -> None:
    print(title)
    print(f"  one after another: {sequential:.2f} s")
    print(f"  factory.many:      {concurrent:.2f} s")
    print(f"  ratio: {sequential / concurrent:.1f}x faster ({ENDPOINTS} endpoints)")


def main() -> None:
    from pytest_smendpoint.endpoints.factory import EndpointFactory
    from pytest_smendpoint.endpoints.provider import DeployHooks, InProcessProvider, opener
    from pytest_smendpoint.settings.options import Settings

    scratch = Path(tempfile.mkdtemp(prefix="bench-concurrent-"))
    stubbed = stubbed_opener()
    one_deploy = CREATING_POLLS * POLL_SECONDS
    concurrent, sequential = race(
        lambda: EndpointFactory(
            Settings(), stubbed, name_base="bench", base_dir=scratch, default_model=object
        )
    )
    report(
        f"Stubber, Creating for ~{one_deploy:.1f} s per endpoint (real sleeps):",
        concurrent,
        sequential,
    )

    quickstart.require_model()
    from pytest_smendpoint.aws.backends import open_backend
    from pytest_smendpoint.settings.naming import SessionIdentity

    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    settings = quickstart.settings()
    with open_backend(settings) as backend:
        spec = quickstart.upload(backend)

        def moto_factory() -> EndpointFactory:
            identity = SessionIdentity.new()
            return EndpointFactory(
                settings,
                opener(InProcessProvider(), backend, identity, DeployHooks()),
                name_base=identity.name("endpoint"),
                base_dir=scratch,
                default_model=lambda: spec,
            )

        race(moto_factory)  # warm-up: first clients, the model loader's imports
        concurrent, sequential = race(moto_factory, MOTO_REPEATS)
    report(
        f"moto default (InService at once; real model loaded per endpoint), "
        f"median of {MOTO_REPEATS}:",
        concurrent,
        sequential,
    )


if __name__ == "__main__":
    main()
