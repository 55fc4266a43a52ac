"""SageMaker SDK handles for a deployed endpoint: v2's Predictor or v3's Endpoint, whichever is
installed. The SDK is imported here only, when a test asks for `sm_predictor`."""

from __future__ import annotations

import importlib.util
from typing import Any

from pytest_smendpoint.aws.lifecycle import EndpointRecord


def sdk_major() -> int | None:
    """2 when `sagemaker.predictor` exists (SDK v2), 3 when `sagemaker.core` does, else None."""
    try:
        if importlib.util.find_spec("sagemaker.predictor") is not None:
            return 2
        if importlib.util.find_spec("sagemaker.core") is not None:
            return 3
    except ModuleNotFoundError:
        return None
    return None


def make_predictor(endpoint: EndpointRecord, boto_session: Any) -> Any:
    """A v2 Predictor with a CSVSerializer (and the SDK's default deserializer, so
    `predictor.predict(df.values).decode("utf-8")` works), or a v3 `Endpoint`."""
    major = sdk_major()
    if major == 2:
        import sagemaker
        from sagemaker.predictor import Predictor
        from sagemaker.serializers import CSVSerializer

        return Predictor(
            endpoint_name=endpoint.name,
            sagemaker_session=sagemaker.Session(boto_session=boto_session),
            serializer=CSVSerializer(),
        )
    if major == 3:
        from sagemaker.core.resources import Endpoint

        return Endpoint.get(
            endpoint_name=endpoint.name, session=boto_session, region=endpoint.region
        )
    raise ModuleNotFoundError(
        "sm_predictor needs the SageMaker Python SDK: pip install 'sagemaker<3' (v2 Predictor) "
        "or 'sagemaker>=3' (v3 Endpoint); sm_invoke and sm_endpoint work without it"
    )
