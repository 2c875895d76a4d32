"""The last run of each scheduled duty, written by the leader so every process (standbys,
``serve --no-jobs`` replicas) and every operator can see whether the jobs are running."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scheduler.db.base import Base


class DutyRun(Base):
    __tablename__ = "duty_runs"

    duty: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[datetime | None]
    last_succeeded_at: Mapped[datetime | None]
    last_failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    runs: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    leader: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime]
