"""Run accounting: every row read is either valid or rejected, every valid row a candidate or a collapsed
duplicate, every candidate inserted, updated or kept-stored; for the run and for every file. The run
fails loudly when it does not add up.

Each side of every identity is counted at a different point, so a row lost or doubled on the way shows:
rows read as they leave the shuffle on either side, valid rows as they enter the collapse, candidates
and duplicates as the collapse ranks them, rejects by reason as they reach the rejects writer,
inserted/updated/kept-stored per file by the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ecom_pipeline.contracts import ACCOUNTING_KEYS, REJECT_REASONS
from ecom_pipeline.warehouse.base import UpsertResult


class AccountingError(RuntimeError):
    """The run's numbers do not add up: some rows were lost or counted twice."""


def _no_rejects() -> dict[str, int]:
    return {reason.value: 0 for reason in REJECT_REASONS}


@dataclass
class FileCounts:
    """What happened to the rows of one source file."""

    rows_read: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    rejects_by_reason: dict[str, int] = field(default_factory=_no_rejects)
    duplicates_collapsed: int = 0
    candidates: int = 0
    inserted: int = 0
    updated: int = 0
    kept_stored: int = 0

    def problems(self) -> list[str]:
        """Every identity that fails, the upsert's included."""
        found = self.staging_problems()
        stored = self.inserted + self.updated + self.kept_stored
        if self.candidates != stored:
            found.append(f"candidates {self.candidates} != inserted {self.inserted} + updated "
                         f"{self.updated} + kept_stored {self.kept_stored}")
        if min(self.inserted, self.updated, self.kept_stored) < 0:
            found.append("an upsert count is negative")
        return found

    def staging_problems(self) -> list[str]:
        """The identities the job can check before the warehouse is touched."""
        found = []
        if self.rows_read != self.rows_valid + self.rows_rejected:
            found.append(f"rows_read {self.rows_read} != rows_valid {self.rows_valid} "
                         f"+ rows_rejected {self.rows_rejected}")
        if self.rows_rejected != sum(self.rejects_by_reason.values()):
            found.append(f"rows_rejected {self.rows_rejected} != sum of rejects_by_reason "
                         f"{sum(self.rejects_by_reason.values())}")
        if self.rows_valid != self.candidates + self.duplicates_collapsed:
            found.append(f"rows_valid {self.rows_valid} != candidates {self.candidates} "
                         f"+ duplicates_collapsed {self.duplicates_collapsed}")
        if min(self.rows_read, self.rows_valid, self.rows_rejected, self.duplicates_collapsed,
               self.candidates, *self.rejects_by_reason.values()) < 0:
            found.append("a count is negative")
        return found


def check_staged(per_file: Mapping[str, FileCounts]) -> None:
    """Raise AccountingError when a file's rows do not add up before the upsert: a run whose rows were
    lost or doubled on the way to its outputs never reaches the warehouse."""
    problems = [f"{name}: {problem}" for name, one in per_file.items() for problem in one.staging_problems()]
    if problems:
        raise AccountingError("accounting does not add up: " + "; ".join(problems))


# What the job counts per file (contracts' reject codes besides): the keys of `file_counts` input.
OBSERVED: tuple[str, ...] = ("rows_read", "rows_valid", "candidates", "duplicates_collapsed")


def file_counts(source_files: Iterable[str],
                observed: Mapping[str, Mapping[str, Any]]) -> dict[str, FileCounts]:
    """Per-file counts from what the job observed (OBSERVED and one count per reject code, by file),
    with zeros for files that had no rows; rows_rejected is the sum of the rejects by reason."""
    counts = {name: FileCounts() for name in source_files}
    for name, seen in observed.items():
        if name not in counts:
            raise AccountingError(f"rows counted for {name!r}, which the run did not read")
        by_reason = {reason.value: int(seen.get(reason.value) or 0) for reason in REJECT_REASONS}
        counts[name] = FileCounts(rows_rejected=sum(by_reason.values()), rejects_by_reason=by_reason,
                                  **{key: int(seen.get(key) or 0) for key in OBSERVED})
    return counts


def run_accounting(per_file: Mapping[str, FileCounts], upsert: UpsertResult) -> dict[str, Any]:
    """The run's accounting (contracts.ACCOUNTING_KEYS, plus candidates and per_file); checked first.

    Each file gets the warehouse's inserted/updated/kept_stored for its rows (`upsert.per_file`).
    """
    strangers = sorted(set(upsert.per_file) - set(per_file))
    if strangers:
        raise AccountingError(f"the warehouse counted rows of {strangers}, which the run did not read")
    nothing = UpsertResult(0, 0, 0)
    per_file = {name: replace(one, **{part: getattr(upsert.per_file.get(name, nothing), part)
                                      for part in ("inserted", "updated", "kept_stored")})
                for name, one in per_file.items()}
    totals = FileCounts(rejects_by_reason=_no_rejects())
    for one in per_file.values():
        totals.rows_read += one.rows_read
        totals.rows_valid += one.rows_valid
        totals.rows_rejected += one.rows_rejected
        totals.duplicates_collapsed += one.duplicates_collapsed
        totals.candidates += one.candidates
        for reason, number in one.rejects_by_reason.items():
            totals.rejects_by_reason[reason] += number
    accounting: dict[str, Any] = {
        "rows_read": totals.rows_read,
        "rows_valid": totals.rows_valid,
        "rows_rejected": totals.rows_rejected,
        "rejects_by_reason": totals.rejects_by_reason,
        "duplicates_collapsed": totals.duplicates_collapsed,
        "inserted": upsert.inserted,
        "updated": upsert.updated,
        "kept_stored": upsert.kept_stored,
        "candidates": totals.candidates,
        "per_file": {name: _as_dict(one) for name, one in per_file.items()},
    }
    check(accounting)
    return accounting


def _as_dict(counts: FileCounts) -> dict[str, Any]:
    return {"rows_read": counts.rows_read, "rows_valid": counts.rows_valid,
            "rows_rejected": counts.rows_rejected, "rejects_by_reason": dict(counts.rejects_by_reason),
            "duplicates_collapsed": counts.duplicates_collapsed, "candidates": counts.candidates,
            "inserted": counts.inserted, "updated": counts.updated, "kept_stored": counts.kept_stored}


def check(accounting: Mapping[str, Any]) -> None:
    """Raise AccountingError listing every identity that fails, for the run and for each file."""
    problems = []
    missing = [key for key in ACCOUNTING_KEYS if key not in accounting]
    if missing:
        raise AccountingError(f"accounting lacks {missing}")
    run = FileCounts(
        rows_read=accounting["rows_read"], rows_valid=accounting["rows_valid"],
        rows_rejected=accounting["rows_rejected"], rejects_by_reason=dict(accounting["rejects_by_reason"]),
        duplicates_collapsed=accounting["duplicates_collapsed"], candidates=accounting["candidates"],
        inserted=accounting["inserted"], updated=accounting["updated"], kept_stored=accounting["kept_stored"])
    problems += [f"run: {p}" for p in run.problems()]
    for name, one in accounting.get("per_file", {}).items():
        problems += [f"{name}: {p}" for p in FileCounts(**one).problems()]
    if problems:
        raise AccountingError("accounting does not add up: " + "; ".join(problems))


def public(accounting: Mapping[str, Any]) -> dict[str, Any]:
    """Only contracts.ACCOUNTING_KEYS, in contract order (what `ecom-pipeline process` prints)."""
    return {key: accounting[key] for key in ACCOUNTING_KEYS}
