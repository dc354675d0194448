"""EventBridge pattern matching and target input, as the local dispatcher applies them."""

from __future__ import annotations

import json

import pytest
from ecom_pipeline.local.eventbridge import glue_state_change_event, matches, target_input

JOB = "shop-process-transactions"
RULE = {"source": ["aws.glue"], "detail-type": ["Glue Job State Change"],
        "detail": {"jobName": [JOB], "state": ["SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"]}}


def _event(state: str = "SUCCEEDED", job: str = JOB) -> dict:
    return glue_state_change_event(job, "jr_1", state, "Job run succeeded", "123456789012", "us-east-1")


def test_glue_state_change_event_has_the_aws_shape() -> None:
    event = _event("FAILED")
    assert event["source"] == "aws.glue" and event["detail-type"] == "Glue Job State Change"
    assert event["detail"] == {"jobName": JOB, "severity": "ERROR", "state": "FAILED", "jobRunId": "jr_1",
                               "message": "Job run succeeded"}
    assert _event()["detail"]["severity"] == "INFO"


@pytest.mark.parametrize(("event", "expected"), [
    (_event(), True),
    (_event("FAILED"), True),
    (_event("RUNNING"), False),
    (_event(job="someone-elses-job"), False),
])
def test_rule_matches_only_this_jobs_terminal_states(event: dict, expected: bool) -> None:
    assert matches(RULE, event) is expected


def test_missing_field_does_not_match_unless_exists_false() -> None:
    assert not matches({"detail": {"x": ["a"]}}, {"detail": {}})
    assert matches({"detail": {"x": [{"exists": False}]}}, {"detail": {}})
    assert not matches({"detail": {"x": [{"exists": True}]}}, {"detail": {}})


@pytest.mark.parametrize(("rule", "value", "expected"), [
    ({"prefix": "transactions/"}, "transactions/x.csv", True),
    ({"prefix": "transactions/"}, "dims/x.csv", False),
    ({"suffix": ".csv"}, "a.csv", True),
    ({"anything-but": ["RUNNING", "STARTING"]}, "FAILED", True),
    ({"anything-but": ["RUNNING", "STARTING"]}, "RUNNING", False),
    ({"anything-but": {"prefix": "tmp/"}}, "tmp/x", False),
    ({"numeric": [">", 0, "<=", 5]}, 5, True),
    ({"numeric": [">", 0, "<=", 5]}, 6, False),
    ({"equals-ignore-case": "succeeded"}, "SUCCEEDED", True),
    ({"wildcard": "jr_*"}, "jr_abc", True),
])
def test_content_filters(rule: dict, value: object, expected: bool) -> None:
    assert matches({"detail": {"v": [rule]}}, {"detail": {"v": value}}) is expected


def test_list_values_match_when_any_element_does_and_or_alternatives() -> None:
    assert matches({"resources": ["arn:b"]}, {"resources": ["arn:a", "arn:b"]})
    pattern = {"$or": [{"detail": {"state": ["FAILED"]}}, {"detail": {"severity": ["ERROR"]}}]}
    assert matches(pattern, {"detail": {"state": "TIMEOUT", "severity": "ERROR"}})
    assert not matches(pattern, {"detail": {"state": "SUCCEEDED", "severity": "INFO"}})


def test_exact_values_do_not_coerce_types() -> None:
    assert not matches({"detail": {"n": ["5"]}}, {"detail": {"n": 5}})


def test_without_input_the_target_gets_the_event_json() -> None:
    event = _event()
    assert json.loads(target_input(event, "rule")) == event


def test_input_transformer_quotes_values_outside_strings_and_embeds_them_inside() -> None:
    transformer = {
        "InputPathsMap": {"job": "$.detail.jobName", "state": "$.detail.state", "missing": "$.detail.nope"},
        "InputTemplate": '{"type": "glue_state_change", "job_name": <job>, "text": "job <job> is <state>",'
                         ' "absent": <missing>, "rule": "<aws.events.rule-name>"}',
    }
    out = json.loads(target_input(_event("FAILED"), "my-rule", transformer=transformer))
    assert out == {"type": "glue_state_change", "job_name": JOB, "text": f"job {JOB} is FAILED",
                   "absent": None, "rule": "my-rule"}


def test_transformer_escapes_quotes_in_values() -> None:
    event = _event()
    event["detail"]["message"] = 'bad "header" in file'
    transformer = {"InputPathsMap": {"m": "$.detail.message"}, "InputTemplate": '{"a": <m>, "b": "x <m>"}'}
    assert json.loads(target_input(event, "r", transformer=transformer)) == {
        "a": 'bad "header" in file', "b": 'x bad "header" in file'}


def test_constant_input_and_input_path() -> None:
    assert target_input(_event(), "r", input_='{"k": 1}') == '{"k": 1}'
    assert json.loads(target_input(_event(), "r", input_path="$.detail"))["jobRunId"] == "jr_1"
