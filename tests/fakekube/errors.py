"""`Status` failures worded like the apiserver (k8s.io/apimachinery/pkg/api/errors/errors.go).

Clients match on `code`, `reason` and sometimes the message text, so every constructor copies the
Go format string it mirrors. `qualified` is GroupResource.String(): `pods`, `servers.mlops.seldon.io`.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

OBJECT_MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"


def qualified(group: str, name: str) -> str:
    """GroupResource.String() / GroupKind.String(): the name, then `.group` unless core."""
    return f"{name}.{group}" if group else name


class ApiError(Exception):
    """A failed request; `status()` is the `Status` body the apiserver writes."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: Json | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers = details, headers or {}

    def status(self) -> Json:
        body: Json = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(group: str, kind: str, name: str = "", **extra: Any) -> Json:
    # StatusDetails fields are all `omitempty`: an empty group or name is left out.
    details: Json = {"name": name, "group": group, "kind": kind, **extra}
    return {k: v for k, v in details.items() if v not in ("", None, [])}


def not_found(group: str, resource: str, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{qualified(group, resource)} "{name}" not found', _details(group, resource, name)
    )


def already_exists(group: str, resource: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(group, resource)} "{name}" already exists',
        _details(group, resource, name),
    )


def conflict(group: str, resource: str, name: str, why: str = OBJECT_MODIFIED) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(group, resource)} "{name}": {why}',
        _details(group, resource, name),
    )


def forbidden(group: str, resource: str, name: str, why: str) -> ApiError:
    subject = qualified(group, resource) + (f' "{name}"' if name else "")
    return ApiError(403, "Forbidden", f"{subject} is forbidden: {why}", _details(group, resource, name))


def field_error(field: str, kind: str, detail: str = "", value: Any = None) -> Json:
    """A StatusCause as field.Error renders it: `Invalid value: "x": detail`, `Required value`, ..."""
    shown = "0x0" if value is None else (f'"{value}"' if isinstance(value, str) else str(value))
    bodies = {
        "FieldValueRequired": "Required value" + (f": {detail}" if detail else ""),
        "FieldValueInvalid": f"Invalid value: {shown}: {detail}",
        "FieldValueNotSupported": f"Unsupported value: {shown}: {detail}",
    }
    return {"reason": kind, "message": bodies[kind], "field": field}


def invalid(group: str, kind: str, name: str, causes: list[Json]) -> ApiError:
    """NewInvalid: keyed by Kind (not resource), and an aggregate `[a, b]` for several errors."""
    texts = [f"{c['field']}: {c['message']}" for c in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return ApiError(
        422,
        "Invalid",
        f'{qualified(group, kind)} "{name}" is invalid: {summary}',
        _details(group, kind, name, causes=causes),
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def name_mismatch(body_name: object, url_name: object) -> ApiError:
    return bad_request(f"the name of the object ({body_name}) does not match the name on the URL ({url_name})")


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}", {"causes": [{"message": message}]})


def path_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed(action: str, group: str, resource: str) -> ApiError:
    return ApiError(
        405,
        "MethodNotAllowed",
        f'{action} is not supported on resources of kind "{qualified(group, resource)}"',
        _details(group, resource),
    )


def unsupported_media_type(accepted: list[str]) -> ApiError:
    # negotiation.errUnsupportedMediaType: no details at all.
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: " + ", ".join(accepted),
    )


def patch_rejected() -> ApiError:
    """A JSON patch that fails to apply (a failed `test`, a missing path): patch.go answers with
    NewGenericServerResponse(422, ...), which keeps only this generic text and an empty details."""
    return ApiError(422, "Invalid", "the server rejected our request due to an error in our request", {})
