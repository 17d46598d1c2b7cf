"""A lab's CRI runtime (`Lab.up(..., runtime="containerd")`, `nodelab up --runtime
containerd`): the choice is checked and kept in lab.json, and a containerd lab runs pods with
nodelab's kubelet and CNI plugins, serves exec and logs, and `down` leaves nothing behind
(no shim, no mount, no state dir, and nothing of its own in /run/containerd: containerd 1.6
puts its shims' sockets in /run/containerd/s whatever its state dir)."""

from __future__ import annotations

import ipaddress
import os
import shutil
from pathlib import Path

import pytest

from nodelab.errors import NodelabError
from nodelab.lab.containerd.config import containerd_config
from nodelab.lab.containerd.host_files import (
    CONTAINERD_RUN,
    HOST_DIRS,
    SOCKET_ROOT,
    shim_sockets,
)
from nodelab.lab.description import LabDescription
from nodelab.lab.lab import Lab, take_down_lab
from nodelab.lab.ledger import Ledger
from nodelab.lab.up.runtime_daemon import cni_version
from tests.conftest import unique_lab_name
from tests.lab.kube import eventually, kubectl, kubectl_json, ready_pods


def test_an_unknown_runtime_is_refused_with_the_choices() -> None:
    with pytest.raises(NodelabError, match="runtime 'cri-o': choose one of nodelab, containerd"):
        Lab.up("nope", 1, runtime="cri-o")


def test_lab_json_keeps_the_runtime(tmp_path: Path) -> None:
    path = tmp_path / "lab.json"
    subnet = ipaddress.IPv4Network("172.29.9.0/24")
    LabDescription("k", subnet, 1, runtime="containerd").save(path)
    loaded = LabDescription.load(path)
    assert loaded is not None and loaded.runtime == "containerd"
    assert cni_version("containerd") == "1.0.0" and cni_version("nodelab") == "1.1.0"


def test_containerd_keeps_its_state_under_the_lab(tmp_path: Path) -> None:
    text = containerd_config(tmp_path, tmp_path / "cri.sock", tmp_path / "net.d",
                             "172.29.9.1:5000", bin_dir="/cni", sandbox_image="r/pause:1.0",
                             runc_root=tmp_path / "runc")
    for line in (f'root = "{tmp_path}/root"', f'state = "{tmp_path}/run"',
                 f'Root = "{tmp_path}/runc"', 'sandbox_image = "r/pause:1.0"',
                 "netns_mounts_under_state_dir = true", "restrict_oom_score_adj = true",
                 'bin_dir = "/cni"', 'endpoint = ["http://172.29.9.1:5000"]'):
        assert line in text
    assert "Root =" not in containerd_config(tmp_path, tmp_path / "s", tmp_path / "c", "r:1")


def test_shim_sockets_are_read_from_the_task_address_files(tmp_path: Path) -> None:
    task = tmp_path / "io.containerd.runtime.v2.task" / "k8s.io"
    (task / "a").mkdir(parents=True)
    (task / "a" / "address").write_text(f"unix://{SOCKET_ROOT}/0123abcd")
    (task / "b").mkdir()
    (task / "b" / "address").write_text("unix:///etc/not-a-shim-socket")  # never unlinked
    (task / "c").mkdir()  # a task without an address yet
    assert shim_sockets(tmp_path) == {SOCKET_ROOT / "0123abcd"}


def _run_containerd() -> set[str]:
    """What is under /run/containerd (the host's containerd state dir) now."""
    if not CONTAINERD_RUN.exists():
        return set()
    return {str(CONTAINERD_RUN)} | {os.path.join(d, n) for d, dirs, files
                                    in os.walk(CONTAINERD_RUN) for n in dirs + files}


def left_by_lab(before: set[str], after: set[str], ours: set[Path]) -> set[str]:
    """What `down` left under /run/containerd that may be this lab's: each entry new since
    before `up`, except another containerd's shim sockets (in /run/containerd/s, not one of
    this lab's: a lab or test runtime on the same host may make them meanwhile) and the
    directories that hold them (which `down` keeps, as another containerd uses them). An entry
    gone meanwhile is another containerd's `down`, not a residue."""
    new = after - before
    theirs = {p for p in new if Path(p).parent == SOCKET_ROOT and Path(p) not in ours}
    holding = {str(d) for d in HOST_DIRS if any(p.startswith(f"{d}/") for p in theirs)}
    return new - theirs - holding


RUN, SOCKETS = str(CONTAINERD_RUN), str(SOCKET_ROOT)


@pytest.mark.unit
@pytest.mark.parametrize(("before", "after", "left"), [
    # nothing there before, nothing after
    (set(), set(), set()),
    # another lab made the dirs and a shim socket meanwhile: not this lab's
    (set(), {RUN, SOCKETS, f"{SOCKETS}/theirs"}, set()),
    # this lab's socket left behind, next to another's
    (set(), {RUN, SOCKETS, f"{SOCKETS}/theirs", f"{SOCKETS}/mine"}, {f"{SOCKETS}/mine"}),
    # the dirs this lab made, left empty
    (set(), {RUN, SOCKETS}, {RUN, SOCKETS}),
    # another lab's down removed its socket meanwhile
    ({RUN, SOCKETS, f"{SOCKETS}/old"}, {RUN, SOCKETS}, set()),
    # anything new outside the sockets' dir (runc state not under the lab) is a residue
    ({RUN}, {RUN, f"{RUN}/runc", f"{RUN}/runc/k8s.io"}, {f"{RUN}/runc", f"{RUN}/runc/k8s.io"}),
])
def test_a_residue_under_run_containerd_is_told_from_other_labs_files(
        before: set[str], after: set[str], left: set[str]) -> None:
    assert left_by_lab(before, after, {SOCKET_ROOT / "mine"}) == left


def _shims(socket: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(socket).encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@pytest.mark.privileged
@pytest.mark.slow
def test_a_containerd_lab_runs_pods_and_goes_down_clean() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: a real lab")
    if shutil.which("containerd") is None:
        pytest.skip("containerd is not installed (apt-get install containerd)")
    name = unique_lab_name()
    before = _run_containerd()
    try:
        lab = Lab.up(name, 1, runtime="containerd", progress=lambda _m: None)
        assert "runtime     containerd (CRI)" in lab.status().render()
        with pytest.raises(NodelabError, match="up with the containerd runtime, not nodelab"):
            Lab.up(name, 1, runtime="nodelab", progress=lambda _m: None)
        node = kubectl_json(lab, "get", "node", "node1")
        assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")
        kubectl(lab, "run", "onctr", f"--image={lab.images.ref('busybox')}", "--", "sh", "-c",
                "echo hello from containerd; exec sleep 3600")
        pod = eventually(lambda: ready_pods(lab, "run=onctr"), timeout=60)[0]
        prefix = node["spec"]["podCIDR"].rsplit(".", 1)[0]
        assert pod["status"]["podIP"].startswith(prefix)
        assert pod["status"]["containerStatuses"][0]["containerID"].startswith("containerd://")
        assert kubectl(lab, "exec", "onctr", "--", "hostname").strip() == "onctr"
        assert "hello from containerd" in kubectl(lab, "logs", "onctr")
        socket = lab.paths.cri_socket("node1")
        assert _shims(socket)  # containerd-shim-runc-v2 holds the pod
        sockets = shim_sockets(lab.paths.node("node1") / "containerd" / "run")
        assert sockets and all(s.is_socket() for s in sockets)  # outside the lab's state dir
        kinds = {(e.name, e.detail) for e in Ledger(lab.paths.ledger).entries()
                 if e.kind == "host-dir"}
        assert {path for path, _ in kinds} == {str(CONTAINERD_RUN), str(SOCKET_ROOT)}
        take_down_lab(name)
        assert not _shims(socket)
        assert not any(s.exists() for s in sockets)
        left = left_by_lab(before, _run_containerd(), sockets)
        assert not left, f"down left files under /run/containerd: {sorted(left)}"
        assert not lab.paths.root.exists()
        assert str(lab.paths.root) not in Path("/proc/mounts").read_text()
    finally:
        take_down_lab(name)
