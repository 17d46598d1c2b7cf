"""Go's `%q` (`strconv.Quote`), for error texts that upstream formats with it.

A printable rune stays as it is (Go's `unicode.IsPrint`: letters, marks, numbers, punctuation,
symbols and the ASCII space, which is what `str.isprintable` accepts); `"` and `\\` are
escaped; the C escapes `\\a \\b \\f \\n \\r \\t \\v` are used where they exist; any other rune
is written `\\xHH` below 0x80, `\\uHHHH` below 0x10000, `\\UHHHHHHHH` above. A list of strings
(`%q` of a `[]string`) is `["a" "b"]`.
"""

from __future__ import annotations

from collections.abc import Iterable

_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
              "\v": "\\v", '"': '\\"', "\\": "\\\\"}


def _rune(char: str) -> str:
    if char in _C_ESCAPES:
        return _C_ESCAPES[char]
    if char.isprintable():
        return char
    code = ord(char)
    if code < 0x80:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def go_quote(text: str) -> str:
    """`strconv.Quote(text)`."""
    return '"' + "".join(_rune(c) for c in text) + '"'


def go_quote_list(values: Iterable[str]) -> str:
    """`fmt.Sprintf("%q", values)` of a `[]string`."""
    return "[" + " ".join(go_quote(v) for v in values) + "]"
