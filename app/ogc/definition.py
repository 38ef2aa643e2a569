"""The API definition the oas30 conformance class asks for: the /ogc operations of the app's
own OpenAPI document (which FastAPI writes as OpenAPI 3.1) said in OpenAPI 3.0.3.

The two differ in how a schema says a few things: null (a `{"type": "null"}` branch in 3.1,
`nullable: true` in 3.0), a fixed value (`const` / a one-value `enum`), exclusive bounds (a
number / a flag beside minimum or maximum), examples (a list / one `example`) and binary
content (`contentMediaType` / `format: binary`), several types (a list / `anyOf`). Only
schemas and the info's summary change; the rest is the same.
"""

from typing import Any

OPENAPI_30 = "3.0.3"
# Keys whose value is a schema, and keys whose value is a list or a map of schemas.
SCHEMA_VALUED = ("items", "not", "additionalProperties")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
SCHEMA_MAPS = ("properties",)
NULL = {"type": "null"}


def _schema(schema: Any) -> Any:
    """One JSON Schema (2020-12, as OpenAPI 3.1 has it) as an OpenAPI 3.0 schema object."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in SCHEMA_VALUED:
        if key in out:
            out[key] = _schema(out[key])
    for key in SCHEMA_LISTS:
        if key in out:
            out[key] = [_schema(branch) for branch in out[key]]
    for key in SCHEMA_MAPS:
        if key in out:
            out[key] = {name: _schema(value) for name, value in out[key].items()}
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[limit] = out[bound]
            out[bound] = True
    if "examples" in out:
        examples = out.pop("examples")
        if isinstance(examples, list) and examples:
            out["example"] = examples[0]
    if "contentMediaType" in out:
        out.pop("contentMediaType")
        out.setdefault("format", "binary")
    if isinstance(out.get("type"), list):
        types = [kind for kind in out["type"] if kind != "null"]
        if len(types) < len(out["type"]):
            out["nullable"] = True
        if len(types) == 1:
            out["type"] = types[0]
        else:  # several types: one branch each
            del out["type"]
            out["anyOf"] = [{"type": kind} for kind in types]
    for key in ("anyOf", "oneOf"):
        branches = out.get(key)
        if isinstance(branches, list) and NULL in branches:
            rest = [branch for branch in branches if branch != NULL]
            del out[key]
            out["nullable"] = True
            if len(rest) == 1 and "$ref" not in rest[0]:
                out = {**rest[0], **out}
            elif len(rest) == 1:
                # A $ref takes no siblings in 3.0: nullable goes beside an allOf of it.
                out["allOf"] = rest
            else:
                out[key] = rest
    return out


def _content(content: dict[str, Any]) -> dict[str, Any]:
    return {
        media: {**item, **({"schema": _schema(item["schema"])} if "schema" in item else {})}
        for media, item in content.items()
    }


def _operation(operation: dict[str, Any]) -> dict[str, Any]:
    out = dict(operation)
    out["parameters"] = [
        {**parameter, "schema": _schema(parameter["schema"])} if "schema" in parameter
        else parameter
        for parameter in operation.get("parameters", [])
    ]  # fmt: skip
    if not out["parameters"]:
        del out["parameters"]
    if "requestBody" in out:
        body = out["requestBody"]
        out["requestBody"] = {**body, "content": _content(body.get("content", {}))}
    out["responses"] = {
        status: {**response, **({"content": _content(response["content"])}
                                if "content" in response else {})}
        for status, response in operation.get("responses", {}).items()
    }  # fmt: skip
    return out


def _references(value: Any) -> set[str]:
    """The component schemas a piece of the document names with $ref."""
    if isinstance(value, dict):
        found = set()
        reference = value.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/components/schemas/"):
            found.add(reference.rsplit("/", 1)[1])
        for item in value.values():
            found |= _references(item)
        return found
    if isinstance(value, list):
        return set().union(*(_references(item) for item in value)) if value else set()
    return set()


def ogc_definition(document: dict[str, Any], prefix: str = "/ogc") -> dict[str, Any]:
    """The operations under `prefix` of an OpenAPI 3.1 document, with the component schemas
    they use, as an OpenAPI 3.0.3 document."""
    paths = {
        path: {method: _operation(operation) for method, operation in item.items()}
        for path, item in document["paths"].items()
        if path == prefix or path.startswith(f"{prefix}/")
    }
    schemas = document.get("components", {}).get("schemas", {})
    wanted, seen = _references(paths), set[str]()
    while wanted - seen:
        name = (wanted - seen).pop()
        seen.add(name)
        wanted |= _references(schemas.get(name, {}))
    components: dict[str, Any] = {
        "schemas": {name: _schema(schemas[name]) for name in sorted(seen) if name in schemas}
    }
    security = document.get("components", {}).get("securitySchemes")
    if security:
        components["securitySchemes"] = security
    return {
        "openapi": OPENAPI_30,
        # 3.0's info has no summary (3.1 added it).
        "info": {key: value for key, value in document["info"].items() if key != "summary"},
        "paths": paths,
        "components": components,
    }
