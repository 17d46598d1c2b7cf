"""The small REST client's kubeconfig reading: what it takes, and what it refuses by name."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import yaml

from nodelab.kube.reflector import _lines
from nodelab.kube.restclient import KubeconfigError, RestError, load_kubeconfig

pytestmark = pytest.mark.unit


def kubeconfig(tmp_path: Path, cluster: dict[str, object], user: dict[str, object]) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "ctx",
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
    }))
    return path


def test_server_token_and_tls_settings(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("abc\n")
    cfg = load_kubeconfig(kubeconfig(
        tmp_path,
        {"server": "https://127.0.0.1:6443", "insecure-skip-tls-verify": True,
         "tls-server-name": "kubernetes"},
        {"tokenFile": "token"},
    ))
    assert (cfg.host, cfg.port, cfg.server_name) == ("127.0.0.1", 6443, "kubernetes")
    assert cfg.tls is not None and cfg.tls.verify_mode == ssl.CERT_NONE
    assert cfg.bearer() == "abc"  # read from the file, relative to the kubeconfig
    plain = load_kubeconfig(kubeconfig(tmp_path, {"server": "http://10.0.0.1"}, {"token": "t"}))
    assert (plain.port, plain.tls, plain.bearer()) == (80, None, "t")


@pytest.mark.parametrize(
    ("cluster", "user", "named"),
    [
        ({"server": "https://h"}, {"exec": {"command": "aws"}}, "exec"),
        ({"server": "https://h"}, {"username": "a", "password": "b"}, "username, password"),
        ({"server": "https://h", "proxy-url": "http://p"}, {}, "proxy-url"),
        ({"server": "h:6443"}, {}, "is not a URL"),
        ({"server": "https://h"}, {"as-uid": "1", "as-user-extra": {"k": ["v"]}},
         "as-uid, as-user-extra"),
        ({"server": "https://h/k8s/clusters/c1"}, {}, "a server URL with a path"),
        ({"server": "https://h", "insecure-skip-tls-verify": True,
          "certificate-authority-data": "eA=="}, {}, "with the insecure flag is not allowed"),
    ],
)
def test_unsupported_settings_are_refused_by_name(
    tmp_path: Path, cluster: dict[str, object], user: dict[str, object], named: str
) -> None:
    with pytest.raises(KubeconfigError, match=named):
        load_kubeconfig(kubeconfig(tmp_path, cluster, user))


def test_a_missing_or_unknown_context_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="cannot read the kubeconfig"):
        load_kubeconfig(tmp_path / "nothing")
    path = tmp_path / "empty"
    path.write_text("current-context: nowhere\n")
    with pytest.raises(KubeconfigError, match="no context named 'nowhere'"):
        load_kubeconfig(path)


def test_rest_error_keeps_the_status_the_reflector_reads() -> None:
    exc = RestError(410, "Gone", '{"reason":"Expired"}')
    assert exc.status == 410 and "410 Gone" in str(exc)


@pytest.mark.parametrize(("body", "reason", "message"), [
    ('{"kind":"Status","message":"pods \\"p\\" is forbidden: exceeded quota: q"}', "Forbidden",
     'pods "p" is forbidden: exceeded quota: q'),
    ("upstream connect error", "Bad Gateway", "upstream connect error"),
    ("", "Forbidden", "Forbidden"),
])
def test_rest_error_message_is_the_status_message(body: str, reason: str, message: str) -> None:
    assert RestError(403, reason, body).message == message


class Chunks:
    def __init__(self, *parts: bytes) -> None:
        self.parts = parts

    def stream(self, amt: int | None = None, decode_content: bool = False):  # type: ignore[no-untyped-def]
        yield from self.parts


def test_watch_lines_are_split_across_chunks() -> None:
    chunks = Chunks(b'{"type":"ADDED"}\n{"ty', b'pe":"MODIFIED"}\r\n', b'{"type":"DELETED"}')
    assert list(_lines(chunks)) == [
        '{"type":"ADDED"}', '{"type":"MODIFIED"}', '{"type":"DELETED"}'
    ]


def test_client_for_falls_back_to_the_official_client_for_exec_plugins(tmp_path: Path) -> None:
    from nodelab.kube.restclient import OfficialClient, RestClient, client_for

    credential = ('{"apiVersion": "client.authentication.k8s.io/v1beta1", '
                  '"kind": "ExecCredential", "status": {"token": "from-exec"}}')
    exec_user: dict[str, object] = {
        "exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "sh",
                 "args": ["-c", f"echo '{credential}'"]}
    }
    official = client_for(kubeconfig(tmp_path, {"server": "http://127.0.0.1:1"}, exec_user))
    assert isinstance(official, OfficialClient)
    assert "from-exec" in str(official.api_client.configuration.api_key)
    small = client_for(kubeconfig(tmp_path, {"server": "http://127.0.0.1:1"}, {"token": "t"}))
    assert isinstance(small, RestClient)
