"""OpenAPI post-processing shared by every app's API (drf-spectacular hook, see settings).

`common.api.exception_handler` gives every error one body; this documents the errors every
operation may answer whatever its view declares: 404 for an unknown object or page, 400 for
an invalid body.
"""

ERROR_BODY = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object"},
    },
    "required": ["detail", "code", "errors"],
}


def _error(description, example):
    return {"description": description, "content": {"application/json": {"schema": ERROR_BODY, "example": example}}}


NOT_FOUND = _error(
    "Introuvable (objet inconnu, ou page au-delà de la dernière)",
    {"detail": "Non trouvé.", "code": "not_found", "errors": {}},
)
INVALID = _error(
    "Données invalides", {"detail": "Données invalides.", "code": "invalid", "errors": {"field": ["Message."]}}
)


def document_common_errors(result, generator, request, public):
    """A path parameter or a `page` may not exist (404); a request body may be invalid (400)."""
    for path, item in result.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            parameters = operation.get("parameters", [])
            pages = any(p.get("name") == "page" and p.get("in") == "query" for p in parameters)
            if "{" in path or pages:
                operation["responses"].setdefault("404", NOT_FOUND)
            if "requestBody" in operation:
                operation["responses"].setdefault("400", INVALID)
    return result
