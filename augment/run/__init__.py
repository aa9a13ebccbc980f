"""`augment run`: a resumable job that pre-generates an augmented data set.

``config`` (the validated YAML/JSON), ``inputs`` (rows read shard by shard), ``shard`` (one
shard through the augmentation core into tables), ``manifest`` (what is done, for resuming),
``job`` (planning, running, merging), ``report`` (Markdown with plots) and ``ray`` (the Ray Data
engine)."""

from augment.run.config import ConfigError, RunConfig
from augment.run.inputs import InputError
from augment.run.job import Job, JobError, load_tables
from augment.run.manifest import ResumeError

__all__ = [
    "ConfigError",
    "InputError",
    "Job",
    "JobError",
    "ResumeError",
    "RunConfig",
    "load_tables",
]
