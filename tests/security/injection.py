"""Strings that would break out of a rule payload, a command line or a path if passed verbatim."""

from __future__ import annotations

INJECTIONS: list[str] = [
    "1.2.3.4\nCOMMIT",
    "1.2.3.4\n-A KUBE-SERVICES -j ACCEPT",
    "1.2.3.4 ; flush ruleset",
    "1.2.3.4\r\nCOMMIT",
    "fe80::1%eth0\nCOMMIT",  # an IPv6 zone: Python's ipaddress accepts it, Go's ParseIP does not
    " 1.2.3.4",
    "1.2.3.4/32\nCOMMIT",
    "$(reboot)",
    "10.96.0.5\x00",
]
