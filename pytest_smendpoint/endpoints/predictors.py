"""SageMaker SDK handles for a deployed endpoint: v2's Predictor or v3's Endpoint, whichever is
installed. The SDK is imported here only, when a test asks for `sm_predictor`."""

from __future__ import annotations

import importlib.util
from typing import Any

from pytest_smendpoint.aws.records import EndpointRecord
from pytest_smendpoint.settings.endpoint_kinds import EndpointKind


def sdk_major() -> int | None:
    """3 when `sagemaker.core` exists (SDK v3), 2 when `sagemaker.predictor` does, else None."""
    # v3 first: once sagemaker.core is imported (a user's TrainingJob, Model, ModelBuilder), its
    # finder for removed v2 modules makes find_spec("sagemaker.predictor") raise
    # ModuleNotFoundError instead of returning None.
    for name, major in (("sagemaker.core", 3), ("sagemaker.predictor", 2)):
        try:
            if importlib.util.find_spec(name) is not None:
                return major
        except ModuleNotFoundError:  # no `sagemaker` at all
            return None
    return None


def make_predictor(endpoint: EndpointRecord, boto_session: Any) -> Any:
    """A v2 Predictor with a CSVSerializer (and the SDK's default deserializer, so
    `predictor.predict(df.values).decode("utf-8")` works), wrapped in the SDK's AsyncPredictor
    for an asynchronous endpoint; or a v3 `Endpoint` (its `invoke_async` takes an
    InputLocation)."""
    major = sdk_major()
    if major == 2:
        import sagemaker
        from sagemaker.predictor import Predictor
        from sagemaker.serializers import CSVSerializer

        predictor = Predictor(
            endpoint_name=endpoint.name,
            sagemaker_session=sagemaker.Session(boto_session=boto_session),
            serializer=CSVSerializer(),
        )
        if endpoint.kind is EndpointKind.ASYNC:
            from sagemaker.predictor_async import AsyncPredictor

            return AsyncPredictor(predictor)
        return predictor
    if major == 3:
        from sagemaker.core.resources import Endpoint

        return Endpoint.get(
            endpoint_name=endpoint.name, session=boto_session, region=endpoint.region
        )
    from pytest_smendpoint.extras import MissingExtraError, install_hint

    raise MissingExtraError(
        "sm_predictor needs the SageMaker Python SDK: "
        f"{install_hint('sdk2', 'sdk3')} (v2 Predictor or v3 Endpoint); "
        "sm_invoke and sm_endpoint work without it"
    )
