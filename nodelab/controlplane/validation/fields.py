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
from nodelab.kubewire.go_quote import go_quote

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$")

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_KEY_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                  "end with an alphanumeric character")


def regex_error(message: str, pattern: str, *examples: str) -> str:
    """Upstream's `RegexError`: the message, its examples and the regex it checks."""
    if not examples:
        return f"{message} (regex used for validation is '{pattern}')"
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{pattern}')"


DNS1123_LABEL_MSG = regex_error(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character", _DNS1123_LABEL_FMT, "my-name",
    "123-abc")
DNS1123_SUBDOMAIN_MSG = regex_error(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character", _DNS1123_SUBDOMAIN_FMT,
    "example.com")
LABEL_VALUE_MSG = regex_error(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character", f"({_LABEL_KEY_FMT})?",
    "MyValue", "my_value", "12345")
DNS1035_LABEL_MSG = regex_error(
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character", _DNS1035_LABEL_FMT,
    "my-name", "abc-123")
CONFIG_KEY_MSG = regex_error(
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
    "[-._a-zA-Z0-9]+", "key.name", "KEY_NAME", "key-name")


def dns1123_label_errors(value: str) -> list[str]:
    """Upstream's `IsDNS1123Label`."""
    found = ["must be no more than 63 characters"] if len(value) > 63 else []
    if not _DNS1123_LABEL.match(value):
        found.append("must not contain dots" if _DNS1123_SUBDOMAIN.match(value)
                     else DNS1123_LABEL_MSG)
    return found


def dns1123_subdomain_errors(value: str, unit: str = "characters") -> list[str]:
    """Upstream's `IsDNS1123Subdomain` (the label-key prefix's copy counts `bytes`)."""
    found = [f"must be no more than 253 {unit}"] if len(value) > 253 else []
    if not _DNS1123_SUBDOMAIN.match(value):
        found.append(DNS1123_SUBDOMAIN_MSG)
    return found


def dns1035_label_errors(value: str) -> list[str]:
    """Upstream's `IsDNS1035Label`."""
    found = ["must be no more than 63 characters"] if len(value) > 63 else []
    if not _DNS1035_LABEL.match(value):
        found.append(DNS1035_LABEL_MSG)
    return found


def label_key_errors(value: str) -> list[str]:
    """Upstream's `IsLabelKey` (a qualified name): an optional DNS subdomain prefix, `/`, and
    a name part."""
    parts = value.split("/")
    if len(parts) > 2:
        return ["a valid label key " + regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName",
                                                   "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    found = []
    if len(parts) == 2:
        if not parts[0]:
            found.append("prefix part must be non-empty")
        else:
            found += [f"prefix part {m}" for m in dns1123_subdomain_errors(parts[0], "bytes")]
    name = parts[-1]
    if not name:
        found.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        found.append("name part must be no more than 63 bytes")
    if not _QUALIFIED_NAME.match(name):
        found.append("name part " + regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName",
                                                "my.name", "123-abc"))
    return found


def config_key_errors(value: str) -> list[str]:
    """Upstream's `IsConfigMapKey`."""
    found = ["must be no more than 253 characters"] if len(value) > 253 else []
    if not _CONFIG_KEY.match(value):
        found.append(CONFIG_KEY_MSG)
    if value == ".":
        found.append("must not be '.'")
    elif value == "..":
        found.append("must not be '..'")
    elif value.startswith(".."):
        found.append("must not start with '..'")
    return found


def port_name_errors(value: str) -> list[str]:
    """Upstream's `IsValidPortName` (an IANA service name)."""
    found = ["must be no more than 15 characters"] if len(value) > 15 else []
    if not re.fullmatch(r"[-a-z0-9]+", value):
        found.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search(r"[a-z]", value):
        found.append("must contain at least one letter (a-z)")
    if "--" in value:
        found.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        found.append("must not begin or end with a hyphen")
    return found


def go_json(value: Any) -> str:
    """Go's `json.Marshal`: compact, `<`, `>`, `&`, U+2028 and U+2029 escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def quote(value: Any) -> str:
    """A bad value as upstream's `field.Error` writes it: `%q` for strings (Go's escapes),
    `%v` for numbers and booleans, JSON for anything else (`null`, `["a","b"]`, a struct's
    fields)."""
    if isinstance(value, bool):
        return "true" if value else "false"  # as Go prints them
    if isinstance(value, str):
        return go_quote(value)
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
        if not isinstance(value, str):
            self.invalid(path, value, DNS1123_LABEL_MSG)
            return
        for message in dns1123_label_errors(value):
            self.invalid(path, value, message)

    def dns1123_subdomain(self, path: str, value: Any) -> None:
        if not isinstance(value, str):
            self.invalid(path, value, DNS1123_SUBDOMAIN_MSG)
            return
        for message in dns1123_subdomain_errors(value):
            self.invalid(path, value, message)

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
        if not isinstance(value, str):
            self.invalid(path, value, DNS1035_LABEL_MSG)
            return
        for message in dns1035_label_errors(value):
            self.invalid(path, value, message)

    def qualified_name(self, path: str, key: Any) -> None:
        if not isinstance(key, str):
            self.invalid(path, key, "must be a string")
            return
        for message in label_key_errors(key):
            self.invalid(path, key, message)

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
        if not isinstance(value, str):
            self.invalid(path, value, "must be a string")
            return
        for message in port_name_errors(value):
            self.invalid(path, value, message)

    def config_key(self, path: str, key: Any) -> None:
        if not isinstance(key, str):
            self.invalid(path, key, CONFIG_KEY_MSG)
            return
        for message in config_key_errors(key):
            self.invalid(path, key, message)

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
