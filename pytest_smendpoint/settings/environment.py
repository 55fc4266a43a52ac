"""A container's environment whose values are never shown: they are often credentials.

`--sm-env` and a model's environment travel through settings, model specs, error messages and
pytest's long tracebacks (which print every frame's arguments with `repr`). Keys are shown,
values are `***`, wherever the environment is printed; reading it as a Mapping still works.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

MASK = "***"


def masked_items(env: Mapping[str, Any]) -> str:
    """`A=***, B=***`: what may be shown of an environment."""
    return ", ".join(f"{key}={MASK}" for key in env)


class ContainerEnvironment(Mapping[str, str]):
    """An immutable str -> str mapping whose repr and str mask every value."""

    __slots__ = ("_items",)

    def __init__(
        self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), /, **more: Any
    ) -> None:
        merged = dict(items)
        merged.update(more)
        self._items: dict[str, str] = {str(k): str(v) for k, v in merged.items()}

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._items.items())))

    def __or__(self, other: Mapping[str, Any]) -> ContainerEnvironment:
        return ContainerEnvironment({**self._items, **other})

    def __repr__(self) -> str:
        return f"ContainerEnvironment({masked_items(self._items)})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        return (ContainerEnvironment, (self._items,))

    def request_value(self) -> dict[str, str]:
        """A plain-dict copy for an API call (botocore wants a dict) that still prints masked."""
        return MaskedDict(self._items)


class MaskedDict(dict):  # type: ignore[type-arg]
    """A dict (for libraries that insist on one) whose repr masks its values."""

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{key!r}: {MASK!r}" for key in self) + "}"

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        return (MaskedDict, (dict(self),))


def as_environment(value: Mapping[str, Any] | None) -> ContainerEnvironment:
    """Any mapping (a dict, a mappingproxy, one read from JSON) as a ContainerEnvironment."""
    if isinstance(value, ContainerEnvironment):
        return value
    return ContainerEnvironment(value or {})
