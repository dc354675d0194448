"""EventBridge semantics the local runtime needs: event patterns and target input shaping.

moto stores rules but cannot deliver to SNS or Lambda targets (and does not implement
TestEventPattern), so matching and input transformation happen here, following the documented
EventBridge rules: every pattern field must match, a list matches when any of its values does,
content filters (prefix, suffix, anything-but, numeric, exists, equals-ignore-case, wildcard), `$or`.
"""

from __future__ import annotations

import fnmatch
import json
import operator
import re
import uuid
from datetime import UTC, datetime
from typing import Any

_MISSING = object()
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_NUMERIC_OPS = {"<": operator.lt, "<=": operator.le, "=": operator.eq, ">=": operator.ge, ">": operator.gt}


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """True when `event` matches the EventBridge `pattern`."""
    for key, expected in pattern.items():
        if key == "$or":
            if not any(matches(alternative, event) for alternative in expected):
                return False
            continue
        actual = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(expected, dict):
            if not isinstance(actual, dict) or not matches(expected, actual):
                return False
        elif isinstance(expected, list):
            if not _field_matches(expected, actual):
                return False
        else:
            raise ValueError(f"pattern field {key!r} must be an object or an array, not {expected!r}")
    return True


def _field_matches(allowed: list[Any], actual: Any) -> bool:
    # `exists: false` is the one filter that matches a missing field.
    if actual is _MISSING:
        return any(isinstance(a, dict) and a.get("exists") is False for a in allowed)
    values = actual if isinstance(actual, list) else [actual]
    return any(_value_matches(a, v) for a in allowed for v in values)


def _value_matches(allowed: Any, value: Any) -> bool:
    if not isinstance(allowed, dict):
        return bool(allowed == value and type(allowed) is type(value)) or (
            allowed is None and value is None)
    (kind, arg), = allowed.items()
    if kind == "exists":
        return bool(arg)
    if kind == "prefix":
        return isinstance(value, str) and _affix(arg, value, str.startswith)
    if kind == "suffix":
        return isinstance(value, str) and _affix(arg, value, str.endswith)
    if kind == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == str(arg).casefold()
    if kind == "wildcard":
        return isinstance(value, str) and fnmatch.fnmatchcase(value, str(arg).replace("[", "[[]"))
    if kind == "anything-but":
        return not _anything_but_hits(arg, value)
    if kind == "numeric":
        return isinstance(value, int | float) and not isinstance(value, bool) and _numeric(arg, value)
    raise ValueError(f"unsupported content filter {kind!r}")


def _affix(arg: Any, value: str, test: Any) -> bool:
    if isinstance(arg, dict) and "equals-ignore-case" in arg:
        return bool(test(value.casefold(), str(arg["equals-ignore-case"]).casefold()))
    return bool(test(value, str(arg)))


def _anything_but_hits(arg: Any, value: Any) -> bool:
    if isinstance(arg, dict):
        return _value_matches(arg, value)
    excluded = arg if isinstance(arg, list) else [arg]
    return any(_value_matches(e, value) for e in excluded)


def _numeric(spec: list[Any], value: float) -> bool:
    pairs = zip(spec[::2], spec[1::2], strict=True)
    return all(_NUMERIC_OPS[op](value, float(bound)) for op, bound in pairs)


# --- target input ------------------------------------------------------------------------------------
def _json_path(event: dict[str, Any], path: str) -> Any:
    """The value at a simple JSONPath (`$`, `$.detail.state`, `$.resources[0]`); None when absent."""
    if path.strip() == "$":
        return event
    value: Any = event
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path.strip().removeprefix("$.")):
        if part.startswith("["):
            index = int(part[1:-1])
            value = value[index] if isinstance(value, list) and index < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def target_input(event: dict[str, Any], rule_name: str, input_: str | None = None,
                 input_path: str | None = None, transformer: dict[str, Any] | None = None) -> str:
    """The text EventBridge hands a target: the event JSON, a constant, a path, or a transformed template."""
    if input_ is not None:
        return input_
    if input_path is not None:
        return json.dumps(_json_path(event, input_path))
    if not transformer:
        return json.dumps(event)
    paths = transformer.get("InputPathsMap") or {}
    variables = {name: _json_path(event, path) for name, path in paths.items()}
    variables.update({
        "aws.events.rule-name": rule_name,
        "aws.events.event.ingestion-time": event.get("time"),
        "aws.events.event": event,
        "aws.events.event.json": event,
    })
    return _fill_template(str(transformer.get("InputTemplate", "")), variables)


def _fill_template(template: str, variables: dict[str, Any]) -> str:
    """Replace `<name>` placeholders as EventBridge does: inside a JSON string literal the value goes in
    as text, outside one it goes in as a JSON value (so a string gets its quotes)."""
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and in_string:
            out.append(template[i:i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            match = _PLACEHOLDER.match(template, i)
            if match and match.group(1) in variables:
                value = variables[match.group(1)]
                if in_string:
                    text = value if isinstance(value, str) else json.dumps(value)
                    out.append(json.dumps(text)[1:-1])
                else:
                    out.append(json.dumps(value))
                i = match.end()
                continue
        out.append(char)
        i += 1
    return "".join(out)


def glue_state_change_event(job_name: str, run_id: str, state: str, message: str, account_id: str,
                            region: str) -> dict[str, Any]:
    """A "Glue Job State Change" event in the shape AWS Glue emits it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Glue Job State Change",
        "source": "aws.glue",
        "account": account_id,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": {
            "jobName": job_name,
            "severity": "INFO" if state == "SUCCEEDED" else "ERROR",
            "state": state,
            "jobRunId": run_id,
            "message": message,
        },
    }
