"""APScheduler 3's job-store table, declared here so migrations create it and autogenerate
knows it. The columns are exactly those ``SQLAlchemyJobStore`` expects."""

from __future__ import annotations

from sqlalchemy import Column, Float, LargeBinary, Table, Unicode

from scheduler.db.base import Base

JOBS_TABLE = "apscheduler_jobs"

apscheduler_jobs = Table(
    JOBS_TABLE,
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
