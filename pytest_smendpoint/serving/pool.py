"""The models a local serving has loaded, apart from what serves them: each loaded once under
its key, held by the front ends that use it (endpoints, local_serving.py; the moto backend's
transform jobs, aws/backends/moto/transforms.py; a serverless endpoint would be another), and
unloaded when the last of them lets go.

What a key shares is the front end's choice. Endpoints key their models by the endpoint as
created, the variant and the model (`ModelKey`), so two endpoints of one model never share its
processes: on SageMaker each endpoint runs its own instances (its own instance type, memory
bound and worker processes, crashes and state), and an endpoint deleted and re-created under
the same name starts afresh.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from pytest_smendpoint.serving.errors import LocalServingError
from pytest_smendpoint.serving.invocation import ContainerSpec
from pytest_smendpoint.serving.loader import LoadedModel, load_model
from pytest_smendpoint.serving.modes import LoadOptions


@dataclass(frozen=True)
class ModelKey:
    """One loaded model: whose it is (a front end's own use of it: an endpoint as created),
    and which model, for which production variant."""

    user: Hashable
    model_name: str
    variant_name: str


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)  # held while loading
    loaded: LoadedModel | None = None
    users: int = 0


class ModelPool:
    """Loaded models by key, counted by their users; thread-safe."""

    def __init__(self, options: LoadOptions) -> None:
        self.options = options
        self._entries: dict[Hashable, _Entry] = {}
        self._lock = threading.Lock()
        self._closed = False

    def acquire(self, key: Hashable, spec: ContainerSpec, s3: Any) -> LoadedModel:
        """The model under `key`, loaded now (its data read through the front end's S3 client)
        unless another user holds it already; a load failure is raised as it is
        (ModelLoadError: why) and holds nothing."""
        with self._lock:
            if self._closed:
                raise LocalServingError("this model pool is closed")
            entry = self._entries.setdefault(key, _Entry())
            entry.users += 1
        try:
            with entry.lock:  # a second user of the same key waits for the first load
                if entry.loaded is None:
                    entry.loaded = load_model(spec, s3, self.options)
                return entry.loaded
        except BaseException:
            self._let_go(key, entry)
            raise

    def release(self, key: Hashable) -> None:
        """One user less; the last one out unloads the model (its close errors raised)."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None:
            self._let_go(key, entry)

    def keys(self) -> list[Hashable]:
        """The keys held now."""
        with self._lock:
            return list(self._entries)

    def close(self) -> None:
        """Unload everything, held or not, and load nothing more; safe to call twice."""
        with self._lock:
            self._closed = True
            entries, self._entries = list(self._entries.values()), {}
        errors = []
        for entry in entries:
            with entry.lock:  # waits for a load in progress, then unloads what it produced
                loaded, entry.loaded = entry.loaded, None
            if loaded is None:
                continue
            try:
                loaded.close()
            except Exception as error:  # one bad unload must not leave other processes running
                errors.append(error)
        if errors:
            raise LocalServingError(f"unloading failed: {errors}")

    def _let_go(self, key: Hashable, entry: _Entry) -> None:
        with self._lock:
            entry.users -= 1
            if entry.users > 0:
                return
            if self._entries.get(key) is entry:
                del self._entries[key]
        with entry.lock:
            loaded, entry.loaded = entry.loaded, None
        if loaded is not None:
            loaded.close()
