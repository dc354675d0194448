"""Run accounting: every row read is either valid or rejected, every valid row a candidate or a collapsed
duplicate, every candidate inserted, updated or kept-stored. The run fails loudly when it does not add up.

inserted/updated/kept_stored come from the warehouse upsert as totals for the run; per file the job
reports read/valid/rejected/by-reason/duplicates/candidates (the upsert does not say which file a changed
row came from).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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

    def problems(self) -> list[str]:
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


def file_counts(source_files: Iterable[str], per_file_rows: Iterable[Mapping[str, Any]],
                candidates_by_file: Mapping[str, int]) -> dict[str, FileCounts]:
    """Per-file counts from the job's one aggregation pass, with zeros for files that had no rows.

    `per_file_rows` rows carry source_file, rows_read, rows_valid and one count per reject code.
    """
    counts = {name: FileCounts() for name in source_files}
    for row in per_file_rows:
        by_reason = {reason.value: int(row[reason.value] or 0) for reason in REJECT_REASONS}
        counts[row["source_file"]] = FileCounts(
            rows_read=int(row["rows_read"]), rows_valid=int(row["rows_valid"]),
            rows_rejected=sum(by_reason.values()), rejects_by_reason=by_reason)
    for name, number in candidates_by_file.items():
        if name not in counts:
            raise AccountingError(f"candidates from {name!r}, which the run did not read")
        counts[name].candidates = int(number)
    for one in counts.values():
        one.duplicates_collapsed = one.rows_valid - one.candidates
    return counts


def run_accounting(per_file: Mapping[str, FileCounts], upsert: UpsertResult) -> dict[str, Any]:
    """The run's accounting (contracts.ACCOUNTING_KEYS, plus candidates and per_file); checked first."""
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
            "duplicates_collapsed": counts.duplicates_collapsed, "candidates": counts.candidates}


def check(accounting: Mapping[str, Any]) -> None:
    """Raise AccountingError listing every identity that fails, for the run and for each file."""
    problems = []
    missing = [key for key in ACCOUNTING_KEYS if key not in accounting]
    if missing:
        raise AccountingError(f"accounting lacks {missing}")
    run = FileCounts(
        rows_read=accounting["rows_read"], rows_valid=accounting["rows_valid"],
        rows_rejected=accounting["rows_rejected"], rejects_by_reason=dict(accounting["rejects_by_reason"]),
        duplicates_collapsed=accounting["duplicates_collapsed"], candidates=accounting["candidates"])
    problems += [f"run: {p}" for p in run.problems()]
    stored = accounting["inserted"] + accounting["updated"] + accounting["kept_stored"]
    if run.candidates != stored:
        problems.append(f"run: candidates {run.candidates} != inserted {accounting['inserted']} "
                        f"+ updated {accounting['updated']} + kept_stored {accounting['kept_stored']}")
    for name, one in accounting.get("per_file", {}).items():
        problems += [f"{name}: {p}" for p in FileCounts(**one).problems()]
    if problems:
        raise AccountingError("accounting does not add up: " + "; ".join(problems))


def public(accounting: Mapping[str, Any]) -> dict[str, Any]:
    """Only contracts.ACCOUNTING_KEYS, in contract order (what `ecom-pipeline process` prints)."""
    return {key: accounting[key] for key in ACCOUNTING_KEYS}
