"""Every service's OpenAPI document says what its routes can answer, derived once when the app is
built rather than repeated on every route:

- bearer authentication as a security scheme, required by every route whose policy is not public;
- the error shape (`Error`) for every 4xx/5xx;
- the errors every route can give: 401 and 403 (a token that does not verify or grants nothing
  usable is refused even where none is needed), 422 (input, including control characters in a
  query string: shared/inputs.py), 503 (database, cache or token issuer unavailable); 404 where
  the path names an object (or an assembly, whose objects another tenant's staff do not see);
  409 on every write (it can conflict with the state it changes); 400 where a body is read (one
  FastAPI cannot parse at all: nested too deep, a number of more than 4300 digits);
- what a route declares itself (`responses=errors(404, 429)`), e.g. a code that is not known, or a
  rate limit;
- on pages (shared/ui): 303 (sign in first, or where a form leads), and 400, 404, 409 and 429, which
  a page renders as a page in the chosen language.

`unbounded_integers` lists integer inputs without a minimum and a maximum (tests refuse any).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shared.auth.policy import api_routes, route_policies
from shared.auth.principal import PUBLIC

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["status", "code", "message", "details", "request_id"],
        "properties": {
            "status": {"type": "integer"},
            "code": {"type": "string", "description": "Stable machine-readable code"},
            "message": {"type": "string", "description": "What went wrong and what to fix"},
            "details": {"type": "array", "items": {"type": "object"}},
            "request_id": {"type": ["string", "null"]},
        },
    }},
}
DESCRIPTIONS = {
    400: "Bad request", 401: "No valid bearer token (or a token that does not verify)",
    403: "The token's roles do not allow this", 404: "Not found (also: another assembly's objects)",
    409: "Conflicts with the current state", 413: "Too large", 415: "Unsupported media type",
    422: "Invalid input: the message and details say what to fix", 429: "Rate limited: see Retry-After",
    503: "A dependency is unavailable: try again after Retry-After",
}
EVERY_ROUTE = (401, 403, 422, 503)
BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
          "description": "An OpenID Connect access token (JWT) from a trusted issuer; members use the token "
                         "recruitment's /member-login gives for the code in their letter"}


def _error_response(status: int) -> dict:
    return {"description": DESCRIPTIONS.get(status, "Error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with the declarations above (cached like FastAPI's own)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = {"bearer": BEARER}
    for route in api_routes(app.routes):
        if not route.include_in_schema:
            continue
        policies = route_policies(route)
        public = not policies or PUBLIC in policies[0].roles
        statuses = set(EVERY_ROUTE)
        page = bool(policies) and policies[0].page
        if page:  # a page: refusals as pages, forms can be refused or rate-limited, sign-in redirects
            statuses |= {400, 404, 409, 429}
        if route.param_convertors:  # a path parameter names something that may not exist
            statuses.add(404)
        for method in route.methods or ():
            statuses_here = statuses | ({409} if method not in ("GET", "HEAD", "OPTIONS") else set())
            op = schema.get("paths", {}).get(route.path_format, {}).get(method.lower())
            if op is None:
                continue
            if "requestBody" in op:
                statuses_here.add(400)
            responses = op.setdefault("responses", {})
            declared = {int(code) for code in responses if str(code).isdigit() and int(code) >= 400}
            for status in sorted(statuses_here | declared):
                responses[str(status)] = _error_response(status)
            if page:
                responses["303"] = {"description": "See other: sign in first (the page sends the browser to the "
                                                   "sign-in page and back), or where a submitted form leads"}
            if not public:
                op["security"] = [{"bearer": []}]
                roles = ", ".join(policies[0].roles)
                op["description"] = (op.get("description", "") + f"\n\nRoles: {roles}.").strip()
    components["schemas"].pop("HTTPValidationError", None)
    components["schemas"].pop("ValidationError", None)
    app.openapi_schema = schema
    return schema


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route's own errors beyond the derived ones, e.g. `errors(404, 429)`."""
    return {status: {"description": DESCRIPTIONS.get(status, "Error")} for status in statuses}


def install(app: FastAPI) -> None:
    app.openapi = lambda: document(app)  # type: ignore[method-assign]


def unbounded_integers(schema: dict[str, Any]) -> list[str]:
    """Integer inputs (path, query, header, request bodies) without both a minimum and a maximum."""
    found: list[str] = []
    defs = schema.get("components", {}).get("schemas", {})

    def walk(node: Any, where: str, seen: frozenset[str]) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, where, seen)
            return
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in seen:
                walk(defs.get(name), f"{where} ({name})", seen | {name})
            return
        if node.get("type") == "integer" or (isinstance(node.get("type"), list) and "integer" in node["type"]):
            low = "minimum" in node or "exclusiveMinimum" in node
            high = "maximum" in node or "exclusiveMaximum" in node
            if not (low and high):
                found.append(where)
        for key, value in node.items():
            if key in ("properties", "patternProperties") and isinstance(value, dict):
                for prop, sub in value.items():
                    walk(sub, f"{where}.{prop}", seen)
            elif isinstance(value, (dict, list)) and key not in ("examples", "example", "default"):
                walk(value, where, seen)

    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            if not isinstance(op, dict):
                continue
            for p in op.get("parameters", []):
                walk(p.get("schema"), f"{method.upper()} {path} {p.get('in')} {p.get('name')}", frozenset())
            body = op.get("requestBody", {}).get("content", {})
            for media in body.values():
                walk(media.get("schema"), f"{method.upper()} {path} body", frozenset())
    return found
