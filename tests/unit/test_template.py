"""template.yaml wiring: the promises the code relies on, checked on the parsed template."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ecom_pipeline.archive import ArchiverSettings
from ecom_pipeline.generator.events import GeneratorSettings
from ecom_pipeline.local.eventbridge import target_input
from ecom_pipeline.local.template import load_template
from ecom_pipeline.notify import TERMINAL_STATES, parse_notification
from ecom_pipeline.trigger import TriggerSettings
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]

# Each function's settings model and POWERTOOLS_SERVICE_NAME (seams.md); None: it reads no settings.
FUNCTIONS: dict[str, tuple[str, type[BaseSettings] | None]] = {
    "GeneratorFunction": ("generator", GeneratorSettings),
    "GlueTriggerFunction": ("glue_trigger", TriggerSettings),
    "ArchiverFunction": ("archiver", ArchiverSettings),
    "SetupFunction": ("setup", None),
}
# numpy 2.3+ has no manylinux2014 wheels, which the python3.11 Lambda runtime (glibc 2.26) needs.
LAYER_EXCEPTIONS = {"numpy": "2.2.6"}
# Actions without resource-level permissions: allowed on "*" only together with a Condition.
NO_RESOURCE_LEVEL = {"cloudwatch:PutMetricData", "redshift-data:DescribeStatement",
                     "redshift-data:GetStatementResult", "redshift-data:CancelStatement"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]  # type: ignore[no-any-return]


def _props(resources: dict[str, Any], name: str) -> dict[str, Any]:
    return resources[name]["Properties"]  # type: ignore[no-any-return]


def _events_of(resources: dict[str, Any], function: str, kind: str) -> list[dict[str, Any]]:
    events = _props(resources, function).get("Events", {}).values()
    return [e["Properties"] for e in events if e["Type"] == kind]


def test_state_change_rule_is_filtered_on_this_job_and_terminal_states(resources: dict[str, Any]) -> None:
    pattern = _props(resources, "GlueStateChangeRule")["EventPattern"]

    assert pattern["source"] == ["aws.glue"]
    assert pattern["detail-type"] == ["Glue Job State Change"]
    assert pattern["detail"]["jobName"] == [{"Ref": "GlueJob"}]
    assert set(pattern["detail"]["state"]) == TERMINAL_STATES


def test_state_change_rule_feeds_the_topic_a_message_the_archiver_understands(
        resources: dict[str, Any]) -> None:
    (target,) = _props(resources, "GlueStateChangeRule")["Targets"]
    event = {"version": "0", "id": "1", "detail-type": "Glue Job State Change", "source": "aws.glue",
             "account": "123456789012", "time": "2023-03-16T00:19:42Z", "region": "eu-west-1",
             "resources": [], "detail": {"jobName": "the-job", "severity": "ERROR", "state": "FAILED",
                                         "jobRunId": "jr_1", "message": 'header "bad"\nin file'}}

    text = target_input(event, "rule", transformer=target["InputTransformer"])
    change = parse_notification(text)

    assert target["Arn"] == {"Ref": "NotificationsTopic"}
    assert change is not None
    assert (change.job_name, change.state, change.run_id) == ("the-job", "FAILED", "jr_1")
    assert change.message == 'header "bad"\nin file'


def test_the_topic_lets_only_this_rule_and_this_accounts_alarms_publish(resources: dict[str, Any]) -> None:
    rule, alarms = _props(resources, "NotificationsTopicPolicy")["PolicyDocument"]["Statement"]
    alarm_actions = {name: r["Properties"]["AlarmActions"] for name, r in resources.items()
                     if r["Type"] == "AWS::CloudWatch::Alarm"}

    assert rule["Principal"] == {"Service": "events.amazonaws.com"}
    assert rule["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": ["GlueStateChangeRule", "Arn"]}
    # The policy replaces SNS's default one: alarms publishing to the topic need a grant of their own.
    assert alarm_actions and all(a == [{"Ref": "NotificationsTopic"}] for a in alarm_actions.values())
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Action"] == "sns:Publish"
    assert alarms["Condition"]["ArnLike"]["aws:SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"}


def test_eventbridge_may_use_the_topics_key_without_a_source_condition(resources: dict[str, Any]) -> None:
    """EventBridge's KMS requests for an encrypted topic carry no aws:SourceAccount or aws:SourceArn:
    a statement conditioned on them would make every state change fail to publish."""
    statements = _props(resources, "NotificationsKey")["KeyPolicy"]["Statement"]
    events = [s for s in statements if "events.amazonaws.com" in str(s.get("Principal"))]

    assert len(events) == 1 and events[0]["Effect"] == "Allow"
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= set(events[0]["Action"])
    assert "Condition" not in events[0]
    assert _props(resources, "NotificationsTopic")["KmsMasterKeyId"] == {"Ref": "NotificationsKey"}


def test_failed_runs_are_logged_to_the_log_groups_plain_arn(resources: dict[str, Any]) -> None:
    (target,) = _props(resources, "GlueFailureRule")["Targets"]
    assert target["Arn"] == {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
                                        ":log-group:${GlueFailureLogGroup}"}  # not GetAtt's "…:*"


def test_a_state_change_the_topic_refuses_is_kept_and_alarmed(resources: dict[str, Any]) -> None:
    (target,) = _props(resources, "GlueStateChangeRule")["Targets"]
    statements = _props(resources, "ArchiverDLQPolicy")["PolicyDocument"]["Statement"]
    (alarm_dimension,) = _props(resources, "ArchiverDLQAlarm")["Dimensions"]

    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ArchiverDLQ", "Arn"]}}
    rule = {"Fn::GetAtt": ["GlueStateChangeRule", "Arn"]}
    assert any(s["Principal"] == {"Service": "events.amazonaws.com"}
               and s["Condition"]["ArnEquals"]["aws:SourceArn"] == rule for s in statements)
    assert alarm_dimension["Value"] == {"Fn::GetAtt": ["ArchiverDLQ", "QueueName"]}


def test_data_bucket_announces_every_created_transaction_file_to_the_queue(resources: dict[str, Any]) -> None:
    (config,) = _props(resources, "DataBucket")["NotificationConfiguration"]["QueueConfigurations"]

    assert config["Event"] == "s3:ObjectCreated:*"
    assert config["Queue"] == {"Fn::GetAtt": ["TriggerQueue", "Arn"]}
    rules = {r["Name"]: r["Value"] for r in config["Filter"]["S3Key"]["Rules"]}
    assert rules == {"prefix": "transactions/", "suffix": ".csv"}


def test_queue_feeds_the_trigger_in_batches_with_partial_failures_and_a_dlq(
        resources: dict[str, Any]) -> None:
    (sqs,) = _events_of(resources, "GlueTriggerFunction", "SQS")
    redrive = _props(resources, "TriggerQueue")["RedrivePolicy"]
    (alarm_dimension,) = _props(resources, "TriggerDLQAlarm")["Dimensions"]

    assert sqs["Queue"] == {"Fn::GetAtt": ["TriggerQueue", "Arn"]}
    assert sqs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert sqs["BatchSize"] == {"Ref": "TriggerBatchSize"}
    assert sqs["MaximumBatchingWindowInSeconds"] == {"Ref": "TriggerBatchingWindowSeconds"}
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["TriggerDLQ", "Arn"]}
    assert alarm_dimension["Value"] == {"Fn::GetAtt": ["TriggerDLQ", "QueueName"]}


def test_queue_visibility_outlasts_the_trigger_six_times(resources: dict[str, Any], template: Any) -> None:
    default = template["Globals"]["Function"]["Timeout"]
    timeout = _props(resources, "GlueTriggerFunction").get("Timeout", default)

    assert _props(resources, "TriggerQueue")["VisibilityTimeout"] >= 6 * timeout


def test_topic_feeds_the_archiver_only_succeeded_state_changes(resources: dict[str, Any]) -> None:
    (sns,) = _events_of(resources, "ArchiverFunction", "SNS")

    assert sns["Topic"] == {"Ref": "NotificationsTopic"}
    assert sns["FilterPolicyScope"] == "MessageBody"
    assert sns["FilterPolicy"] == {"type": ["glue_state_change"], "state": ["SUCCEEDED"]}
    assert sns["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ArchiverDLQ", "Arn"]}


def test_archiver_failures_end_in_an_alarmed_queue(resources: dict[str, Any]) -> None:
    on_failure = _props(resources, "ArchiverFunction")["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    (dimension,) = _props(resources, "ArchiverDLQAlarm")["Dimensions"]

    assert on_failure["Destination"] == {"Fn::GetAtt": ["ArchiverDLQ", "Arn"]}
    assert dimension["Value"] == {"Fn::GetAtt": ["ArchiverDLQ", "QueueName"]}


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_gets_exactly_the_variables_its_settings_read(
        resources: dict[str, Any], template: Any, function: str) -> None:
    service, settings = FUNCTIONS[function]
    variables = {**template["Globals"]["Function"]["Environment"]["Variables"],
                 **_props(resources, function)["Environment"]["Variables"]}

    read = {name.upper() for name in settings.model_fields} if settings else set()

    assert {v for v in variables if not v.startswith("POWERTOOLS_")} == read
    assert variables["POWERTOOLS_SERVICE_NAME"] == service
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "EcomPipeline"


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_has_its_code_and_a_log_group_with_retention(
        resources: dict[str, Any], function: str) -> None:
    props = _props(resources, function)
    groups = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"
              and r["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{function}}}"}]

    assert (ROOT / props["CodeUri"] / "app.py").is_file()
    assert props["Handler"] == "app.handler"
    assert len(groups) == 1
    assert groups[0]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_glue_job_matches_the_seams(resources: dict[str, Any]) -> None:
    job = _props(resources, "GlueJob")
    arguments = job["DefaultArguments"]

    assert job["GlueVersion"] == "5.0"
    assert job["Command"]["ScriptLocation"] == {"Fn::Sub": "s3://${ArtifactsBucket}/glue/process_transactions.py"}
    # The setup function ships that script: its copy is the repo's script itself, not a second one,
    # and a new version of the function (a changed script) runs the setup again.
    assert (ROOT / "functions/setup/process_transactions.py").samefile(ROOT / "glue/process_transactions.py")
    setup = _props(resources, "WarehouseSetup")
    assert setup["SetupCodeVersion"] == {"Ref": "SetupFunction.Version"}
    assert _props(resources, "SetupFunction")["AutoPublishAlias"]
    # It always answers CloudFormation itself; a Lambda retry would run it again mid-rollback. The
    # no-retry setting is on what CloudFormation invokes (the unqualified ARN, i.e. $LATEST), not on
    # the alias, where the function's own EventInvokeConfig would put it.
    assert setup["ServiceToken"] == {"Fn::GetAtt": ["SetupFunction", "Arn"]}
    assert "EventInvokeConfig" not in _props(resources, "SetupFunction")
    assert _props(resources, "SetupNoRetries") == {
        "FunctionName": {"Ref": "SetupFunction"}, "Qualifier": "$LATEST", "MaximumRetryAttempts": 0}
    assert "SetupNoRetries" in resources["WarehouseSetup"]["DependsOn"]
    assert job["ExecutionProperty"]["MaxConcurrentRuns"] == {"Ref": "GlueMaxConcurrentRuns"}
    assert {"--data_bucket", "--warehouse_url", "--small_max", "--medium_max", "--summary_topic_arn",
            "--extra-py-files", "--enable-continuous-cloudwatch-log", "--enable-metrics"} <= set(arguments)
    assert arguments["--summary_topic_arn"] == {"Ref": "NotificationsTopic"}
    assert arguments["--extra-py-files"] == {"Fn::Sub": "s3://${ArtifactsBucket}/glue/ecom_pipeline.zip"}


def test_glue_python_modules_match_the_pinned_versions(resources: dict[str, Any]) -> None:
    modules = _props(resources, "GlueJob")["DefaultArguments"]["--additional-python-modules"].split(",")
    pins = _pins(ROOT / "constraints.txt")

    assert modules
    for module in modules:
        name, version = module.split("==")
        assert pins[_norm(name)] == version


def test_layer_requirements_match_constraints() -> None:
    layer = _pins(ROOT / "layers/shared/requirements.txt")
    pins = {**_pins(ROOT / "constraints.txt"), **LAYER_EXCEPTIONS}

    assert {"aws-lambda-powertools", "pydantic", "pydantic-settings", "faker", "numpy"} <= set(layer)
    # aws-xray-sdk brings botocore along: the three AWS SDK pieces ship as one matching set.
    assert {"boto3", "botocore", "s3transfer"} <= set(layer)
    assert {name: pins.get(name) for name in layer} == layer


def test_email_subscription_only_with_an_address(resources: dict[str, Any], template: Any) -> None:
    email = resources["NotificationsEmail"]

    assert email["Condition"] == "HasEmail"
    condition = template["Conditions"]["HasEmail"]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "NotificationEmail"}, ""]}]}


def test_no_secret_has_a_default(template: Any) -> None:
    for name, parameter in template["Parameters"].items():
        if parameter.get("NoEcho"):
            assert parameter.get("Default", "") == "", name


def _statements(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every identity-policy statement: SAM function policies and IAM role policies."""
    for name, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            for policy in props.get("Policies", []):
                assert isinstance(policy, dict) and "Statement" in policy, f"{name}: managed policy {policy}"
                for statement in policy["Statement"]:
                    yield name, statement
        elif resource["Type"] == "AWS::IAM::Role":
            assert "ManagedPolicyArns" not in props, name
            for policy in props.get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    yield name, statement


def test_no_wildcard_iam(resources: dict[str, Any]) -> None:
    statements = list(_statements(resources))

    assert len(statements) > 10
    for owner, statement in statements:
        actions, targets = _as_list(statement["Action"]), _as_list(statement["Resource"])
        assert statement["Effect"] == "Allow"
        for action in actions:
            assert "*" not in action, f"{owner}: wildcard action {action}"
        if "*" in targets:
            assert set(actions) <= NO_RESOURCE_LEVEL, f"{owner}: {actions} on *"
            assert statement.get("Condition"), f"{owner}: {actions} on * without a condition"
        for target in targets:
            text = json.dumps(target)
            # Objects are granted per prefix (transactions/, dims/, ...), never a whole bucket.
            assert not re.search(r'arn:aws:s3:::\*|\}/\*"', text), f"{owner}: {text}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[_norm(name.split("[")[0])] = version.strip()
    return pins


def test_generator_may_abort_the_multipart_upload_it_starts(resources: dict[str, Any]) -> None:
    # The S3 sink aborts a failed multipart upload; without the grant its AccessDenied hides the real error.
    statements = _props(resources, "GeneratorFunction")["Policies"][0]["Statement"]
    listed = [s["Action"] if isinstance(s["Action"], list) else [s["Action"]] for s in statements]
    actions = {action for actions_ in listed for action in actions_}
    assert {"s3:PutObject", "s3:AbortMultipartUpload"} <= actions


def test_the_workgroup_takes_given_subnets_or_falls_back_to_the_default_vpc(resources: dict[str, Any],
                                                                           template: Any) -> None:
    workgroup = _props(resources, "RedshiftWorkgroup")

    assert template["Parameters"]["RedshiftSubnetIds"]["Default"] == ""
    assert workgroup["SubnetIds"] == {"Fn::If": ["HasRedshiftSubnets", {"Ref": "RedshiftSubnetIds"},
                                                 {"Ref": "AWS::NoValue"}]}
    assert template["Conditions"]["HasRedshiftSubnets"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "RedshiftSubnetIds"}]}, ""]}]}


def test_an_existing_warehouse_copies_with_its_own_attached_role(resources: dict[str, Any],
                                                                 template: Any) -> None:
    # A role the stack made could not be attached to a warehouse it does not own before the deploy's own
    # dims COPY: existing warehouses bring one, and the data bucket lets it read what COPY needs.
    url_sub = _props(resources, "GlueJob")["DefaultArguments"]["--warehouse_url"]["Fn::Sub"]
    rules = template["Rules"]["ExistingWarehouseNeedsCopyRole"]
    statements = _props(resources, "DataBucketPolicy")["PolicyDocument"]["Statement"]
    granted = [s["Fn::If"][2] for s in statements if "Fn::If" in s]

    assert resources["RedshiftCopyRole"]["Condition"] == "CreateServerless"
    given = {"Ref": "RedshiftCopyRoleArn"}
    made = {"Fn::GetAtt": ["RedshiftCopyRole", "Arn"]}
    assert url_sub[1]["CopyRole"] == {"Fn::If": ["CreateServerless", made, given]}
    assert rules["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [given, ""]}]}
    assert {g["Action"] for g in granted} == {"s3:ListBucket", "s3:GetObject"}
    assert all(g["Principal"] == {"AWS": given} for g in granted)


def test_setup_may_stage_the_dims_where_the_copy_role_reads_them(resources: dict[str, Any]) -> None:
    # The setup uploads the checked dims under keys.SETUP_STAGING_PREFIX and Redshift COPYs them from there.
    from ecom_pipeline.keys import SETUP_STAGING_PREFIX, STAGING_PREFIX

    def granted(owner: str, action: str) -> list[str]:
        return [json.dumps(target) for name, statement in _statements(resources) if name == owner
                and action in _as_list(statement["Action"]) for target in _as_list(statement["Resource"])]

    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert any(f"/{SETUP_STAGING_PREFIX}*" in target for target in granted("SetupFunction", action))
    assert SETUP_STAGING_PREFIX.startswith(STAGING_PREFIX)
    assert granted("RedshiftCopyRole", "s3:GetObject") == ['{"Fn::Sub": "${DataBucket.Arn}/staging/*"}']


def test_the_trigger_backs_off_from_its_queue_timeout(resources: dict[str, Any], template: Any) -> None:
    from ecom_pipeline.trigger.batch import FIRST_DELAY_S, MAX_DELAY_S

    assert _props(resources, "TriggerQueue")["VisibilityTimeout"] == FIRST_DELAY_S
    # The longest wait plus what can pass between the receive and the delay call (the longest batching
    # window, the function's timeout) stays within SQS's 12 hours from the receive.
    window = template["Parameters"]["TriggerBatchingWindowSeconds"]["MaxValue"]
    trigger = _props(resources, "GlueTriggerFunction")
    timeout = trigger.get("Timeout", template["Globals"]["Function"]["Timeout"])
    assert MAX_DELAY_S + window + timeout <= 12 * 3600
    assert _props(resources, "GlueTriggerFunction")["Environment"]["Variables"]["TRIGGER_QUEUE_URL"] == {
        "Ref": "TriggerQueue"}
