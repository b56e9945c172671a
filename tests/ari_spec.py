"""The ARI Swagger 1.1 documents as a checker, for the fake ARI (tests/fake_ari.py).

The documents are Asterisk's own (`rest-api/` in its tree), kept outside this
repository (GPL-2.0 data, see their README); they are read at test time, never
copied. `check_request` says what is wrong with a request the app made,
`check_model` what is wrong with an object (an event) the fake is about to send.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOCS_DIR = Path(os.environ.get("PBXCRM_ARI_API_DOCS", REPO.parent / "shared" / "asterisk-ari-api-docs"))

_ARI_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"


@dataclass
class Operation:
    method: str
    path: str  # as documented, e.g. /channels/{channelId}/answer
    nickname: str
    params: dict[str, dict]
    pattern: re.Pattern = field(repr=False)

    @property
    def literal_segments(self) -> int:
        return sum(1 for part in self.path.split("/") if part and not part.startswith("{"))


class AriSpec:
    def __init__(self, operations: list[Operation], models: dict[str, dict]):
        self.operations = operations
        self.models = models
        # Message and Event list the event types as subTypes: an event carries its parents' fields.
        self._parent = {sub: name for name, m in models.items() for sub in m.get("subTypes", ())}

    @classmethod
    def load(cls, docs_dir: Path = DOCS_DIR) -> "AriSpec":
        listing = json.loads((docs_dir / "resources.json").read_text())
        operations, models = [], {}
        for api in listing["apis"]:
            name = api["path"].rsplit("/", 1)[1].replace(".{format}", ".json")
            doc = json.loads((docs_dir / "api-docs" / name).read_text())
            models.update(doc.get("models", {}))
            for resource in doc["apis"]:
                regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(resource["path"]))
                for op in resource["operations"]:
                    operations.append(Operation(
                        op["httpMethod"], resource["path"], op["nickname"],
                        {p["name"]: p for p in op.get("parameters", [])}, re.compile(f"^{regex}$")))
        return cls(operations, models)

    # ---- requests ----

    def operation(self, method: str, path: str) -> Operation | None:
        """The documented operation for a request path (under /ari); the most literal wins."""
        matches = [op for op in self.operations if op.method == method and op.pattern.match(path)]
        return max(matches, key=lambda op: op.literal_segments) if matches else None

    def check_request(self, method: str, path: str, query: dict[str, str], body: Any) -> list[str]:
        op = self.operation(method, path)
        if op is None:
            documented = any(o.pattern.match(path) for o in self.operations)
            return [f"{method} {path}: " + ("method not documented for this path" if documented
                                            else "path not documented")]
        problems = []
        where = f"{method} {op.path}"
        values = dict(query)
        body_params = [p for p in op.params.values() if p["paramType"] == "body"]
        if body is not None:
            whole = [p for p in body_params if p["dataType"] == "object"]
            if whole:
                values[whole[0]["name"]] = body
            elif not isinstance(body, dict):
                problems.append(f"{where}: a JSON body that is not an object")
            elif not body_params:
                problems.append(f"{where}: a JSON body, but the operation documents no body parameter")
            else:
                # Asterisk reads the other keys of the body object as query parameters.
                values.update(body)
        for name, value in values.items():
            param = op.params.get(name)
            if param is None or param["paramType"] == "path":
                problems.append(f"{where}: parameter {name!r} is not documented")
                continue
            problems += [f"{where}: {name}: {p}" for p in _check_param(param, value)]
        for name, param in op.params.items():
            if param.get("required") and param["paramType"] != "path" and name not in values:
                problems.append(f"{where}: required parameter {name!r} missing")
        return problems

    # ---- models (events and what they carry) ----

    def check_model(self, model: str, obj: Any, where: str = "") -> list[str]:
        where = where or model
        if model not in self.models:
            return [f"{where}: no model {model!r} in the documents"]
        if not isinstance(obj, dict):
            return [f"{where}: not an object"]
        properties = self._properties(model)
        problems = []
        for name, prop in properties.items():
            if name not in obj:
                if prop.get("required"):
                    problems.append(f"{where}: required field {name!r} missing")
                continue
            problems += self._check_value(prop["type"], obj[name], f"{where}.{name}", prop)
        problems += [f"{where}: field {name!r} is not documented" for name in obj if name not in properties]
        return problems

    def check_event(self, event: dict) -> list[str]:
        kind = event.get("type")
        if kind not in self.models or self._root(kind) != "Message":
            return [f"event type {kind!r} is not documented"]
        return self.check_model(kind, event)

    def _root(self, model: str) -> str:
        while model in self._parent:
            model = self._parent[model]
        return model

    def _properties(self, model: str) -> dict[str, dict]:
        chain = [model]
        while chain[-1] in self._parent:
            chain.append(self._parent[chain[-1]])
        props: dict[str, dict] = {}
        for name in reversed(chain):
            props.update(self.models[name]["properties"])
        return props

    def _check_value(self, kind: str, value: Any, where: str, prop: dict | None = None) -> list[str]:
        if kind.startswith("List[") and kind.endswith("]"):
            if not isinstance(value, list):
                return [f"{where}: {value!r} is not a list"]
            return [p for i, v in enumerate(value) for p in self._check_value(kind[5:-1], v, f"{where}[{i}]")]
        if kind in self.models:
            return self.check_model(kind, value, where)
        ok = {"string": lambda v: isinstance(v, str), "int": _is_int, "long": _is_int,
              "double": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
              "boolean": lambda v: isinstance(v, bool), "object": lambda v: isinstance(v, dict),
              "Date": _is_ari_time}.get(kind)
        if ok is None:
            return [f"{where}: unknown type {kind!r}"]
        if not ok(value):
            return [f"{where}: {value!r} is not of type {kind}"]
        allowed = (prop or {}).get("allowableValues")
        if allowed and allowed.get("valueType") == "LIST" and value not in allowed["values"]:
            return [f"{where}: {value!r} is not one of {allowed['values']}"]
        return []


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_ari_time(value: Any) -> bool:
    try:
        dt.datetime.strptime(value, _ARI_TIME)
        return True
    except (TypeError, ValueError):
        return False


def _check_param(param: dict, value: Any) -> list[str]:
    kind = param["dataType"]
    if param["paramType"] == "body":
        return [] if isinstance(value, (dict, list)) else [f"{value!r} is not a JSON object"]
    items = str(value).split(",") if param.get("allowMultiple") else [str(value)]
    problems = []
    allowed = param.get("allowableValues") or {}
    for item in items:
        if kind in ("int", "long") and not re.fullmatch(r"-?\d+", item):
            problems.append(f"{item!r} is not an {kind}")
        elif kind == "boolean" and item not in ("true", "false"):
            problems.append(f"{item!r} is not a boolean")
        if allowed.get("valueType") == "LIST" and item not in allowed["values"]:
            problems.append(f"{item!r} is not one of {allowed['values']}")
        elif allowed.get("valueType") == "RANGE" and re.fullmatch(r"-?\d+", item):
            low, high = allowed.get("min"), allowed.get("max")
            if (low is not None and int(item) < low) or (high is not None and int(item) > high):
                problems.append(f"{item} is outside {low}..{high}")
    return problems


def ari_time(moment: dt.datetime | None = None) -> str:
    """A timestamp as Asterisk writes it: 2026-11-22T18:46:49.123+0000."""
    moment = moment or dt.datetime.now(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")
