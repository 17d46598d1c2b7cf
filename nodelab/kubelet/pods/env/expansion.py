"""`$(VAR)` references in env values, command, args and subPathExpr, as the kubelet expands them.

This is upstream's `third_party/forked/golang/expansion` rule for rule:

- `$(NAME)` is replaced by NAME's value when a mapping knows NAME, and left as written
  (`$(NAME)`) when none does;
- `$$` is an escaped `$`: `$$(NAME)` gives the literal `$(NAME)`, `$$$$` gives `$$`;
- anything else keeps its `$`: `$NAME`, `${NAME}`, `$?`, a trailing `$`, an unterminated
  `$(NAME` are copied as they are; there is no nesting (`$(A$(B))` stays as written).

The mappings are tried in order (upstream's `MappingFuncFor(context...)`): for an env value, the
variables declared so far (envFrom, then earlier `env` entries), then the service variables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Lookup = Callable[[str], str]


def mapping_for(*contexts: Mapping[str, str]) -> Lookup:
    """A mapping that looks NAME up in each context in turn; unknown names stay `$(NAME)`."""

    def lookup(name: str) -> str:
        for context in contexts:
            if name in context:
                return context[name]
        return f"$({name})"

    return lookup


def _read_reference(rest: str) -> tuple[str, bool, int]:
    """After a `$`: (text read, whether it names a variable, characters consumed)."""
    if rest[0] == "$":
        return "$", False, 1
    if rest[0] == "(":
        closer = rest.find(")", 1)
        if closer != -1:
            return rest[1:closer], True, closer + 1
        return "$(", False, 1
    return "$" + rest[0], False, 1


def expand(text: str, mapping: Lookup) -> str:
    """`text` with its `$(VAR)` references replaced through `mapping` (see the module doc)."""
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_variable, advance = _read_reference(text[cursor + 1:])
            out.append(mapping(read) if is_variable else read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return "".join(out)
