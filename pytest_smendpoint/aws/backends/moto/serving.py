"""LocalServing attached to moto: the container emulator (serving/) serving the mocked account's
endpoints, told of their creation by moto itself (hooks.py) and answering InvokeEndpoint in
botocore (routing.py), with what each endpoint serves read from moto's state (state.py); and
running its transform jobs and asynchronous requests for real (transforms.py,
async_invocations.py)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pytest_smendpoint.aws.backends.moto import async_invocations, hooks, routing, transforms
from pytest_smendpoint.aws.backends.moto.state import MotoDeployments
from pytest_smendpoint.serving.local_serving import LocalServing
from pytest_smendpoint.serving.runtimes.selection import RuntimePolicy


class MotoServing(LocalServing):
    """The ServingHooks of the moto backend: a LocalServing of the mocked account's endpoints."""

    def __init__(
        self,
        region: str,
        account_id: str,
        serve_command: str | None = None,
        startup_timeout: float | None = None,
        serve_directory: Path | None = None,
        runtime_policy: RuntimePolicy | None = None,
    ) -> None:
        super().__init__(
            region,
            account_id,
            MotoDeployments(account_id),
            serve_command=serve_command,
            startup_timeout=startup_timeout,
            serve_directory=serve_directory,
            runtime_policy=runtime_policy,
        )
        self.transforms = transforms.TransformJobs(self)
        self.async_invocations = async_invocations.AsyncInvocations(self)

    @property
    def operations(self) -> Mapping[str, routing.Operation]:
        """The sagemaker-runtime operations answered beside InvokeEndpoint."""
        return {
            "InvokeEndpointAsync": self.async_invocations.answer,
            "InvokeEndpoint": self.async_invocations.refuse_or_invoke,
        }

    def model_reads_csv_as_float32(self, model_name: str, instance_type: str) -> bool | None:
        """Loaded once here to ask it (transforms.py)."""
        return self.transforms.reads_csv_as_float32(self.region, model_name, instance_type)

    def job_ended(self, job_name: str, seconds: float) -> bool | None:
        """The job runs here: its end is an event, not something to poll for."""
        return self.transforms.wait(self.region, job_name, seconds)

    def inference_ended(self, inference_id: str, seconds: float) -> bool | None:
        """An asynchronous request runs here: its answer is an event, not something to poll."""
        return self.async_invocations.ended(inference_id, seconds)

    def install(self) -> None:
        """Route InvokeEndpoint of every sagemaker-runtime client made from now on to this, and
        load the models of every endpoint moto creates from now on."""
        super().install()
        routing.attach(self, self.operations)
        hooks.attach(self)
        transforms.attach(self.transforms)

    def close(self) -> None:
        """Stop routing and loading, then unload everything; safe to call twice."""
        routing.detach(self)
        hooks.detach(self)
        transforms.detach(self.transforms)
        try:
            self.transforms.close()  # running jobs stop, and their model processes
            self.async_invocations.close()
        finally:
            super().close()
