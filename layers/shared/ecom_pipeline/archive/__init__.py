"""archiver: after a SUCCEEDED run, move the run's source files to the archive bucket, verified."""

from ecom_pipeline.archive.service import (
    ArchiveError,
    ArchiveOutcome,
    ArchiverSettings,
    RunArchive,
    archive_key,
    archive_notification,
)

__all__ = ["ArchiveError", "ArchiveOutcome", "ArchiverSettings", "RunArchive", "archive_key",
           "archive_notification"]
