"""The lab's public-key infrastructure: one CA per lab, a serving cert, client certs, kubeconfigs.

kube-apiserver authenticates clients by TLS client certificates: the certificate's Common Name
is the user name and its Organizations are the groups. nodelab does the same:

- `admin` (group `system:masters`) is the learner's identity, printed by `nodelab kubeconfig`;
- `system:node:<name>` (group `system:nodes`) is each kubelet's identity, so the API server can
  apply NodeRestriction to it;
- every other component has its own identity (`identities.py`: kube-proxy, podnet, the
  controllers, the API server's kubelet client), issued by `component_credentials`.

Everything lives under `<state_dir>/pki/` and is created once: `ensure_pki` is idempotent and
reuses what exists, issuing a new serving certificate only when the requested hosts change.
The service-account signing key (for projected tokens) is kept here too.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from nodelab.controlplane.auth.identities import ComponentIdentity
from nodelab.errors import NodelabError
from nodelab.host.private_files import private_dir, write_private, write_private_key

_VALIDITY = datetime.timedelta(days=3650)
ADMIN_USER = "admin"
ADMIN_GROUP = "system:masters"
NODES_GROUP = "system:nodes"
FRONT_PROXY_CLIENT = "front-proxy-client"


@dataclass(frozen=True)
class Credentials:
    """A client certificate and its key, as PEM files on disk."""

    user: str
    cert: Path
    key: Path


@dataclass(frozen=True)
class PKI:
    """The lab's CA and the files issued by it."""

    directory: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    admin: Credentials
    service_account_key: Path

    def node_credentials(self, node_name: str) -> Credentials:
        """The client certificate of the kubelet of `node_name` (issued on first use)."""
        user = f"system:node:{node_name}"
        return _ensure_client(self, f"node-{node_name}", user, [NODES_GROUP])

    def client_credentials(self, name: str, user: str, groups: list[str]) -> Credentials:
        """A client certificate for any other identity (tests, controllers)."""
        return _ensure_client(self, name, user, groups)

    def component_credentials(self, identity: ComponentIdentity) -> Credentials:
        """The client certificate of one of the lab's components (`identities.py`)."""
        return _ensure_client(self, identity.name, identity.user, list(identity.groups))

    def serving_credentials(self, name: str, common_name: str, hosts: list[str],
                            api_server_names: bool = True) -> Credentials:
        """A serving certificate for `hosts` signed by the lab CA (e.g. a kubelet's :10250),
        reissued when the hosts change; `api_server_names=False`: exactly `hosts` (a server
        that is not the API server must not be able to pass for it)."""
        cert_path, key_path = self.directory / f"{name}.crt", self.directory / f"{name}.key"
        sans = _sans(hosts, api_server_names)
        if not _server_hosts_match(cert_path, sans) or not key_path.exists():
            ca = (_load_cert(self.ca_cert), _load_key(self.ca_key))
            pair = _issue(ca, _name(common_name), ExtendedKeyUsageOID.SERVER_AUTH, sans)
            _write_pair(cert_path, key_path, pair)
        return Credentials(user=common_name, cert=cert_path, key=key_path)

    @property
    def front_proxy_ca(self) -> Path:
        """The CA of the aggregation layer's client certificate (kubeadm's front-proxy-ca):
        a CA of its own, so no client of the API server can pass for its front proxy."""
        return self.directory / "front-proxy-ca.crt"

    def front_proxy_client(self) -> Credentials:
        """The certificate the API server proxies aggregated requests with
        (`--proxy-client-cert-file`, CN `front-proxy-client`), issued by `front_proxy_ca`."""
        cert_path = self.directory / "front-proxy-client.crt"
        key_path = self.directory / "front-proxy-client.key"
        if not (cert_path.exists() and key_path.exists()):
            ca = _ensure_ca(self.directory, "front-proxy-ca", "front-proxy-ca")
            pair = _issue(ca, _name(FRONT_PROXY_CLIENT), ExtendedKeyUsageOID.CLIENT_AUTH, [])
            _write_pair(cert_path, key_path, pair)
        return Credentials(user=FRONT_PROXY_CLIENT, cert=cert_path, key=key_path)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise NodelabError(f"{path} is not an EC private key: remove the lab's pki directory")
    return key


def _load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _name(common_name: str, orgs: list[str] | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in orgs or []]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _ensure_ca(directory: Path, stem: str = "ca", prefix: str = "nodelab-ca"
               ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    if cert_path.exists() and key_path.exists():
        return _load_cert(cert_path), _load_key(key_path)
    key = _new_key()
    name = _name(f"{prefix}-{os.urandom(3).hex()}")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    write_private_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _issue(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    sans: list[x509.GeneralName],
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = ca
    key = _new_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _sans(hosts: list[str], api_server: bool = True) -> list[x509.GeneralName]:
    """The SANs of a serving certificate: `hosts`, plus the API server's own names."""
    own = ["localhost", "127.0.0.1", "kubernetes", "10.96.0.1"] if api_server else []
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys([*own, *hosts]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _write_pair(
    cert_path: Path, key_path: Path, pair: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
) -> None:
    write_private_key(key_path, pair[1])
    cert_path.write_bytes(pair[0].public_bytes(serialization.Encoding.PEM))


def _server_hosts_match(cert_path: Path, sans: list[x509.GeneralName]) -> bool:
    if not cert_path.exists():
        return False
    try:
        ext = _load_cert(cert_path).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return False
    return set(ext.value) == set(sans)


def _subject_is(cert_path: Path, subject: x509.Name) -> bool:
    """Whether the certificate at `cert_path` names exactly `subject` (a certificate issued
    with other groups, e.g. by an older nodelab, is issued again)."""
    return _load_cert(cert_path).subject == subject


def _ensure_client(pki: PKI, name: str, user: str, groups: list[str]) -> Credentials:
    cert_path, key_path = pki.directory / f"{name}.crt", pki.directory / f"{name}.key"
    if not (cert_path.exists() and key_path.exists()
            and _subject_is(cert_path, _name(user, groups))):
        ca = (_load_cert(pki.ca_cert), _load_key(pki.ca_key))
        pair = _issue(ca, _name(user, groups), ExtendedKeyUsageOID.CLIENT_AUTH, [])
        _write_pair(cert_path, key_path, pair)
    return Credentials(user=user, cert=cert_path, key=key_path)


def ensure_pki(state_dir: Path, hosts: list[str]) -> PKI:
    """Create (or reuse) the lab's CA, serving cert for `hosts`, admin cert and SA key."""
    directory = Path(state_dir) / "pki"
    try:
        private_dir(directory)
    except OSError as exc:
        raise NodelabError(f"cannot create PKI directory {directory}: {exc}") from exc
    ca = _ensure_ca(directory)
    server_cert, server_key = directory / "apiserver.crt", directory / "apiserver.key"
    if not _server_hosts_match(server_cert, _sans(hosts)) or not server_key.exists():
        pair = _issue(ca, _name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, _sans(hosts))
        _write_pair(server_cert, server_key, pair)
    sa_key = directory / "sa.key"
    if not sa_key.exists():
        write_private_key(sa_key, _new_key())
    pki = PKI(
        directory=directory,
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        server_cert=server_cert,
        server_key=server_key,
        admin=Credentials(ADMIN_USER, directory / "admin.crt", directory / "admin.key"),
        service_account_key=sa_key,
    )
    _ensure_client(pki, "admin", ADMIN_USER, [ADMIN_GROUP])
    return pki


def kubeconfig_document(
    server_url: str, ca: Path, cert: Path, key: Path, user: str, cluster: str = "nodelab"
) -> dict[str, object]:
    """The kubeconfig (as data) for `user`, with every PEM file embedded."""
    import base64

    def inline(path: Path) -> str:
        return base64.b64encode(Path(path).read_bytes()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster,
                "cluster": {"server": server_url, "certificate-authority-data": inline(ca)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": inline(cert),
                    "client-key-data": inline(key),
                },
            }
        ],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "preferences": {},
    }


def write_kubeconfig(
    path: Path, server_url: str, ca: Path, cert: Path, key: Path, user: str
) -> Path:
    """Write a self-contained kubeconfig for `user` to `path` (mode 0600)."""
    document = kubeconfig_document(server_url, ca, cert, key, user)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, yaml.safe_dump(document, sort_keys=False))
    return path
