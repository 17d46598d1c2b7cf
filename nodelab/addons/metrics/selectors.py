"""Label and field selectors on listed metrics, parsed as the API server parses them
(`nodelab.kubewire.labels`, the one grammar and matcher).

Label selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, `k>n`, `k<n`,
joined by commas. Field selectors: `metadata.name` and `metadata.namespace` with `=`, `==`,
`!=` (what metrics-server's objects carry); anything else is refused with a `SelectorError`,
never ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from nodelab.kubewire.labels import all_match, parse_field_selector, parse_selector

Matcher = Callable[[Mapping[str, str]], bool]
FIELDS = ("metadata.name", "metadata.namespace")


class SelectorError(ValueError):
    pass


def label_matcher(text: str) -> Matcher:
    try:
        requirements = parse_selector(text)
    except ValueError as exc:
        raise SelectorError(str(exc)) from exc
    return lambda labels: all_match(requirements, labels)


def field_matcher(text: str) -> Matcher:
    """Over a mapping of `metadata.name`/`metadata.namespace` to values."""
    try:
        requirements = parse_field_selector(text, FIELDS)
    except ValueError as exc:
        raise SelectorError(str(exc)) from exc
    return lambda values: all_match(requirements, values)
