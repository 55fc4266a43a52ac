"""The baseline endpoint (`--sm-baseline-endpoint`): production's model, to compare against.

It is attached exactly as `--sm-existing-endpoint` is: described, never created, changed or
deleted, so a release gate can run the candidate and production on the same rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pytest_smendpoint.errors import SmEndpointError

if TYPE_CHECKING:  # imported at collection: nothing that brings botocore in
    from pytest_smendpoint.aws.backends import Backend
    from pytest_smendpoint.aws.records import EndpointRecord
    from pytest_smendpoint.settings.naming import SessionIdentity
    from pytest_smendpoint.settings.options import Settings

NO_BASELINE = (
    "no baseline endpoint is configured: give --sm-baseline-endpoint NAME "
    "(or the sm_baseline_endpoint ini key), the existing endpoint to compare against"
)


class BaselineError(SmEndpointError):
    """A baseline fixture was asked for, but no baseline endpoint is configured."""


@contextlib.contextmanager
def open_baseline(
    settings: Settings, backend: Backend, identity: SessionIdentity
) -> Iterator[EndpointRecord]:
    """The baseline, attached (owned=False): must be InService; nothing is ever deleted."""
    from pytest_smendpoint.aws.resolve import ExistingEndpoint
    from pytest_smendpoint.endpoints.deployment import open_endpoint
    from pytest_smendpoint.endpoints.plan import Deployment

    if settings.baseline_endpoint is None:
        raise BaselineError(NO_BASELINE)
    baseline = ExistingEndpoint(settings.baseline_endpoint)
    with open_endpoint(Deployment(baseline, settings, backend, identity)) as record:
        yield record
