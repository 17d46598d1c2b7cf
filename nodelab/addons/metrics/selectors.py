"""Label and field selectors on listed metrics, as the API machinery parses them.

Label selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, joined by
commas. Field selectors: `metadata.name` and `metadata.namespace` with `=`, `==`, `!=` (what
metrics-server's objects carry); anything else is refused with a `SelectorError`, never ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

Matcher = Callable[[Mapping[str, str]], bool]
_SET = re.compile(r"^\s*(\S+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
FIELDS = ("metadata.name", "metadata.namespace")


class SelectorError(ValueError):
    pass


def _terms(text: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def _term(term: str) -> Matcher:
    found = _SET.match(term)
    if found:
        key, op, values = found.group(1), found.group(2), {
            v.strip() for v in found.group(3).split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for op in ("!=", "==", "="):
        if op in term:
            key, _, value = (part.strip() for part in term.partition(op))
            if not key:
                raise SelectorError(f"invalid selector term {term!r}")
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    if term.startswith("!"):
        key = term[1:].strip()
        return lambda labels: key not in labels
    if not re.fullmatch(r"[A-Za-z0-9./_-]+", term):
        raise SelectorError(f"invalid selector term {term!r}")
    return lambda labels: term in labels


def label_matcher(text: str) -> Matcher:
    matchers = [_term(t) for t in _terms(text)]
    return lambda labels: all(m(labels) for m in matchers)


def field_matcher(text: str) -> Matcher:
    """Over a mapping of `metadata.name`/`metadata.namespace` to values."""
    matchers = []
    for term in _terms(text):
        key = term.replace("!=", "=").replace("==", "=").partition("=")[0].strip()
        if key not in FIELDS:
            raise SelectorError(f'field label not supported: {key}')
        matchers.append(_term(term))
    return lambda values: all(m(values) for m in matchers)
