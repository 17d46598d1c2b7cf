"""A throwaway local registry (Debian `docker-registry`) with tiny images built from busybox."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nodelab.lab.registry.credentials import htpasswd_entry
from nodelab.oci.distribution import RegistryClient
from nodelab.oci.image import Entry, ImageConfig, Layer, build_image
from nodelab.oci.mediatypes import OCI_INDEX
from nodelab.oci.push import push_image

BUSYBOX = Path("/bin/busybox")
APPLETS = ("sh", "sleep", "cat", "echo", "ls", "id", "hostname", "env", "head", "yes", "true",
           "false", "kill", "ps", "wc", "dd", "pwd", "tail", "nc", "tr", "touch", "mkdir", "rm",
           "mount", "grep", "test", "wget", "httpd", "ip", "trap", "timeout", "stat")


@dataclass
class LocalRegistry:
    address: str
    storage: Path
    username: str | None = None
    password: str | None = None

    def client(self) -> RegistryClient:
        return RegistryClient(self.address, scheme="http", username=self.username,
                              password=self.password)

    def ref(self, name: str) -> str:
        return f"{self.address}/{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_htpasswd(path: Path, username: str, password: str) -> Path:
    """An htpasswd file with one bcrypt entry, the only hash docker-registry accepts."""
    path.write_text(htpasswd_entry(username, password))
    return path


@contextmanager
def local_registry(tmp: Path, htpasswd: Path | None = None,
                   host: str = "127.0.0.1") -> Iterator[LocalRegistry]:
    """A docker-registry on `host` (loopback, or a lab's gateway), with htpasswd auth if given."""
    port = free_port()
    storage = tmp / "storage"
    storage.mkdir(parents=True)
    config = tmp / "config.yml"
    auth = (f"auth:\n  htpasswd:\n    realm: nodelab\n    path: {htpasswd}\n"
            if htpasswd else "")
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {storage}\nhttp:\n  addr: {host}:{port}\n{auth}"
    )
    log = open(tmp / "registry.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.time() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://{host}:{port}/v2/", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # 401: up, and asking for credentials
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("docker-registry did not start") from None
                time.sleep(0.1)
        yield LocalRegistry(f"{host}:{port}", storage)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(10)
        log.close()


def busybox_layer() -> Layer:
    entries = [Entry.dir(d) for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "var")]
    entries.append(Entry.file("bin/busybox", BUSYBOX.read_bytes(), 0o755))
    entries += [Entry.symlink(f"bin/{a}", "/bin/busybox") for a in APPLETS]
    entries.append(Entry.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
                                            b"nobody:x:65534:65534:nobody:/:/bin/false\n"))
    entries.append(Entry.file("etc/group", b"root:x:0:\nnogroup:x:65534:\n"))
    return Layer.from_entries(entries, "busybox")


def push_busybox(registry: LocalRegistry, repo: str = "busybox", tag: str = "latest",
                 extra: list[Layer] | None = None, config: ImageConfig | None = None) -> str:
    image = build_image([busybox_layer(), *(extra or [])], config or ImageConfig(cmd=("sh",)))
    return push_image(registry.client(), repo, tag, image)


def push_index(registry: LocalRegistry, repo: str, tag: str, platforms: dict[str, str]) -> str:
    """Push an index whose entries are existing manifests (by tag) for the given platforms."""
    client = registry.client()
    manifests = []
    for plat, source_tag in platforms.items():
        manifest = client.get_manifest(repo, source_tag)
        os_name, arch = plat.split("/")
        manifests.append({"mediaType": manifest.media_type, "digest": manifest.digest,
                          "size": len(manifest.body),
                          "platform": {"os": os_name, "architecture": arch}})
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode()
    return client.put_manifest(repo, tag, body, OCI_INDEX)


def corrupt_blob(registry: LocalRegistry, digest: str) -> None:
    hexd = digest.split(":")[1]
    data = registry.storage / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))


def whiteout_layer() -> Layer:
    return Layer.from_entries([Entry.file("etc/.wh.group", b""), Entry.file("tmp/new", b"n")])
