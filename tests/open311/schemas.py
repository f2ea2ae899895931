"""JSON Schemas of GeoReport v2's JSON responses, written from the specification
(../shared/reference/open311-georeport-v2.md): each field, its type, and the values it may take."""
from __future__ import annotations

from jsonschema import Draft202012Validator, FormatChecker

_TEXT = {"type": ["string", "null"]}
#: w3 date-times: a timezone (Z or an offset) must be included.
_W3 = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"}

SERVICE = {
    "type": "object",
    "required": ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"],
    "properties": {
        "service_code": {"type": ["string", "integer"]},
        "service_name": {"type": "string"},
        "description": _TEXT,
        "metadata": {"type": "boolean"},
        "type": {"enum": ["realtime", "batch", "blackbox"]},
        "keywords": _TEXT,
        "group": _TEXT,
    },
}
SERVICES = {"type": "array", "items": SERVICE}

ATTRIBUTE = {
    "type": "object",
    "required": ["variable", "code", "datatype", "required", "order", "description"],
    "properties": {
        "variable": {"type": "boolean"},
        "code": {"type": ["string", "integer"]},
        "datatype": {"enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]},
        "required": {"type": "boolean"},
        "datatype_description": _TEXT,
        "order": {"type": "integer", "minimum": 1},
        "description": {"type": "string"},
        "values": {"type": "array", "items": {"type": "object", "required": ["key", "name"],
                                              "properties": {"key": {"type": ["string", "integer"]},
                                                             "name": {"type": "string"}}}},
    },
    "allOf": [{"if": {"properties": {"datatype": {"enum": ["singlevaluelist", "multivaluelist"]}}},
               "then": {"required": ["values"], "properties": {"values": {"minItems": 1}}}}],
}
SERVICE_DEFINITION = {
    "type": "object",
    "required": ["service_code", "attributes"],
    "properties": {"service_code": {"type": ["string", "integer"]},
                   "attributes": {"type": "array", "items": ATTRIBUTE}},
}

#: POST requests: an id (a realtime service) and never a token with it.
CREATED = {
    "type": "array", "minItems": 1, "maxItems": 1,
    "items": {"type": "object", "required": ["service_request_id"],
              "properties": {"service_request_id": {"type": ["string", "integer"]}, "service_notice": _TEXT,
                             "account_id": _TEXT},
              "not": {"required": ["token"]}},
}

REQUEST = {
    "type": "object",
    "required": ["service_request_id", "status", "service_code", "requested_datetime", "updated_datetime"],
    "properties": {
        "service_request_id": {"type": ["string", "integer"]},
        "status": {"enum": ["open", "closed"]},
        "status_notes": _TEXT,
        "service_name": _TEXT,
        "service_code": {"type": ["string", "integer"]},
        "description": {"type": ["string", "null"], "maxLength": 4000},
        "agency_responsible": _TEXT,
        "service_notice": _TEXT,
        "requested_datetime": _W3,
        "updated_datetime": _W3,
        "expected_datetime": {"anyOf": [_W3, {"type": "null"}]},
        "address": _TEXT,
        "address_id": {"type": ["string", "integer", "null"]},
        "zipcode": {"type": ["string", "integer", "null"]},
        "lat": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
        "long": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
        "media_url": _TEXT,
    },
}
REQUESTS = {"type": "array", "items": REQUEST}

ERRORS = {
    "type": "array", "minItems": 1,
    "items": {"type": "object", "required": ["code", "description"],
              "properties": {"code": {"type": "integer"}, "description": {"type": "string", "minLength": 1}}},
}

DISCOVERY = {
    "type": "object",
    "required": ["changeset", "contact", "key_service", "endpoints"],
    "properties": {
        "changeset": _W3,
        "endpoints": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["specification", "url", "changeset", "type", "formats"],
            "properties": {"type": {"enum": ["production", "test"]},
                           "formats": {"type": "array", "items": {"type": "string"}}}}},
    },
}


def check(schema: dict, value) -> None:
    """Raise jsonschema's ValidationError (naming the field) unless the value fits the schema."""
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(value)
