"""Whether one set of RBAC rules covers another, and how the missing rules are written.

Upstream's escalation check asks this before it stores a role or binding
(k8s.io/component-helpers/auth/rbac/validation `Covers`, pkg/registry/rbac/validation
`CompactRules`, pkg/apis/rbac/v1 `CompactString`):

- every rule asked for is broken down into rules of one API group, one resource, one verb
  and at most one resource name (a non-resource rule: one URL, one verb);
- each piece must be covered by one rule the requester holds: `*` or the same verb and group;
  `*`, the same resource, or `*/<subresource>` for a subresource; no resourceNames, or the
  same name; a URL equal to the held one or under a held `prefix*`. An enumeration never
  covers a `*` (holding get, list, ... is not holding `*`);
- the pieces left over are compacted (pieces of one group and resource that differ only by
  verb become one rule with those verbs) and written as upstream's message lists them:
  `{APIGroups:[""], Resources:["pods"], Verbs:["create" "delete"]}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nodelab.kubewire.go_quote import go_quote_list

Rule = dict[str, Any]


def _values(rule: Rule, key: str) -> list[str]:
    return [str(v) for v in rule.get(key) or ()]


def breakdown(rule: Rule) -> list[Rule]:
    """`BreakdownRule`: the rule as pieces of one group, resource, verb and resource name."""
    pieces: list[Rule] = []
    names = _values(rule, "resourceNames")
    for group in _values(rule, "apiGroups"):
        for resource in _values(rule, "resources"):
            for verb in _values(rule, "verbs"):
                base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                if names:
                    pieces += [{**base, "resourceNames": [name]} for name in names]
                else:
                    pieces.append(base)
    for url in _values(rule, "nonResourceURLs"):
        for verb in _values(rule, "verbs"):
            pieces.append({"nonResourceURLs": [url], "verbs": [verb]})
    return pieces


def _has_all(held: Sequence[str], wanted: Sequence[str]) -> bool:
    return set(wanted) <= set(held)


def _resources_cover(held: Sequence[str], wanted: Sequence[str]) -> bool:
    if "*" in held or _has_all(held, wanted):
        return True
    for path in wanted:
        if path in held:
            continue
        if "/" not in path:
            return False
        if "*/" + path.split("/", 1)[1] not in held:
            return False
    return True


def url_covers(held: str, wanted: str) -> bool:
    """`nonResourceURLCovers`: the same URL, or a held `prefix*` the wanted URL starts with."""
    if held == wanted:
        return True
    return held.endswith("*") and wanted.startswith(held.rstrip("*"))


def _urls_cover(held: Sequence[str], wanted: Sequence[str]) -> bool:
    return all(any(url_covers(h, w) for h in held) for w in wanted)


def rule_covers(owner: Rule, piece: Rule) -> bool:
    """`ruleCovers`: whether one held rule covers one piece of a broken-down rule."""
    verbs, groups = _values(owner, "verbs"), _values(owner, "apiGroups")
    owner_names, piece_names = _values(owner, "resourceNames"), _values(piece, "resourceNames")
    return (("*" in verbs or _has_all(verbs, _values(piece, "verbs")))
            and ("*" in groups or _has_all(groups, _values(piece, "apiGroups")))
            and _resources_cover(_values(owner, "resources"), _values(piece, "resources"))
            and _urls_cover(_values(owner, "nonResourceURLs"),
                            _values(piece, "nonResourceURLs"))
            and (not owner_names or (bool(piece_names) and _has_all(owner_names,
                                                                      piece_names))))


def covers(owner_rules: Sequence[Rule], servant_rules: Sequence[Rule]) -> tuple[bool, list[Rule]]:
    """`Covers`: whether `owner_rules` allow everything `servant_rules` do, and the pieces of
    `servant_rules` they do not."""
    uncovered = [piece for rule in servant_rules for piece in breakdown(rule)
                 if not any(rule_covers(owner, piece) for owner in owner_rules)]
    return not uncovered, uncovered


def _simple_key(rule: Rule) -> tuple[str, str] | None:
    """The (group, resource) of a rule of one group and resource with verbs only."""
    if any(rule.get(key) for key in set(rule) - {"apiGroups", "resources", "verbs"}):
        return None
    groups, resources = _values(rule, "apiGroups"), _values(rule, "resources")
    if len(groups) != 1 or len(resources) != 1:
        return None
    return groups[0], resources[0]


def compact(rules: Sequence[Rule]) -> list[Rule]:
    """`CompactRules`: rules of one group and resource that differ only by verb, as one rule
    with their verbs (in the order they came); every other rule as it is."""
    compacted: list[Rule] = []
    simple: dict[tuple[str, str], Rule] = {}
    for rule in rules:
        key = _simple_key(rule)
        if key is None:
            compacted.append(rule)
        elif key in simple:
            simple[key]["verbs"] += _values(rule, "verbs")
        else:
            simple[key] = {"apiGroups": [key[0]], "resources": [key[1]],
                           "verbs": _values(rule, "verbs")}
    return compacted + list(simple.values())


def compact_string(rule: Rule) -> str:
    """`CompactString`: `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}`,
    each field only when it is not empty."""
    parts = [f"{label}:{go_quote_list(_values(rule, key))}"
             for label, key in (("APIGroups", "apiGroups"), ("Resources", "resources"),
                                ("NonResourceURLs", "nonResourceURLs"),
                                ("ResourceNames", "resourceNames"), ("Verbs", "verbs"))
             if _values(rule, key)]
    return "{" + ", ".join(parts) + "}"


def missing_descriptions(missing: Sequence[Rule]) -> list[str]:
    """The lines upstream's escalation message lists: the compacted missing rules, each once,
    sorted (a `sets.String`)."""
    return sorted({compact_string(rule) for rule in compact(missing)})
