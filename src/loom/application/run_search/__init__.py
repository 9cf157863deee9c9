"""The `loom run` use-case: RunSearch and what it needs (task prep, grading, session, artifacts)."""

from loom.application.run_search.usecase import RunRequest, RunSearch, new_run_id, resume_overrides

__all__ = ["RunRequest", "RunSearch", "new_run_id", "resume_overrides"]
