"""The vocabulary of field errors (upstream `field.ErrorList`) and the name formats.

Every validator appends to one `FieldErrors`; each entry becomes a `StatusCause` whose `field`
is the JSON path (`spec.containers[0].image`) and whose `message` reads as upstream's does
(`Required value`, `Invalid value: "x": <why>`, `Unsupported value: "x": supported values: ...`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from nodelab.controlplane.errors import Cause
from nodelab.kube.addresses import (
    VALID_CIDR,
    VALID_IP,
    non_special_ip_problems,
    parse_cidr,
    parse_ip,
)
from nodelab.kube.intstr import as_int, is_valid_percent, percent_value

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$")

DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric "
                     "characters or '-', and must start and end with an alphanumeric character")
DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                         "characters, '-' or '.', and must start and end with an alphanumeric "
                         "character")
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, "
                   "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
                   "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                   "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
DNS1035_LABEL_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or "
                     "'-', start with an alphabetic character, and end with an alphanumeric "
                     "character")


def go_json(value: Any) -> str:
    """Go's `json.Marshal`: compact, `<`, `>`, `&`, U+2028 and U+2029 escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def quote(value: Any) -> str:
    """A bad value as upstream's `field.Error` writes it: `%q` for strings, `%v` for numbers
    and booleans, JSON for anything else (`null`, `["a","b"]`, a struct's fields)."""
    if isinstance(value, bool):
        return "true" if value else "false"  # as Go prints them
    if isinstance(value, str):
        return json.dumps(value)
    if value is None or isinstance(value, (dict, list)):
        return go_json(value)
    return str(value)


class FieldErrors:
    """An ordered list of field errors, built up by validators."""

    def __init__(self) -> None:
        self.causes: list[Cause] = []

    def required(self, path: str, detail: str = "") -> None:
        self.causes.append(Cause(path, "FieldValueRequired",
                                 "Required value" + (f": {detail}" if detail else "")))

    def invalid(self, path: str, value: Any, detail: str) -> None:
        self.causes.append(Cause(path, "FieldValueInvalid",
                                 f"Invalid value: {quote(value)}: {detail}"))

    def unsupported(self, path: str, value: Any, supported: list[str]) -> None:
        values = ", ".join(json.dumps(s) for s in supported)
        self.causes.append(Cause(path, "FieldValueNotSupported",
                                 f"Unsupported value: {quote(value)}: supported values: {values}"))

    def duplicate(self, path: str, value: Any) -> None:
        self.causes.append(Cause(path, "FieldValueDuplicate", f"Duplicate value: {quote(value)}"))

    def not_found(self, path: str, value: Any) -> None:
        self.causes.append(Cause(path, "FieldValueNotFound", f"Not found: {quote(value)}"))

    def forbidden(self, path: str, detail: str) -> None:
        self.causes.append(Cause(path, "FieldValueForbidden", f"Forbidden: {detail}"))

    def too_long(self, path: str, limit: int) -> None:
        self.causes.append(Cause(path, "FieldValueTooLong",
                                 f"Too long: may not be more than {limit} bytes"))

    # formats -------------------------------------------------------------------------------

    def dns1123_label(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or len(value) > 63 or not _DNS1123_LABEL.match(value):
            self.invalid(path, value, DNS1123_LABEL_MSG)

    def dns1123_subdomain(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or len(value) > 253 or not _DNS1123_SUBDOMAIN.match(value):
            self.invalid(path, value, DNS1123_SUBDOMAIN_MSG)

    def path_segment_name(self, path: str, name: Any) -> None:
        """`path.IsValidPathSegmentName` (RBAC names, `roleRef.name`): every problem."""
        name = str(name)
        if name in (".", ".."):
            self.invalid(path, name, f"may not be '{name}'")
            return
        for illegal in ("/", "%"):
            if illegal in name:
                self.invalid(path, name, f"may not contain '{illegal}'")

    def dns1035_label(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or len(value) > 63 or not _DNS1035_LABEL.match(value):
            self.invalid(path, value, DNS1035_LABEL_MSG)

    def qualified_name(self, path: str, key: Any) -> None:
        if not isinstance(key, str):
            self.invalid(path, key, "must be a string")
            return
        prefix, _, name = key.rpartition("/")
        if prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
            self.invalid(path, key, "prefix part " + DNS1123_SUBDOMAIN_MSG)
        if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
            self.invalid(path, key, "name part must consist of alphanumeric characters, '-', '_' "
                         "or '.', and must start and end with an alphanumeric character")

    def labels(self, path: str, labels: Any) -> None:
        if labels is None:
            return
        if not isinstance(labels, dict):
            self.invalid(path, labels, "must be a map of strings")
            return
        for key, value in labels.items():
            self.qualified_name(path, key)
            self.label_value(path, value)

    def label_value(self, path: str, value: Any) -> None:
        """Upstream's IsValidLabelValue: at most 63 bytes, and its pattern."""
        if not isinstance(value, str):
            self.invalid(path, value, "must be a string")
            return
        if len(value.encode()) > 63:
            self.invalid(path, value, "must be no more than 63 bytes")
        if not _LABEL_VALUE.match(value):
            self.invalid(path, value, LABEL_VALUE_MSG)

    def port(self, path: str, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
            self.invalid(path, value, "must be between 1 and 65535, inclusive")

    def protocol(self, path: str, value: Any) -> None:
        if value not in ("TCP", "UDP", "SCTP"):
            self.unsupported(path, value, ["SCTP", "TCP", "UDP"])

    def port_name(self, path: str, value: Any) -> None:
        if (not isinstance(value, str) or len(value) > 15 or not _IANA_SVC_NAME.match(value)
                or "--" in value or not any(c.isalpha() for c in value)):
            self.invalid(path, value, "must be no more than 15 characters, contain only lowercase"
                         " alphanumeric characters or '-', and contain at least one letter")

    def config_key(self, path: str, key: Any) -> None:
        if not isinstance(key, str) or len(key) > 253 or not _CONFIG_KEY.match(key):
            self.invalid(path, key, "a valid config key must consist of alphanumeric characters,"
                         " '-', '_' or '.'")

    def ip(self, path: str, value: Any) -> None:
        if parse_ip(value) is None:  # strict: no IPv6 zone, no whitespace, strings only
            self.invalid(path, value, VALID_IP)

    def non_special_ip(self, path: str, value: Any) -> None:
        for problem in non_special_ip_problems(value):
            self.invalid(path, value, problem)

    def cidr(self, path: str, value: Any) -> None:
        network = parse_cidr(value)
        if network is None or network.network_address != parse_ip(str(value).partition("/")[0]):
            self.invalid(path, value, VALID_CIDR)

    def non_negative(self, path: str, value: Any) -> None:
        if value is not None and (not isinstance(value, int) or value < 0):
            self.invalid(path, value, "must be greater than or equal to 0")

    def positive(self, path: str, value: Any) -> None:
        if value is not None and (not isinstance(value, int) or value <= 0):
            self.invalid(path, value, "must be greater than zero")

    def int_or_percent(self, path: str, value: Any) -> None:
        """`ValidatePositiveIntOrPercent`: an int >= 0 or a percent string (`[0-9]+%`); a
        missing value is Go's zero value, 0."""
        if isinstance(value, str):
            for message in is_valid_percent(value):
                self.invalid(path, value, message)
        elif value is None or as_int(value) is not None:
            self.non_negative(path, as_int(value))
        else:  # unreachable upstream (an IntOrString is an int or a string); its text, '%%' too
            self.invalid(path, value, "must be an integer or percentage (e.g '5%%')")

    def not_over_100_percent(self, path: str, value: Any) -> None:
        """`IsNotMoreThan100Percent`: a percent string may not exceed 100%."""
        percent = percent_value(value)
        if percent is not None and percent > 100:
            self.invalid(path, value, "must not be greater than 100%")

    def quantity(self, path: str, value: Any) -> None:
        if not isinstance(value, (str, int, float)) or not _QUANTITY.match(str(value)):
            self.invalid(path, value, "quantities must match the regular expression "
                         "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
