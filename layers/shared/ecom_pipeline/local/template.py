"""Read a SAM/CloudFormation template and resolve its intrinsic functions, locally.

The local runtime provisions emulated AWS from `template.yaml` itself, so the template's short-form
tags (`!Ref`, `!Sub`, `!GetAtt`, ...) are loaded into their long form and resolved here against the
stack's parameters, conditions, pseudo parameters and the physical names the provisioner assigns.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# A marker the resolver returns for `AWS::NoValue`; containers drop it.
NO_VALUE: Any = type("NoValue", (), {"__repr__": lambda self: "AWS::NoValue"})()

_TAGS_WITH_FN_PREFIX = (
    "And", "Base64", "Cidr", "Equals", "FindInMap", "GetAZs", "If", "ImportValue", "Join", "Not",
    "Or", "Select", "Split", "Sub", "Transform", "ToJsonString", "Length",
)


class TemplateError(ValueError):
    """The template cannot be resolved (unknown reference, missing parameter value, bad intrinsic)."""


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that also understands CloudFormation's short-form tags."""


def _construct(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    assert isinstance(node, yaml.MappingNode)
    return loader.construct_mapping(node, deep=True)


def _tag(name: str) -> Callable[[yaml.SafeLoader, yaml.Node], Any]:
    def build(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        value = _construct(node, loader)
        if name == "Ref":
            return {"Ref": value}
        if name == "Condition":
            return {"Condition": value}
        if name == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{name}": value}

    return build


for _name in (*_TAGS_WITH_FN_PREFIX, "Ref", "Condition", "GetAtt"):
    _CfnLoader.add_constructor(f"!{_name}", _tag(_name))


def load_template(path: str | Path) -> dict[str, Any]:
    """Parse a template file (YAML or JSON) into plain dicts with long-form intrinsics."""
    text = Path(path).read_text(encoding="utf-8")
    data = yaml.load(text, Loader=_CfnLoader)
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
    return data


@dataclass
class StackContext:
    """The values a template resolves against: pseudo parameters and parameter overrides."""

    stack_name: str = "ecom-pipeline-local"
    account_id: str = "123456789012"
    region: str = "us-east-1"
    parameters: dict[str, str] = field(default_factory=dict)


# Physical identity of one resource: what `Ref` returns and what `GetAtt` can read.
@dataclass
class Physical:
    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


class Resolver:
    """Resolves intrinsics of one template; `physical` gives each resource's Ref and attributes."""

    def __init__(self, template: dict[str, Any], context: StackContext,
                 physical: Callable[[str], Physical]) -> None:
        self.template = template
        self.context = context
        self._physical = physical
        self._resources: dict[str, Any] = template.get("Resources", {})
        self.parameters = self._parameter_values()
        self._conditions: dict[str, bool] = {}

    # --- parameters and conditions ------------------------------------------------------------
    def _parameter_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, spec in (self.template.get("Parameters") or {}).items():
            if name in self.context.parameters:
                value: Any = self.context.parameters[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise TemplateError(f"parameter {name!r} has no Default; pass a value for it")
            allowed = spec.get("AllowedValues")
            if allowed is not None and str(value) not in [str(a) for a in allowed]:
                raise TemplateError(f"parameter {name!r}={value!r} is not one of {allowed}")
            if str(spec.get("Type", "String")).startswith("CommaDelimitedList") or spec.get(
                    "Type") == "List<String>":
                value = [v.strip() for v in str(value).split(",")] if value != "" else []
            else:
                value = str(value)
            values[name] = value
        unknown = set(self.context.parameters) - set(values)
        if unknown:
            raise TemplateError(f"unknown parameters: {sorted(unknown)}")
        return values

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            spec = (self.template.get("Conditions") or {}).get(name)
            if spec is None:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(spec))
        return self._conditions[name]

    def is_active(self, logical_id: str) -> bool:
        """False when the resource's Condition is false (it would not be created)."""
        cond = self._resources[logical_id].get("Condition")
        return True if cond is None else self.condition(cond)

    # --- pseudo parameters and references -----------------------------------------------------
    def _pseudo(self, name: str) -> Any:
        c = self.context
        pseudo = {
            "AWS::StackName": c.stack_name,
            "AWS::Region": c.region,
            "AWS::AccountId": c.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{c.region}:{c.account_id}:stack/{c.stack_name}/local",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name not in pseudo:
            raise TemplateError(f"unknown pseudo parameter {name!r}")
        return pseudo[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self._pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self._resources:
            return self._physical(name).ref
        raise TemplateError(f"!Ref to unknown name {name!r}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self._resources:
            raise TemplateError(f"!GetAtt on unknown resource {logical_id!r}")
        attrs = self._physical(logical_id).attributes
        if attribute not in attrs:
            raise TemplateError(f"!GetAtt {logical_id}.{attribute}: attribute not known locally")
        return attrs[attribute]

    # --- the resolver ---------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(self.resolve(arg))
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self._fn(key[4:], arg)
        out = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def _fn(self, name: str, arg: Any) -> Any:
        handler = getattr(self, f"_fn_{name.lower()}", None)
        if handler is None:
            raise TemplateError(f"Fn::{name} is not supported locally")
        return handler(arg)

    def _fn_getatt(self, arg: Any) -> str:
        logical_id, attribute = (self.resolve(a) for a in arg)
        return self.get_att(logical_id, attribute)

    def _fn_sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, mapping = arg[0], {k: self.resolve(v) for k, v in arg[1].items()}
        else:
            text, mapping = arg, {}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in mapping:
                return str(mapping[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", substitute, text)

    def _fn_if(self, arg: Any) -> Any:
        cond, when_true, when_false = arg
        return self.resolve(when_true if self.condition(cond) else when_false)

    def _fn_equals(self, arg: Any) -> bool:
        left, right = (self.resolve(a) for a in arg)
        return str(left) == str(right)

    def _fn_not(self, arg: Any) -> bool:
        return not self._truth(arg[0])

    def _fn_and(self, arg: Any) -> bool:
        return all(self._truth(a) for a in arg)

    def _fn_or(self, arg: Any) -> bool:
        return any(self._truth(a) for a in arg)

    def _truth(self, value: Any) -> bool:
        if isinstance(value, dict) and set(value) == {"Condition"}:
            return self.condition(value["Condition"])
        return bool(self.resolve(value))

    def _fn_join(self, arg: Any) -> str:
        sep, items = arg
        return str(sep).join(str(v) for v in self.resolve(items))

    def _fn_split(self, arg: Any) -> list[str]:
        sep, text = arg
        return str(self.resolve(text)).split(sep)

    def _fn_select(self, arg: Any) -> Any:
        index, items = arg
        return self.resolve(items)[int(self.resolve(index))]

    def _fn_findinmap(self, arg: Any) -> Any:
        mapping, top, second = (self.resolve(a) for a in arg)
        try:
            return self.template["Mappings"][mapping][top][second]
        except KeyError as exc:
            raise TemplateError(f"Fn::FindInMap {mapping}/{top}/{second} not found") from exc

    def _fn_base64(self, arg: Any) -> str:
        import base64

        return base64.b64encode(str(self.resolve(arg)).encode()).decode()

    def _fn_getazs(self, arg: Any) -> list[str]:
        return [f"{self.context.region}{z}" for z in "abc"]

    def _fn_tojsonstring(self, arg: Any) -> str:
        import json

        return json.dumps(self.resolve(arg), separators=(",", ":"))

    def _fn_length(self, arg: Any) -> int:
        return len(self.resolve(arg))


def generated_name(stack_name: str, logical_id: str, max_len: int = 63, lower: bool = False) -> str:
    """A CloudFormation-like physical name `<stack>-<logical>-<suffix>`, stable across runs."""
    suffix = hashlib.sha1(f"{stack_name}/{logical_id}".encode()).hexdigest()[:12].upper()
    name = f"{stack_name}-{logical_id}"[: max_len - len(suffix) - 1] + f"-{suffix}"
    return name.lower() if lower else name
