"""The Kubernetes CEL URL library (k8s.io/apiserver/pkg/cel/library `urls.go`):

    url('https://example.com:80/path?k=v'), isURL(s), u.getScheme(), u.getHost()
    ('example.com:80', IPv6 in brackets), u.getHostname() ('example.com', no brackets),
    u.getPort() ('80' or ''), u.getEscapedPath(), u.getQuery() (map of lists).

As upstream (Go's `url.ParseRequestURI`), a URL is absolute (`scheme:...`) or an absolute path
(`/...`); anything else is an evaluation error "URL parse error during conversion from string:
parse "<s>": invalid URI for request".
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from nodelab.controlplane.apiextensions.cel.opaque import Kinds

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def check(text: str) -> str:
    if not (_SCHEME.match(text) or text.startswith("/")) or any(
            ord(c) < 0x20 or c == "\x7f" or c == " " for c in text):
        raise ValueError(f"URL parse error during conversion from string: parse "
                         f"\"{text}\": invalid URI for request")
    return text


def _is_url(text: str) -> bool:
    try:
        check(text)
    except ValueError:
        return False
    return True


def _host(text: str) -> str:
    netloc = urllib.parse.urlsplit(text).netloc
    return netloc.rpartition("@")[2]


def _split_host_port(host: str) -> tuple[str, str]:
    """Go's `splitHostPort` of url.URL.Hostname/Port."""
    name, port = host, ""
    colon = host.rfind(":")
    if colon != -1 and (host[colon + 1:] == "" or host[colon + 1:].isdigit()) and (
            not host.startswith("[") or host[colon - 1] == "]"):
        name, port = host[:colon], host[colon + 1:]
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    return name, port


def declarations(cel: Any, kinds: Kinds) -> list[Any]:
    T = cel.Type
    U = kinds.url

    def member(name: str, oid: str, ret: Any, fn: Any) -> Any:
        return cel.FunctionDecl(name, [cel.Overload(oid, ret, [U], is_member=True,
                                                    impl=lambda u: fn(u.value))])

    return [
        cel.FunctionDecl("url", [cel.Overload(
            "string_to_url", U, [T.STRING], impl=lambda s: kinds.URL(value=check(s)))]),
        cel.FunctionDecl("isURL", [cel.Overload(
            "is_url_string", T.BOOL, [T.STRING], impl=_is_url)]),
        member("getScheme", "url_get_scheme", T.STRING,
               lambda s: urllib.parse.urlsplit(s).scheme if _SCHEME.match(s) else ""),
        member("getHost", "url_get_host", T.STRING, _host),
        member("getHostname", "url_get_hostname", T.STRING,
               lambda s: _split_host_port(_host(s))[0]),
        member("getPort", "url_get_port", T.STRING, lambda s: _split_host_port(_host(s))[1]),
        member("getEscapedPath", "url_get_escaped_path", T.STRING,
               lambda s: urllib.parse.urlsplit(s).path),
        member("getQuery", "url_get_query", T.Map(T.STRING, T.List(T.STRING)),
               lambda s: urllib.parse.parse_qs(urllib.parse.urlsplit(s).query,
                                               keep_blank_values=True)),
    ]
