"""What served an endpoint, asked across processes: an xdist worker deploys through the
controller's shared moto server, whose LocalServing alone knows the model's runtime. The server
answers GET SERVED_BY_PREFIX<endpoint> (a path no AWS API has); the worker's serving hooks ask
it, so its endpoint records say what served them as in-process ones do."""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import quote

SERVED_BY_PREFIX = "/_smendpoint/served-by/"
SERVED_BY_PATH = re.compile("^" + re.escape(SERVED_BY_PREFIX) + r"([^/]+)$")
ASK_TIMEOUT = 10.0


def answer(description: str | None, csv_float32: bool = False) -> bytes:
    return json.dumps({"served_by": description, "csv_float32": csv_float32}).encode()


def _asked(server_url: str, endpoint_name: str) -> dict[str, object]:
    url = f"{server_url}{SERVED_BY_PREFIX}{quote(endpoint_name, safe='')}"
    with urllib.request.urlopen(url, timeout=ASK_TIMEOUT) as response:  # our loopback server
        found: dict[str, object] = json.loads(response.read())
    return found


def ask(server_url: str, endpoint_name: str) -> str | None:
    """The shared server's description (None when it serves no such endpoint)."""
    value = _asked(server_url, endpoint_name).get("served_by")
    return str(value) if value is not None else None


def ask_csv_float32(server_url: str, endpoint_name: str) -> bool:
    """Whether the shared server's model of the endpoint reads CSV numbers as float32."""
    return _asked(server_url, endpoint_name).get("csv_float32") is True


class RemoteServing:
    """An xdist worker's serving hooks: the controller's server loads models when moto creates
    endpoints, so creation and deletion need nothing here; descriptions are asked for."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url

    def endpoint_created(self, endpoint_name: str) -> None:
        return None

    def endpoint_deleted(self, endpoint_name: str) -> None:
        return None

    def job_ended(self, job_name: str, seconds: float) -> bool | None:
        return None  # the server runs the job: the worker polls DescribeTransformJob

    def inference_ended(self, inference_id: str, seconds: float) -> bool | None:
        return None  # the server answers it: the worker polls the output objects

    def runtime_description(self, endpoint_name: str) -> str | None:
        try:
            return ask(self.server_url, endpoint_name)
        except OSError:  # a report line is not worth failing a deploy over; it says "not recorded"
            return None

    def model_reads_csv_as_float32(self, model_name: str, instance_type: str) -> bool | None:
        """Not asked of the controller: the image and environment tell (sm_transform then keeps
        full precision for a model with an entry script)."""
        return None

    def reads_csv_as_float32(self, endpoint_name: str) -> bool:
        try:
            return ask_csv_float32(self.server_url, endpoint_name)
        except OSError:  # unknown: sm_invoke keeps full precision
            return False
