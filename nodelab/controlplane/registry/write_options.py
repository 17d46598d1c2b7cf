"""The options of a create, update or patch, checked as kube-apiserver's handlers check them
before reading the body (k8s.io/apimachinery `ValidateCreateOptions`, `ValidateUpdateOptions`,
`ValidatePatchOptions`): a 422 on `CreateOptions.meta.k8s.io ""` (or Update/Patch) naming each
bad option.

- `dryRun`: only `All`, however many times given (`ValidateDryRun`, which DeleteOptions share);
- `fieldManager`: at most 128 bytes of printable characters; required for server-side apply
  (the user agent stands in for it only on other writes);
- `fieldValidation`: empty, `Ignore`, `Strict` or `Warn`;
- `force`: only for server-side apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nodelab.controlplane import errors
from nodelab.controlplane.errors import Cause
from nodelab.controlplane.validation.fields import FieldErrors

DRY_RUN_VALUES = ("All",)
FIELD_VALIDATION_VALUES = ("", "Ignore", "Strict", "Warn")
FIELD_MANAGER_MAX_LENGTH = 128
KINDS = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions"}


def dry_run_errors(dry_run: object) -> list[Cause]:
    """`ValidateDryRun`: every value `All`."""
    found = FieldErrors()
    if not isinstance(dry_run, list) or any(value not in DRY_RUN_VALUES for value in dry_run):
        found.unsupported("dryRun", dry_run, list(DRY_RUN_VALUES))
    return found.causes


def _go_rune(char: str) -> str:
    """`%#U`: `U+0007`, followed by the quoted rune when it is printable (never here)."""
    return f"U+{ord(char):04X}"


def option_errors(verb: str, query: Mapping[str, Sequence[str]], apply: bool) -> list[Cause]:
    """The causes of `Validate<Verb>Options` for a request's query (its values as lists)."""
    found = FieldErrors()
    if verb == "patch":
        manager = (query.get("fieldManager") or [""])[0]
        if apply and not manager:
            found.required("fieldManager", "is required for apply patch")
        elif not apply and "force" in query:
            found.forbidden("force", "may not be specified for non-apply patch")
    manager = (query.get("fieldManager") or [""])[0]
    if len(manager.encode()) > FIELD_MANAGER_MAX_LENGTH:
        found.too_long("fieldManager", FIELD_MANAGER_MAX_LENGTH)
    for position, char in enumerate(manager):
        if not char.isprintable():  # Go's unicode.IsPrint
            found.invalid("fieldManager", manager,
                          f"invalid character {_go_rune(char)} (at position "
                          f"{len(manager[:position].encode())})")
    causes = found.causes
    if "dryRun" in query:
        causes += dry_run_errors(list(query["dryRun"]))
    validation = (query.get("fieldValidation") or [""])[0]
    if validation not in FIELD_VALIDATION_VALUES:
        checked = FieldErrors()
        checked.unsupported("fieldValidation", validation, list(FIELD_VALIDATION_VALUES))
        causes += checked.causes
    return causes


def validate(verb: str, query: Mapping[str, Sequence[str]], apply: bool = False) -> None:
    """Raise the handler's 422 when a create's, update's or patch's options are bad."""
    if verb not in KINDS:
        return
    causes = option_errors(verb, query, apply)
    if causes:
        raise errors.invalid(KINDS[verb], "", "meta.k8s.io", causes)
