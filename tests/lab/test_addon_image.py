"""The add-on image holds the host's Python and exactly what the add-ons import
(nodelab/lab/addons/image.py); the DNS server starts from it in a chroot of its layer."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from nodelab.lab.addons.image import SITE, addon_image

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def names() -> list[str]:
    layer = addon_image().layers[0]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer.blob.data))) as tar:
        return tar.getnames()


def test_the_layer_holds_the_addons_and_not_the_rest_of_nodelab(names: list[str]) -> None:
    site = SITE.lstrip("/")
    assert f"{site}/nodelab/addons/dns/server.py" in names
    assert f"{site}/nodelab/kubewire/events.py" in names  # shared with the agents
    assert f"{site}/dnslib/dns.py" in names
    assert not any(n.startswith((f"{site}/nodelab/lab/", f"{site}/nodelab/kube/",
                                 f"{site}/kubernetes/")) for n in names)
    assert any("lib-dynload/_ssl." in n for n in names)


@pytest.mark.privileged
@pytest.mark.parametrize(("addon", "code"), [("nodelab.addons.dns", 2), ("nodelab.addons.npd", 1)])
def test_the_addon_starts_in_a_chroot_of_the_layer(addon: str, code: int, tmp_path: Path) -> None:
    layer = addon_image().layers[0]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer.blob.data))) as tar:
        tar.extractall(tmp_path)  # nodelab's own layer, built above
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    result = subprocess.run([chroot, str(tmp_path), "/usr/bin/python3", "-S", "-m", addon],
                            env={"PYTHONPATH": SITE},
                            capture_output=True, text=True, timeout=60)
    # it got as far as reading its in-cluster configuration: every import resolved
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert "KUBERNETES_SERVICE_HOST" in result.stderr


@pytest.mark.privileged
def test_the_metrics_server_starts_in_a_chroot_of_the_layer(tmp_path: Path) -> None:
    """Every import resolves (threads' exit needs libgcc_s, which `ldd` does not name)."""
    layer = addon_image().layers[0]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer.blob.data))) as tar:
        assert any(n.endswith("/libgcc_s.so.1") for n in tar.getnames())
        tar.extractall(tmp_path)  # nodelab's own layer, built above
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    result = subprocess.run([chroot, str(tmp_path), "/usr/bin/python3", "-S", "-m",
                             "nodelab.addons.metrics", "--tls-cert-file=x",
                             "--tls-private-key-file=y"], env={"PYTHONPATH": SITE},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "KUBERNETES_SERVICE_HOST" in result.stderr
