"""Label selectors, the requirements they are made of and their grammar (upstream's
apimachinery labels and fields packages): shared by the API server, the agents and the
add-ons, so standard library only.

A label selector is a comma-separated list of requirements: `k=v`, `k==v`, `k!=v`,
`k in (a,b)`, `k notin (a,b)`, `k` (exists), `!k` (does not exist), `k>n`, `k<n`; all must
hold. `=` and `in` need the label with one of the values, `!=` and `notin` pass without the
label, `gt`/`lt` compare it as an integer. A field selector has only `=`, `==` and `!=`, on
the fields the resource declares selectable.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Requirement:
    """One requirement of a selector (upstream's labels.Requirement)."""

    key: str
    operator: str  # =, !=, in, notin, exists, !, gt, lt
    values: tuple[str, ...] = ()

    def matches(self, value: str | None) -> bool:
        """Whether a label's value (None: no such label) satisfies the requirement."""
        op = self.operator
        if op in ("=", "in"):
            return value is not None and value in self.values
        if op in ("!=", "notin"):
            return value is None or value not in self.values
        if op == "exists":
            return value is not None
        if op == "!":
            return value is None
        if op in ("gt", "lt") and value is not None and len(self.values) == 1:
            try:
                number, bound = int(value), int(self.values[0])
            except ValueError:
                return False
            return number > bound if op == "gt" else number < bound
        return False  # validation refuses any other operator


_SET = re.compile(r"^\s*([^\s!=<>(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*")
_TERM = re.compile(r"^\s*(!?)\s*([^\s!=<>(),]+)\s*(?:(==|=|!=|>|<)\s*([^\s,()]*))?\s*")


def parse_selector(text: str) -> list[Requirement]:
    """A label selector string's requirements (upstream's labels.Parse); ValueError when
    malformed."""
    requirements: list[Requirement] = []
    rest = text.strip()
    while rest:
        match = _SET.match(rest)
        if match:
            values = tuple(v.strip() for v in match.group(3).split(",") if v.strip())
            requirements.append(Requirement(match.group(1), match.group(2), values))
        else:
            match = _TERM.match(rest)
            if not match or (match.group(1) and match.group(3)):
                raise ValueError(
                    f"unable to parse requirement: invalid label selector {text!r}")
            negate, key, op, value = match.groups()
            if negate:
                requirements.append(Requirement(key, "!"))
            elif op is None:
                requirements.append(Requirement(key, "exists"))
            else:
                name = {"==": "=", ">": "gt", "<": "lt"}.get(op, op)
                requirements.append(Requirement(key, name, (value or "",)))
        rest = rest[match.end():].lstrip()
        if rest.startswith(","):
            rest = rest[1:]
        elif rest:
            raise ValueError(f"unable to parse requirement: invalid label selector {text!r}")
    return requirements


def parse_field_selector(text: str, allowed: Collection[str]) -> list[Requirement]:
    """A field selector string's requirements (`=`, `==`, `!=` only, on the `allowed` fields);
    ValueError otherwise, in the API server's words."""
    requirements: list[Requirement] = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        match = re.match(r"^([^=!]+?)\s*(==|=|!=)\s*(.*)$", term)
        if not match:
            raise ValueError(f"invalid field selector: {term!r}")
        key, op, value = match.groups()
        if key not in allowed:
            raise ValueError(f'field label not supported: {key}')
        requirements.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
    return requirements


def pinned_value(text: str, field: str) -> str:
    """The one value a field selector's `field=x` (or `field==x`) term requires, also among
    other terms; empty when no term pins `field` (upstream's Equals requirement on it)."""
    for term in text.split(","):
        key, op, value = term.partition("==") if "==" in term else term.partition("=")
        if op and key.strip() == field:
            return value.strip()
    return ""


def all_match(requirements: Collection[Requirement], values: Mapping[str, str]) -> bool:
    """Whether an object's labels (or selectable fields) satisfy every requirement."""
    return all(r.matches(values.get(r.key)) for r in requirements)
