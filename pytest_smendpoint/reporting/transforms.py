"""sm_transform's jobs in the session report: one entry per job (rows, objects, throughput,
durations, status), the figures gates can name (`transform_rows_per_s`: every job must meet it;
`transform_errors`: the jobs that did not complete), and the table the Markdown and HTML show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

TRANSFORM_FIGURES = ("transform_rows_per_s", "transform_errors")


@dataclass(frozen=True)
class TransformReport:
    """One Batch Transform job of the session, as reported (from a TransformRecord)."""

    job_name: str
    source: str
    instance_type: str
    instance_count: int
    rows: int
    objects: int
    status: str
    job_seconds: float
    call_seconds: float
    failure: str | None = None

    @classmethod
    def from_record(cls, record: Any) -> TransformReport:
        return cls(**{f.name: getattr(record, f.name) for f in fields(cls)})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TransformReport:
        return cls(**{f.name: data[f.name] for f in fields(cls)})

    @property
    def rows_per_second(self) -> float | None:
        """Rows over the whole call (upload, job, read back): what a user waits for."""
        if self.call_seconds <= 0 or not self.rows:
            return None
        return self.rows / self.call_seconds

    @property
    def completed(self) -> bool:
        return self.status == "Completed" and self.failure is None

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["job_seconds"] = round(self.job_seconds, 3)
        data["call_seconds"] = round(self.call_seconds, 3)
        rate = self.rows_per_second
        data["rows_per_second"] = None if rate is None else round(rate, 1)
        return data

    def summary_lines(self) -> list[str]:
        rate = self.rows_per_second
        line = (
            f"{self.job_name} (sm_transform, {self.instance_type} x {self.instance_count}): "
            f"{self.status}, {self.rows:,} rows in {self.objects} objects, "
            f"{self.call_seconds:.2f} s ({self.job_seconds:.2f} s in the job)"
        )
        if rate is not None:
            line += f", {rate:,.0f} rows/s"
        lines = [line, f"  input: {self.source}"]
        if self.failure:
            lines.append(f"  failed: {self.failure}")
        return lines


def transform_figures(
    transforms: tuple[TransformReport, ...],
) -> dict[str, list[tuple[float, str]]]:
    """What gates can name: each job's rows per second, and how many jobs did not complete."""
    if not transforms:
        return {}
    figures: dict[str, list[tuple[float, str]]] = {
        "transform_errors": [(float(sum(not job.completed for job in transforms)), "")]
    }
    rates = [
        (rate, f"transform job {job.job_name}")
        for job in transforms
        if (rate := job.rows_per_second) is not None
    ]
    if rates:
        figures["transform_rows_per_s"] = rates
    return figures
