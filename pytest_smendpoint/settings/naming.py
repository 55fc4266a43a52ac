"""Readable, unique names and the tags that mark what a session created."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

TAG_SESSION = "pytest-smendpoint:session"
TAG_CREATED = "pytest-smendpoint:created"
TAG_RUN_LABEL = "pytest-smendpoint:run-label"
# Renewed while the session runs (aws/liveness.py): a sweep leaves the session alone until then.
TAG_ALIVE_UNTIL = "pytest-smendpoint:alive-until"


@dataclass(frozen=True)
class SessionIdentity:
    """Who this test session is: the id in every generated name and every tag."""

    session_id: str
    created_at: str
    run_label: str | None = None  # --sm-run-label, or the CI run id: lets a sweep find a run

    @classmethod
    def new(cls, run_label: str | None = None) -> SessionIdentity:
        now = datetime.now(timezone.utc)
        return cls(
            session_id=f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}",
            created_at=now.isoformat(timespec="seconds"),
            run_label=run_label,
        )

    def name(self, kind: str) -> str:
        """A SageMaker-valid name such as `pytest-sm-20261125-101500-a1b2c3-model`."""
        base = f"pytest-sm-{self.session_id}"
        return base if kind == "endpoint" else f"{base}-{kind}"

    def tags(self) -> list[dict[str, str]]:
        tags = [
            {"Key": TAG_SESSION, "Value": self.session_id},
            {"Key": TAG_CREATED, "Value": self.created_at},
        ]
        if self.run_label:
            tags.append({"Key": TAG_RUN_LABEL, "Value": self.run_label})
        return tags
