"""Load an endpoint's models when moto's SageMaker backend creates it, and unload them when it
deletes it, however the call arrived: the plugin's lifecycle, a user's plain boto3 client, the
SageMaker SDKs, in-process under mock_aws or through the moto server pytest-xdist shares.

moto has no Creating phase: its CreateEndpoint makes the endpoint InService at once.
Wrapping the backend's create_endpoint is the one place every caller passes, so a model that
cannot load turns the endpoint Failed before CreateEndpoint returns, as SageMaker would (later).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_smendpoint.serving.local_serving import LocalServing

logger = logging.getLogger("pytest_smendpoint.serving")

_LOCK = threading.Lock()
_SERVINGS: list[LocalServing] = []
# moto's own methods, kept while wrapped: {method name: original function}.
_ORIGINALS: dict[str, Callable[..., Any]] = {}


def attach(serving: LocalServing) -> None:
    """Tell `serving` about every endpoint created or deleted in its account from now on."""
    from moto.sagemaker.models import SageMakerModelBackend

    with _LOCK:
        if serving in _SERVINGS:
            return
        if not _SERVINGS:
            for name, wrapper in _WRAPPERS.items():
                _ORIGINALS[name] = getattr(SageMakerModelBackend, name)
                setattr(SageMakerModelBackend, name, wrapper)
        _SERVINGS.append(serving)


def detach(serving: LocalServing) -> None:
    """Stop telling `serving`; the last one out restores moto's own methods."""
    with _LOCK:
        if serving not in _SERVINGS:
            return
        _SERVINGS.remove(serving)
        if _SERVINGS:
            return
        from moto.sagemaker.models import SageMakerModelBackend

        for name, wrapper in _WRAPPERS.items():
            original = _ORIGINALS.pop(name)
            # Something that patched moto after us (a test's monkeypatch) keeps its patch.
            if getattr(SageMakerModelBackend, name) is wrapper:
                setattr(SageMakerModelBackend, name, original)


def _servings(backend: Any) -> list[LocalServing]:
    with _LOCK:
        return [s for s in _SERVINGS if s.account_id == backend.account_id]


def _create_endpoint(backend: Any, *args: Any, **kwargs: Any) -> Any:
    endpoint = _ORIGINALS["create_endpoint"](backend, *args, **kwargs)
    for serving in _servings(backend):
        try:
            # A model that cannot load marks the endpoint Failed; this never raises for that.
            serving.load_created(backend.region_name, endpoint)
        except Exception:  # CreateEndpoint itself succeeded: a serving bug is logged, not raised
            logger.exception(
                "local serving failed after CreateEndpoint of %s", endpoint.endpoint_name
            )
    return endpoint


def _delete_endpoint(backend: Any, endpoint_name: str, *args: Any, **kwargs: Any) -> Any:
    result = _ORIGINALS["delete_endpoint"](backend, endpoint_name, *args, **kwargs)
    for serving in _servings(backend):
        try:
            serving.unload(backend.region_name, endpoint_name)
        except Exception:
            logger.exception("local serving failed after DeleteEndpoint of %s", endpoint_name)
    return result


_WRAPPERS: dict[str, Callable[..., Any]] = {
    "create_endpoint": _create_endpoint,
    "delete_endpoint": _delete_endpoint,
}
