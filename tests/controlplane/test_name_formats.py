"""The name formats' messages as k8s.io/apimachinery's validation writes them (IsDNS1123Label,
IsDNS1123Subdomain, IsDNS1035Label, IsLabelKey, IsConfigMapKey, IsValidPortName), with
RegexError's examples and regex; then one through the API server and kubectl."""

from __future__ import annotations

import pytest

from nodelab.controlplane.validation import fields
from tests.controlplane.apiserver import RunningApiServer

SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters,"
             " '-' or '.', and must start and end with an alphanumeric character (e.g. "
             "'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
         "and must start and end with an alphanumeric character (e.g. 'my-name',  or "
         "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
           "with an alphabetic character, and end with an alphanumeric character (e.g. "
           "'my-name',  or 'abc-123', regex used for validation is "
           "'[a-z]([-a-z0-9]*[a-z0-9])?')")
NAME_PART = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must "
             "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
             "'123-abc', regex used for validation is "
             "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
CONFIG_KEY = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
              "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
              "'[-._a-zA-Z0-9]+')")


@pytest.mark.unit
@pytest.mark.parametrize(("check", "value", "messages"), [
    (fields.dns1123_label_errors, "web-1", []),
    (fields.dns1123_label_errors, "Web", [LABEL]),
    (fields.dns1123_label_errors, "a.b", ["must not contain dots"]),
    (fields.dns1123_label_errors, "a" * 64, ["must be no more than 63 characters"]),
    (fields.dns1123_subdomain_errors, "a.b-c", []),
    (fields.dns1123_subdomain_errors, "A_b", [SUBDOMAIN]),
    (fields.dns1123_subdomain_errors, "_" * 254,
     ["must be no more than 253 characters", SUBDOMAIN]),
    (fields.dns1035_label_errors, "1abc", [DNS1035]),
    (fields.label_key_errors, "example.com/My_Name.1", []),
    (fields.label_key_errors, "bad key", [NAME_PART]),
    (fields.label_key_errors, "/x", ["prefix part must be non-empty"]),
    (fields.label_key_errors, "Ex.com/", [f"prefix part {SUBDOMAIN}", "name part must be "
                                          "non-empty", NAME_PART]),
    (fields.label_key_errors, "a/b/c", [
        "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must "
        "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
        "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') "
        "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]),
    (fields.label_key_errors, "x" * 64, ["name part must be no more than 63 bytes"]),
    (fields.config_key_errors, "..a", ["must not start with '..'"]),
    (fields.config_key_errors, "a b", [CONFIG_KEY]),
    (fields.port_name_errors, "-http--", [
        "must not contain consecutive hyphens", "must not begin or end with a hyphen"]),
    (fields.port_name_errors, "80", ["must contain at least one letter (a-z)"]),
    (fields.port_name_errors, "HTTP", [
        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        "must contain at least one letter (a-z)"]),
])
def test_messages(check: object, value: str, messages: list[str]) -> None:
    assert callable(check)
    assert check(value) == messages


def test_kubectl_prints_the_whole_message(apiserver: RunningApiServer) -> None:
    result = apiserver.kubectl("create", "configmap", "Bad_Name", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        'error: failed to create configmap: ConfigMap "Bad_Name" is invalid: metadata.name: '
        'Invalid value: "Bad_Name": '
        + SUBDOMAIN)
