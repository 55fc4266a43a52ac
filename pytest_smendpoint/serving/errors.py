"""Errors of the local serving: a model that cannot load, and an invocation the model rejected."""

from __future__ import annotations

from pytest_smendpoint.errors import SmEndpointError


class LocalServingError(SmEndpointError):
    """Base of the errors raised while serving endpoints locally behind moto."""


class ModelLoadError(LocalServingError):
    """A model could not be loaded; its message becomes the endpoint's FailureReason."""


class EndpointNotFound(LocalServingError):
    """The endpoint does not exist (or no longer exists) in the mocked account."""

    def __init__(self, endpoint_name: str, account_id: str) -> None:
        self.endpoint_name = endpoint_name
        # SageMaker's own wording for InvokeEndpoint on a missing endpoint.
        super().__init__(f"Endpoint {endpoint_name} of account {account_id} not found.")


class InvocationRefused(LocalServingError):
    """SageMaker refuses the call before any container sees it: a ValidationError to the caller."""


class VariantNotFound(InvocationRefused):
    """InvokeEndpoint's TargetVariant names no production variant of the endpoint."""

    def __init__(self, endpoint_name: str, variant_name: str, account_id: str) -> None:
        self.endpoint_name = endpoint_name
        self.variant_name = variant_name
        # SageMaker answers ValidationError naming the variant; its exact text is not published
        # (the SageMaker Python SDK's own integration test pins only those two facts). Worded
        # like the endpoint-not-found message above.
        super().__init__(
            f"Variant {variant_name} of endpoint {endpoint_name} of account {account_id} not found."
        )


class NoTrafficVariant(InvocationRefused):
    """Every production variant has weight 0, so only a call with TargetVariant can be served."""

    def __init__(self, endpoint_name: str) -> None:
        self.endpoint_name = endpoint_name
        super().__init__(
            f"Endpoint {endpoint_name} has no production variant with a weight above 0: "
            "set TargetVariant, or raise a variant's weight (UpdateEndpointWeightsAndCapacities)."
        )


class EndpointNotServed(LocalServingError):
    """The endpoint exists but cannot answer: its model failed to load."""


class InvocationError(LocalServingError):
    """The model (handler or BYO server) failed a request: becomes a ModelError to the caller."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"({status}) {message}")


class PayloadTooLarge(LocalServingError):
    """The request body is over the endpoint's limit (a serverless endpoint's 4 MiB): SageMaker's
    front end answers HTTP 413 before any container sees it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"HTTP content length exceeded {limit} bytes.")


class Throttled(LocalServingError):
    """A serverless variant already has MaxConcurrency requests in flight: SageMaker answers
    ThrottlingException, which botocore's retry modes retry."""

    def __init__(self, endpoint_name: str, variant_name: str, max_concurrency: int) -> None:
        self.endpoint_name = endpoint_name
        self.variant_name = variant_name
        self.max_concurrency = max_concurrency
        super().__init__(
            f"endpoint {endpoint_name}: production variant {variant_name} already serves its "
            f"MaxConcurrency ({max_concurrency}) requests"
        )
