"""The plugin's own exceptions: one base class, each carrying what a user needs to act on it."""

from __future__ import annotations


class SmEndpointError(Exception):
    """Base of every error pytest-smendpoint raises on purpose."""


class SettingsError(SmEndpointError):
    """A setting's value is bad: the message names the option, where it was set, and why (the
    pytest glue, settings/pytest_config.py, raises it as pytest.UsageError with the same text)."""


class AwsCallError(SmEndpointError):
    """An AWS call failed: names the operation, the resource and AWS's own reason."""

    def __init__(self, operation: str, resource: str, reason: str) -> None:
        self.operation = operation
        self.resource = resource
        self.reason = reason
        super().__init__(f"{operation} failed for {resource}: {reason}")


class ModelResolutionError(SmEndpointError):
    """The configured model source cannot give a deployable model (job not finished, ...)."""


class DeployError(SmEndpointError):
    """The endpoint did not reach InService: carries SageMaker's FailureReason or the timeout."""

    def __init__(self, endpoint_name: str, status: str, reason: str, cleanup: str = "") -> None:
        self.endpoint_name = endpoint_name
        self.status = status
        self.reason = reason
        self.cleanup = cleanup
        message = f"endpoint {endpoint_name!r} ended {status}: {reason}"
        if cleanup:
            message += f"\n{cleanup}"
        super().__init__(message)


class TransformJobError(SmEndpointError):
    """A Batch Transform job did not complete: SageMaker's FailureReason (or the timeout), and
    what the job's log and the cleanup said."""

    def __init__(self, job_name: str, status: str, reason: str, details: str = "") -> None:
        self.job_name = job_name
        self.status = status
        self.reason = reason
        self.details = details
        message = f"transform job {job_name!r} ended {status}: {reason}"
        if details:
            message += f"\n{details}"
        super().__init__(message)


class TeardownError(SmEndpointError):
    """Some resources could not be deleted; the message holds the commands to finish by hand."""

    def __init__(self, failures: list[str], commands: list[str]) -> None:
        self.failures = failures
        self.commands = commands
        lines = ["pytest-smendpoint could not delete everything it created:"]
        lines += [f"  - {failure}" for failure in failures]
        lines.append("Delete them by hand:")
        lines += [f"  {command}" for command in commands]
        super().__init__("\n".join(lines))
