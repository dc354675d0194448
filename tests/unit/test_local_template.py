"""The CloudFormation loader and intrinsic resolver the local runtime provisions from."""

from __future__ import annotations

from pathlib import Path

import pytest
from ecom_pipeline.local.template import (
    Physical,
    Resolver,
    StackContext,
    TemplateError,
    generated_name,
    load_template,
)

TEMPLATE = """
Parameters:
  Prefix: {Type: String, Default: shop}
  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Email: {Type: String, Default: ""}
  Sizes: {Type: CommaDelimitedList, Default: "a,b,c"}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  HasEmail: !Not [!Equals [!Ref Email, ""]]
  ProdWithEmail: !And [!Condition IsProd, !Condition HasEmail]
Mappings:
  Retention: {dev: {days: 7}, prod: {days: 365}}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${Prefix}-data-${AWS::AccountId}"
  Queue:
    Type: AWS::SQS::Queue
  Mail:
    Type: AWS::SNS::Subscription
    Condition: HasEmail
    Properties: {Endpoint: !Ref Email}
"""


def _resolver(tmp_path: Path, **params: str) -> Resolver:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    template = load_template(path)
    physical = {
        "Bucket": Physical("shop-data-123456789012", {"Arn": "arn:aws:s3:::shop-data-123456789012"}),
        "Queue": Physical("http://q/Queue", {"Arn": "arn:aws:sqs:us-east-1:123456789012:q"}),
        "Mail": Physical("sub", {}),
    }
    return Resolver(template, StackContext(parameters=params), physical.__getitem__)


def test_short_form_tags_load_as_long_form(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("Resources:\n  A:\n    Type: X\n    Properties:\n"
                    "      B: !GetAtt Queue.Arn\n      C: !Ref Bucket\n      D: !Join [',', [a, b]]\n")
    props = load_template(path)["Resources"]["A"]["Properties"]
    assert props == {"B": {"Fn::GetAtt": ["Queue", "Arn"]}, "C": {"Ref": "Bucket"},
                     "D": {"Fn::Join": [",", ["a", "b"]]}}


def test_a_file_without_resources_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("just: a mapping\n")
    with pytest.raises(TemplateError, match="no Resources"):
        load_template(path)


def test_sub_resolves_parameters_pseudo_parameters_and_attributes(tmp_path: Path) -> None:
    r = _resolver(tmp_path)
    assert r.resolve({"Fn::Sub": "${Prefix}-${AWS::Region}-${Queue.Arn}-${!Literal}"}) == (
        "shop-us-east-1-arn:aws:sqs:us-east-1:123456789012:q-${Literal}")
    assert r.resolve({"Fn::Sub": ["${X}/${Bucket}", {"X": {"Ref": "Stage"}}]}) == "dev/shop-data-123456789012"


def test_conditions_follow_parameter_overrides(tmp_path: Path) -> None:
    assert not _resolver(tmp_path).condition("IsProd")
    prod = _resolver(tmp_path, Stage="prod", Email="ops@example.com")
    assert prod.condition("IsProd") and prod.condition("ProdWithEmail")
    assert prod.is_active("Mail")
    assert not _resolver(tmp_path).is_active("Mail")


def test_if_select_join_split_findinmap(tmp_path: Path) -> None:
    r = _resolver(tmp_path, Stage="prod")
    assert r.resolve({"Fn::If": ["IsProd", "big", "small"]}) == "big"
    assert r.resolve({"Fn::FindInMap": ["Retention", {"Ref": "Stage"}, "days"]}) == 365
    assert r.resolve({"Fn::Select": [1, {"Ref": "Sizes"}]}) == "b"
    assert r.resolve({"Fn::Join": ["-", {"Fn::Split": [",", "x,y"]}]}) == "x-y"


def test_no_value_removes_the_property(tmp_path: Path) -> None:
    r = _resolver(tmp_path)
    resolved = r.resolve({"Keep": 1, "Drop": {"Fn::If": ["IsProd", 2, {"Ref": "AWS::NoValue"}]},
                          "List": [1, {"Ref": "AWS::NoValue"}]})
    assert resolved == {"Keep": 1, "List": [1]}


def test_parameter_rules_fail_fast(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not one of"):
        _resolver(tmp_path, Stage="qa")
    with pytest.raises(TemplateError, match="unknown parameters"):
        _resolver(tmp_path, Nope="1")


def test_unknown_references_are_errors_not_blanks(tmp_path: Path) -> None:
    r = _resolver(tmp_path)
    with pytest.raises(TemplateError, match="unknown name"):
        r.resolve({"Ref": "Missing"})
    with pytest.raises(TemplateError, match="not supported"):
        r.resolve({"Fn::Cidr": ["10.0.0.0/16", 2, 8]})


def test_generated_names_are_stable_and_bounded() -> None:
    a = generated_name("stack", "VeryLongLogicalId" * 10, max_len=63, lower=True)
    assert a == generated_name("stack", "VeryLongLogicalId" * 10, max_len=63, lower=True)
    assert len(a) <= 63 and a == a.lower()
    assert a != generated_name("stack", "Other", max_len=63, lower=True)
