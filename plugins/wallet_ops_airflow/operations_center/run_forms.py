"""A DAG's trigger form on a page: the fields are the DAG's own Params (title, description,
choices, type), and the submitted values become the run's conf, which Airflow validates
against the same Params when the run is triggered (a value it refuses is its refusal)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow.sdk import Param
from starlette.datastructures import FormData

LINES = "lines"


@dataclass(frozen=True)
class Field:
    name: str
    title: str
    description: str
    kind: str  # text | date | number | select | checkbox | lines
    choices: tuple[Any, ...]
    default: Any
    required: bool


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type", "string")
    return set(kind) if isinstance(kind, list) else {kind}


def _kind(schema: Mapping[str, Any]) -> str:
    types = _types(schema)
    if "enum" in schema:
        return "select"
    if "boolean" in types:
        return "checkbox"
    if "array" in types:
        return LINES
    if "integer" in types:
        return "number"
    if schema.get("format") == "date":
        return "date"
    return "text"


def fields_of(params: Mapping[str, Param]) -> list[Field]:
    """The form of ``params``, in their order."""
    fields = []
    for name, param in params.items():
        schema = param.schema
        default = param.value if param.has_value else None
        fields.append(
            Field(
                name=name,
                title=schema.get("title", name),
                description=schema.get("description", ""),
                kind=_kind(schema),
                choices=tuple(schema.get("enum", ())),
                default=default,
                required=not param.has_value and "null" not in _types(schema),
            )
        )
    return fields


def conf_of(params: Mapping[str, Param], form: FormData) -> dict[str, Any]:
    """The run's conf from the submitted form, typed as the Params declare (an empty optional
    field is null; a malformed number is passed on for Airflow to refuse)."""
    conf: dict[str, Any] = {}
    for field in fields_of(params):
        raw = form.get(field.name)
        text = raw.strip() if isinstance(raw, str) else ""
        types = _types(params[field.name].schema)
        if field.kind == "checkbox":
            conf[field.name] = field.name in form
        elif field.kind == LINES:
            conf[field.name] = [line.strip() for line in text.splitlines() if line.strip()]
        elif "integer" in types and text.lstrip("-").isdigit():
            conf[field.name] = int(text)
        elif not text and "null" in types:
            conf[field.name] = None
        else:
            conf[field.name] = text
    return conf
