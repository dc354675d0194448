"""archiver handler against moto: a SUCCEEDED run's files move to the archive bucket, verified, once."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from ecom_pipeline.archive import ArchiveError
from ecom_pipeline.local.handlers import load_handler

JOB = "ecom-pipeline-process-transactions"
DATA = "ecom-data"
ARCHIVE = "ecom-archive"
K15 = "transactions/year=2023/month=03/day=15/transactions_2023-03-15.csv"
K16 = "transactions/year=2023/month=03/day=16/transactions_2023-03-16.csv"
K17 = "transactions/year=2023/month=03/day=17/transactions_2023-03-17 late café.csv"
HEADER = b"transaction_id,customer_id,product_id,quantity,price,transaction_date,payment_type,status\n"


def _csv(day: str, rows: int) -> bytes:
    return HEADER + b"".join(f"T{day}-{i},C{i},P{i},1,9.99,{day},PayPal,Completed\n".encode()
                             for i in range(rows))


@pytest.fixture
def env(s3: Any, glue: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in {"GLUE_JOB_NAME": JOB, "DATA_BUCKET": DATA, "ARCHIVE_BUCKET": ARCHIVE,
                        "POWERTOOLS_SERVICE_NAME": "archiver"}.items():
        monkeypatch.setenv(name, value)
    s3.create_bucket(Bucket=DATA)
    s3.create_bucket(Bucket=ARCHIVE)
    s3.put_bucket_versioning(Bucket=ARCHIVE, VersioningConfiguration={"Status": "Enabled"})
    glue.create_job(Name=JOB, Role="arn:aws:iam::123456789012:role/glue", GlueVersion="5.0",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/glue/process_transactions.py"})
    return s3


def _run(glue: Any, keys: list[str], etags: dict[str, list[str]] | None = None) -> str:
    arguments = {"--source_keys": json.dumps(keys)}
    if etags is not None:
        arguments["--s3_etags"] = json.dumps(etags)
    return str(glue.start_job_run(JobName=JOB, Arguments=arguments)["JobRunId"])


def _etag(s3: Any, key: str) -> str:
    return str(s3.head_object(Bucket=DATA, Key=key)["ETag"]).strip('"')


def _event(sample_event: Any, name: str, run_id: str, **changes: str) -> dict[str, Any]:
    event = sample_event(name)
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message.update(run_id=run_id, **changes)
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return event  # type: ignore[no-any-return]


def _keys(s3: Any, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def _bytes(s3: Any, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _put_multipart(s3: Any, bucket: str, key: str, body: bytes, part: int = 5 * 1024 * 1024) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for number, start in enumerate(range(0, len(body), part), start=1):
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number,
                              Body=body[start:start + part])["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})


def test_succeeded_run_moves_each_file_to_the_same_key(
        env: Any, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    contents = {K15: _csv("2023-03-15", 5), K16: _csv("2023-03-16", 7), K17: _csv("2023-03-17", 3)}
    for key, body in contents.items():
        env.put_object(Bucket=DATA, Key=key, Body=body)
    env.put_object(Bucket=DATA, Key="dims/products.csv", Body=b"product_id\n")
    run_id = _run(glue, [K15, K16, K17])

    result = load_handler("archiver")(_event(sample_event, "archiver_sns_succeeded", run_id), lambda_context)

    assert _keys(env, DATA) == ["dims/products.csv"]
    assert _keys(env, ARCHIVE) == sorted(contents)
    for key, body in contents.items():
        assert _bytes(env, ARCHIVE, key) == body
    assert result["archived"][run_id] == {K15: "moved", K16: "moved", K17: "moved"}


def test_a_file_rewritten_while_the_run_went_on_is_left_for_its_own_run(
        env: Any, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    env.put_object(Bucket=DATA, Key=K15, Body=_csv("2023-03-15", 5))
    env.put_object(Bucket=DATA, Key=K16, Body=_csv("2023-03-16", 7))
    run_id = _run(glue, [K15, K16])
    time.sleep(1.1)  # S3 keeps LastModified to the second
    rewritten = _csv("2023-03-16", 9)
    env.put_object(Bucket=DATA, Key=K16, Body=rewritten)  # after the run started: maybe never read by it

    result = load_handler("archiver")(_event(sample_event, "archiver_sns_succeeded", run_id), lambda_context)

    assert result["archived"][run_id] == {K15: "moved", K16: "left_for_its_own_run"}
    assert _keys(env, ARCHIVE) == [K15]
    assert _bytes(env, DATA, K16) == rewritten


def test_only_the_object_the_run_was_started_for_is_archived(
        env: Any, glue: Any, sample_event: Any, lambda_context: Any, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    # S3 dates a multipart object from the start of its upload, so a rewrite begun before the run and
    # completed after it passes the time check; the ETags the trigger recorded tell it apart.
    env.put_object(Bucket=DATA, Key=K15, Body=_csv("2023-03-15", 5))
    env.put_object(Bucket=DATA, Key=K16, Body=_csv("2023-03-16", 7))
    announced = {K15: [_etag(env, K15)], K16: [_etag(env, K16)]}
    rewritten = _csv("2023-03-16", 9) * 40_000  # > 5 MiB: two parts
    _put_multipart(env, DATA, K16, rewritten)
    run_id = _run(glue, [K15, K16], announced)  # dated after the rewrite, as S3 would date it

    result = load_handler("archiver")(_event(sample_event, "archiver_sns_succeeded", run_id), lambda_context)

    assert result["archived"][run_id] == {K15: "moved", K16: "left_for_its_own_run"}
    assert _keys(env, ARCHIVE) == [K15]
    assert _bytes(env, DATA, K16) == rewritten
    # Said, not silent: a warning naming the key, and counted apart from the files archived
    [warning] = [record for record in caplog.records if record.levelname == "WARNING"]
    assert warning.keys == [K16]  # type: ignore[attr-defined]  # Powertools' extra field
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    emitted = next(line for line in lines if "_aws" in line)  # CloudWatch's embedded metric format
    assert (emitted["FilesArchived"], emitted["FilesLeftForTheirOwnRun"]) == ([1.0], [1.0])


def test_a_malformed_etags_argument_is_a_clear_error(env: Any, glue: Any, sample_event: Any,
                                                     lambda_context: Any) -> None:
    env.put_object(Bucket=DATA, Key=K15, Body=_csv("2023-03-15", 5))
    run_id = str(glue.start_job_run(JobName=JOB, Arguments={
        "--source_keys": json.dumps([K15]), "--s3_etags": json.dumps([K15])})["JobRunId"])

    with pytest.raises(ArchiveError, match="--s3_etags is not a JSON object of ETag lists"):
        load_handler("archiver")(_event(sample_event, "archiver_sns_succeeded", run_id), lambda_context)
    assert _keys(env, DATA) == [K15]


def test_multipart_source_is_verified_by_content(
        env: Any, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    body = (_csv("2023-03-16", 1) * 130_000)[: 11 * 1024 * 1024]
    _put_multipart(env, DATA, K16, body)
    assert "-" in env.head_object(Bucket=DATA, Key=K16)["ETag"]

    event = _event(sample_event, "archiver_sns_succeeded", _run(glue, [K16]))

    load_handler("archiver")(event, lambda_context)

    assert _keys(env, DATA) == []
    archived = _bytes(env, ARCHIVE, K16)
    assert hashlib.sha256(archived).digest() == hashlib.sha256(body).digest()


def test_a_repeated_notification_is_harmless(
        env: Any, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    env.put_object(Bucket=DATA, Key=K15, Body=_csv("2023-03-15", 4))
    event = _event(sample_event, "archiver_sns_succeeded", _run(glue, [K15]))
    handler = load_handler("archiver")
    handler(event, lambda_context)

    again = handler(event, lambda_context)

    assert list(again["archived"].values()) == [{K15: "already_archived"}]
    assert _keys(env, ARCHIVE) == [K15]
    versions = env.list_object_versions(Bucket=ARCHIVE, Prefix=K15).get("Versions", [])
    assert len(versions) == 1  # no second copy was written


def test_archived_copy_present_and_source_left_over_just_deletes_the_source(
        env: Any, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    body = _csv("2023-03-15", 4)
    env.put_object(Bucket=DATA, Key=K15, Body=body)
    env.put_object(Bucket=ARCHIVE, Key=K15, Body=body)  # an earlier attempt copied, then died

    result = load_handler("archiver")(
        _event(sample_event, "archiver_sns_succeeded", _run(glue, [K15])), lambda_context)

    assert list(result["archived"].values()) == [{K15: "source_removed"}]
    assert _keys(env, DATA) == []
    assert len(env.list_object_versions(Bucket=ARCHIVE, Prefix=K15)["Versions"]) == 1


def test_a_different_archived_copy_is_replaced_and_kept_as_an_old_version(
        env: Any, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    env.put_object(Bucket=ARCHIVE, Key=K15, Body=_csv("2023-03-15", 2))
    env.put_object(Bucket=DATA, Key=K15, Body=_csv("2023-03-15", 9))
    event = _event(sample_event, "archiver_sns_succeeded", _run(glue, [K15]))

    load_handler("archiver")(event, lambda_context)

    assert _bytes(env, ARCHIVE, K15) == _csv("2023-03-15", 9)
    assert len(env.list_object_versions(Bucket=ARCHIVE, Prefix=K15)["Versions"]) == 2


def test_a_key_in_neither_bucket_is_a_clear_error_and_the_others_still_move(
        env: Any, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    env.put_object(Bucket=DATA, Key=K16, Body=_csv("2023-03-16", 3))
    event = _event(sample_event, "archiver_sns_succeeded", _run(glue, [K15, K16]))

    with pytest.raises(ArchiveError, match=r"1 of 2 files not archived.*2023-03-15\.csv: in neither"):
        load_handler("archiver")(event, lambda_context)

    assert _keys(env, ARCHIVE) == [K16]
    assert _keys(env, DATA) == []


def test_a_failed_run_archives_nothing(env: Any, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    env.put_object(Bucket=DATA, Key=K15, Body=_csv("2023-03-15", 4))

    result = load_handler("archiver")(
        _event(sample_event, "archiver_sns_failed", _run(glue, [K15])), lambda_context)

    assert result == {"archived": {}}
    assert _keys(env, DATA) == [K15]
    assert _keys(env, ARCHIVE) == []


def test_another_jobs_success_and_run_summaries_are_ignored(
        env: Any, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    env.put_object(Bucket=DATA, Key=K15, Body=_csv("2023-03-15", 4))
    run_id = _run(glue, [K15])
    other_job = _event(sample_event, "archiver_sns_succeeded", run_id, job_name="someone-elses-job")
    summary = _event(sample_event, "archiver_sns_succeeded", run_id)
    summary["Records"][0]["Sns"]["Message"] = json.dumps(
        {"type": "run_summary", "job_name": JOB, "run_id": run_id, "source_keys": [K15], "accounting": {}})
    handler = load_handler("archiver")

    results = [handler(other_job, lambda_context), handler(summary, lambda_context)]

    assert results == [{"archived": {}}, {"archived": {}}]
    assert _keys(env, DATA) == [K15]


@pytest.fixture
def deny_delete(mocked_aws: None) -> Iterator[None]:
    def deny(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "injected"}}, "DeleteObject")

    boto3.setup_default_session()
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register("before-call.s3.DeleteObject", deny)
    yield
    events.unregister("before-call.s3.DeleteObject", deny)


def test_missing_permission_surfaces_as_an_error(
        env: Any, glue: Any, deny_delete: None, sample_event: Any, lambda_context: Any) -> None:
    env.put_object(Bucket=DATA, Key=K15, Body=_csv("2023-03-15", 4))
    event = _event(sample_event, "archiver_sns_succeeded", _run(glue, [K15]))

    with pytest.raises(ArchiveError, match="AccessDenied") as raised:
        load_handler("archiver")(event, lambda_context)

    assert isinstance(raised.value.__cause__, ClientError)  # the AWS error itself stays attached

    assert _keys(env, DATA) == [K15]  # the source stays until it can be removed


def test_a_run_without_source_keys_is_a_clear_error(
        env: Any, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    run_id = str(glue.start_job_run(JobName=JOB, Arguments={"--other": "x"})["JobRunId"])

    with pytest.raises(ArchiveError, match="no --source_keys"):
        load_handler("archiver")(_event(sample_event, "archiver_sns_succeeded", run_id), lambda_context)


def test_a_copy_that_does_not_match_keeps_the_source(env: Any) -> None:
    # S3 is the boundary: a copy that arrives different (truncated, or overwritten meanwhile) is simulated.
    from ecom_pipeline.archive import archive_key
    from ecom_pipeline.aws.s3 import ObjectInfo, ObjectStore

    class CorruptingStore(ObjectStore):
        def copy(self, source: ObjectInfo, bucket: str, key: str, checksum_algorithm: str = "SHA256") -> None:
            env.put_object(Bucket=bucket, Key=key, Body=_csv("2023-03-15", 4))  # one row short

    env.put_object(Bucket=DATA, Key=K15, Body=_csv("2023-03-15", 5))

    with pytest.raises(ArchiveError, match="does not match the source; source kept"):
        archive_key(CorruptingStore(env), K15, DATA, ARCHIVE)
    assert _bytes(env, DATA, K15) == _csv("2023-03-15", 5)


def test_a_file_rewritten_while_it_is_copied_is_not_deleted(env: Any) -> None:
    # A new upload lands between the archiver's check of the source and its delete.
    from ecom_pipeline.archive import ArchiveOutcome, archive_key
    from ecom_pipeline.aws.s3 import ObjectInfo, ObjectStore

    rewritten = _csv("2023-03-15", 9)

    class UploadDuringCopy(ObjectStore):
        def copy(self, source: ObjectInfo, bucket: str, key: str, checksum_algorithm: str = "SHA256") -> None:
            super().copy(source, bucket, key, checksum_algorithm)
            env.put_object(Bucket=source.bucket, Key=source.key, Body=rewritten)

    env.put_object(Bucket=DATA, Key=K15, Body=_csv("2023-03-15", 5))

    outcome = archive_key(UploadDuringCopy(env), K15, DATA, ARCHIVE)

    assert outcome is ArchiveOutcome.LEFT_FOR_ITS_OWN_RUN
    assert _bytes(env, DATA, K15) == rewritten  # the new upload stays for its own run
    assert _bytes(env, ARCHIVE, K15) == _csv("2023-03-15", 5)


def test_an_error_on_one_key_does_not_stop_the_others(
        env: Any, glue: Any, sample_event: Any, lambda_context: Any) -> None:
    from ecom_pipeline.aws import s3 as s3_adapter

    env.put_object(Bucket=DATA, Key=K15, Body=_csv("2023-03-15", 4))
    env.put_object(Bucket=DATA, Key=K16, Body=_csv("2023-03-16", 4))
    event = _event(sample_event, "archiver_sns_succeeded", _run(glue, [K15, K16]))
    copy = s3_adapter.ObjectStore.copy

    def refuse_the_first(self: Any, source: Any, *args: Any, **kwargs: Any) -> None:
        if source.key == K15:
            raise ClientError({"Error": {"Code": "InvalidObjectState", "Message": "injected"}}, "CopyObject")
        copy(self, source, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(s3_adapter.ObjectStore, "copy", refuse_the_first)
        with pytest.raises(ArchiveError, match=r"1 of 2 files not archived: .*2023-03-15\.csv: ClientError"):
            load_handler("archiver")(event, lambda_context)

    assert _keys(env, ARCHIVE) == [K16]
    assert _keys(env, DATA) == [K15]
