"""One Glue run per batch: distinct keys, uploads recorded, duplicates and refusals handled."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from ecom_pipeline.aws.glue import GlueRunRefused, JobRun
from ecom_pipeline.trigger import GlueTrigger, QueuedFile, Upload

NOW = datetime(2023, 3, 16, 12, 0, tzinfo=UTC)
K1 = "transactions/year=2023/month=03/day=15/transactions_2023-03-15.csv"
K2 = "transactions/year=2023/month=03/day=16/transactions_2023-03-16.csv"


def queued(message_id: str, *keys: str, sequencer: str = "0A") -> QueuedFile:
    return QueuedFile(message_id, tuple(Upload(key, sequencer) for key in keys))


class InMemoryGlue:
    """Records StartJobRun calls and answers GetJobRuns from them (plus any seeded runs)."""

    def __init__(self, refuse: GlueRunRefused | None = None) -> None:
        self.runs: list[JobRun] = []
        self.refuse = refuse

    def start_run(self, job_name: str, arguments: dict[str, str]) -> str:
        if self.refuse:
            raise self.refuse
        run = JobRun(run_id=f"jr_{len(self.runs)}", state="RUNNING", started_on=NOW, arguments=arguments)
        self.runs.append(run)
        return run.run_id

    def recent_runs(self, job_name: str) -> Iterable[JobRun]:
        return list(self.runs)


def test_one_run_with_the_distinct_keys_of_all_messages() -> None:
    glue = InMemoryGlue()

    result = GlueTrigger("job", glue, now=NOW).start([
        queued("m1", K1), queued("m2", K2, K1), queued("m3"),
    ])

    assert len(glue.runs) == 1
    assert json.loads(glue.runs[0].arguments["--source_keys"]) == [K1, K2]
    assert json.loads(glue.runs[0].arguments["--s3_uploads"]) == [f"{K1}@0A", f"{K2}@0A"]
    assert result.run_id == "jr_0"
    assert result.keys == (K1, K2)


def test_the_run_records_the_etags_announced_per_key_for_the_archiver() -> None:
    glue = InMemoryGlue()

    GlueTrigger("job", glue, now=NOW).start([
        QueuedFile("m1", (Upload(K1, "0A", "e1"),)),
        QueuedFile("m2", (Upload(K1, "0B", "e2"), Upload(K2, "0A", None))),  # K2: S3 gave no ETag
        QueuedFile("m3", (Upload(K1, "0A", "e1"),)),  # the same upload announced twice
    ])

    assert json.loads(glue.runs[0].arguments["--s3_etags"]) == {K1: ["e1", "e2"]}


def test_no_etags_argument_when_no_upload_had_one() -> None:
    glue = InMemoryGlue()

    GlueTrigger("job", glue, now=NOW).start([queued("m1", K1)])

    assert "--s3_etags" not in glue.runs[0].arguments


def test_nothing_to_start_when_no_message_has_keys() -> None:
    glue = InMemoryGlue()

    result = GlueTrigger("job", glue, now=NOW).start([queued("m1")])

    assert glue.runs == []
    assert result.run_id is None


def test_redelivered_messages_do_not_start_a_second_run() -> None:
    glue = InMemoryGlue()
    trigger = GlueTrigger("job", glue, now=NOW)
    trigger.start([queued("m1", K1)])

    again = trigger.start([queued("m1", K1), queued("m2", K2)])

    assert len(glue.runs) == 2
    assert json.loads(glue.runs[1].arguments["--source_keys"]) == [K2]
    assert again.already_started == ("m1",)


def test_an_upload_s3_announced_twice_does_not_start_a_second_run() -> None:
    glue = InMemoryGlue()
    trigger = GlueTrigger("job", glue, now=NOW)
    trigger.start([queued("m1", K1)])

    again = trigger.start([queued("m7", K1)])  # another message id, the same upload

    assert len(glue.runs) == 1
    assert again.run_id is None and again.already_started == ("m7",)


def test_a_key_written_again_is_a_new_upload_and_runs_again() -> None:
    glue = InMemoryGlue()
    trigger = GlueTrigger("job", glue, now=NOW)
    trigger.start([queued("m1", K1, sequencer="0A")])

    again = trigger.start([queued("m2", K1, sequencer="0B")])

    assert again.run_id == "jr_1"
    assert json.loads(glue.runs[1].arguments["--s3_uploads"]) == [f"{K1}@0B"]


def test_without_a_sequencer_only_a_redelivery_of_the_same_message_is_recognised() -> None:
    glue = InMemoryGlue()
    trigger = GlueTrigger("job", glue, now=NOW)
    trigger.start([QueuedFile("m1", (Upload(K1),))])

    redelivered = trigger.start([QueuedFile("m1", (Upload(K1),))])
    other = trigger.start([QueuedFile("m2", (Upload(K1),))])

    assert redelivered.run_id is None and redelivered.already_started == ("m1",)
    assert other.run_id == "jr_1"


def test_a_failed_earlier_run_does_not_block_a_redelivery() -> None:
    glue = InMemoryGlue()
    glue.runs.append(JobRun("jr_old", "FAILED", NOW, {"--s3_uploads": json.dumps([f"{K1}@0A"])}))

    result = GlueTrigger("job", glue, now=NOW).start([queued("m1", K1)])

    assert result.run_id is not None
    assert result.already_started == ()


def test_runs_older_than_the_window_are_not_matched() -> None:
    glue = InMemoryGlue()
    glue.runs.append(JobRun("jr_old", "SUCCEEDED", NOW - timedelta(days=30),
                            {"--s3_uploads": json.dumps([f"{K1}@0A"])}))

    result = GlueTrigger("job", glue, now=NOW).start([queued("m1", K1)])

    assert result.run_id is not None


def test_glue_refusal_is_returned_not_raised() -> None:
    glue = InMemoryGlue(refuse=GlueRunRefused("ConcurrentRunsExceededException", "max 1"))

    result = GlueTrigger("job", glue, now=NOW).start([queued("m1", K1)])

    assert result.refused is not None
    assert result.refused.code == "ConcurrentRunsExceededException"
    assert result.run_id is None


def test_a_refusal_still_says_which_messages_a_run_already_covers() -> None:
    glue = InMemoryGlue()
    trigger = GlueTrigger("job", glue, now=NOW)
    trigger.start([queued("m1", K1)])
    glue.refuse = GlueRunRefused("ConcurrentRunsExceededException", "max 1")

    result = trigger.start([queued("m1", K1), queued("m2", K2)])

    assert result.refused is not None
    assert result.already_started == ("m1",)  # not handed back to the queue


def test_refused_messages_are_delayed_by_their_receive_count_and_a_failed_delay_is_not_fatal(
        sample_event: Any) -> None:
    from ecom_pipeline.trigger import handle_sqs_batch

    event = sample_event("glue_trigger_sqs")
    for count, record in enumerate(event["Records"], start=1):
        record["attributes"]["ApproximateReceiveCount"] = str(count)
    delayed: list[tuple[str, int]] = []

    def delay(receipt: str, seconds: int) -> None:
        delayed.append((receipt, seconds))
        if len(delayed) == 1:
            raise RuntimeError("receipt handle expired")

    refusing = InMemoryGlue(refuse=GlueRunRefused("ThrottlingException", "slow down"))
    response, _ = handle_sqs_batch(event, GlueTrigger("job", refusing, now=NOW), delay=delay)

    assert len(response["batchItemFailures"]) == len(event["Records"])
    # Each by its own receive count: the doubled wait plus up to as much again at random (the ranges of
    # successive counts do not overlap).
    assert [receipt for receipt, _ in delayed] == [r["receiptHandle"] for r in event["Records"]]
    assert all(420 * 2 ** n <= seconds < 2 * 420 * 2 ** n for n, (_, seconds) in enumerate(delayed)), delayed
