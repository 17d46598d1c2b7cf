"""API errors as `metav1.Status` objects, with the codes and reasons clients switch on.

kubectl and client-go read `reason` and `code`, not the message: `AlreadyExists` (409) makes
`kubectl create` print "already exists", `Conflict` (409) makes controllers retry, `Invalid`
(422) carries `details.causes` (one per bad field), `Expired`/`Gone` (410) makes a watcher
re-list. `ApiError` is raised anywhere below the HTTP layer and turned into that JSON there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nodelab.errors import NodelabError
from nodelab.kubewire.go_quote import go_quote


@dataclass(frozen=True)
class Cause:
    """One bad field of an invalid object (`StatusCause`)."""

    field: str
    reason: str  # FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, ...
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


@dataclass
class ApiError(NodelabError):
    code: int
    reason: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if not self.reason:  # StatusReasonUnknown is "", left out as Go's omitempty does
            del body["reason"]
        if self.details:
            body["details"] = self.details
        return body


def _details(kind: str, name: str, group: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": kind} if name else {"kind": kind}
    if group:
        details["group"] = group
    return details


def not_found(plural: str, name: str, group: str = "") -> ApiError:
    resource = f"{plural}.{group}" if group else plural
    return ApiError(404, "NotFound", f'{resource} "{name}" not found',
                    _details(plural, name, group))


def already_exists(plural: str, name: str, group: str = "") -> ApiError:
    resource = f"{plural}.{group}" if group else plural
    return ApiError(409, "AlreadyExists", f'{resource} "{name}" already exists',
                    _details(plural, name, group))


def conflict(plural: str, name: str, group: str, why: str) -> ApiError:
    resource = f"{plural}.{group}" if group else plural
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {resource} "{name}": {why}',
                    _details(plural, name, group))


def invalid(kind: str, name: str, group: str, causes: list[Cause]) -> ApiError:
    summary = ", ".join(f"{c.field}: {c.message}" for c in causes)
    if len(causes) > 1:
        summary = f"[{summary}]"
    details = _details(kind, name, group)
    details["causes"] = [c.to_dict() for c in causes]
    qualified = f"{kind}.{group}" if group else kind
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {summary}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(user: str, verb: str, plural: str, group: str, namespace: str, why: str,
              name: str = "", subresource: str = "") -> ApiError:
    """An authorizer's refusal, as kube-apiserver writes it (responsewriters.Forbidden):
    `pods "web" is forbidden: User "u" cannot get resource "pods/log" in API group "" in the
    namespace "default"`, then `: <reason>` when the authorizers gave one."""
    resource = f"{plural}.{group}" if group else plural
    subject = f"{resource} {go_quote(name)}" if name else resource
    what = f"{plural}/{subresource}" if subresource else plural
    scope = f" in the namespace {go_quote(namespace)}" if namespace else " at the cluster scope"
    message = (f"User {go_quote(user)} cannot {verb} resource {go_quote(what)} in API group "
               f"{go_quote(group)}{scope}")
    for char, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):  # its sanitizer
        message = message.replace(char, escaped)
    return ApiError(403, "Forbidden",
                    f"{subject} is forbidden: {message}" + (f": {why}" if why else ""),
                    {**({"name": name} if name else {}), **({"group": group} if group else {}),
                     "kind": plural})


def admission_forbidden(plural: str, group: str, name: str, why: str) -> ApiError:
    """An admission plugin's refusal (admission.NewForbidden): `nodes "n2" is forbidden: node
    "n1" is not allowed to modify node "n2"`."""
    resource = f"{plural}.{group}" if group else plural
    subject = f"{resource} {go_quote(name)}" if name else resource
    return ApiError(403, "Forbidden", f"{subject} is forbidden: {why}",
                    {**({"name": name} if name else {}), **({"group": group} if group else {}),
                     "kind": plural})


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


PANIC_TEXT = "This request caused apiserver to panic. Look in the logs for details."


class Panicked(ApiError):
    """A request kube-apiserver's own code panics on (Go's runtime refuses an operation, such
    as comparing two maps): its panic-recovery filter (`WithPanicRecovery`) answers a plain-text
    500 with `PANIC_TEXT`, not a Status; `why` goes to the log only."""

    def __init__(self, why: str) -> None:
        super().__init__(500, "InternalError", PANIC_TEXT)
        self.why = why
