"""`nodelab doctor`: what this host can do for a lab, found by trying, not by guessing.

Each check probes the real thing where that is harmless: namespaces and links are created inside
a throwaway network namespace (`unshare --net`), cgroup groups under `nodelab/`, the
oom_score_adj write in a child process. Every finding says what a missing capability disables
and how to get it (usually an apt package). The same checks run as root and as an ordinary user
and report what is true for the user running them.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.host import cgroups
from nodelab.host.binaries import which
from nodelab.host.busybox import BUILT, HOST, find_busybox
from nodelab.host.commands import CommandError, run
from nodelab.host.ipvs import ipvs_in_kernel

OK, MISSING, LIMITED = "ok", "missing", "limited"
CAP_SYS_RESOURCE = 24
NEEDED_CONTROLLERS = ("cpu", "memory", "pids")


@dataclass(frozen=True)
class Finding:
    name: str
    status: str  # ok | missing | limited
    detail: str
    disables: str = ""
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _try(argv: list[str], timeout: float = 10.0) -> tuple[bool, str]:
    try:
        result = run(argv, timeout=timeout, check=False)
    except CommandError as exc:
        return False, exc.stderr.strip()
    output = (result.stdout + result.stderr).strip()
    return result.returncode == 0, output


def _in_scratch_netns(script: str) -> tuple[bool, str]:
    return _try(["unshare", "--net", "sh", "-c", script])


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def check_root() -> Finding:
    if os.geteuid() == 0:
        return Finding("root", OK, "running as root")
    return Finding("root", MISSING, f"running as uid {os.geteuid()}",
                   "a real lab: namespaces, bridges, cgroups and runc need root; notebooks "
                   "show plans instead, labelled as not applied",
                   "run as root (sudo nodelab ...)")


def check_netns() -> Finding:
    ok, out = _try(["unshare", "--net", "true"])
    if ok and os.geteuid() == 0:
        return Finding("netns", OK, "can create network namespaces")
    why = _first_line(out) or "not root"
    return Finding("netns", MISSING, f"cannot create named network namespaces: {why}",
                   "node and pod network namespaces", "run as root; apt-get install iproute2")


def _link_check(name: str, kind: str, disables: str, fix: str) -> Finding:
    if which("ip") is None:
        return Finding(name, MISSING, "`ip` not found", disables, "apt-get install iproute2")
    args = "peer name nldoc1" if kind == "veth" else ""
    ok, out = _in_scratch_netns(f"ip link add nldoc0 type {kind} {args}")
    if ok:
        return Finding(name, OK, f"{kind} links work (tried in a scratch namespace)")
    return Finding(name, MISSING, f"cannot create a {kind} link: {_first_line(out)}", disables, fix)


def check_veth() -> Finding:
    return _link_check("veth", "veth", "wiring nodes and pods", "run as root")


def check_bridge() -> Finding:
    return _link_check("bridge", "bridge", "the lab and pod bridges", "run as root")


def check_dummy() -> Finding:
    finding = _link_check(
        "dummy links", "dummy", "nothing: nodelab uses a port-less bridge where a dummy is wanted",
        "the kernel needs CONFIG_DUMMY (modprobe dummy)",
    )
    return finding if finding.ok else Finding(**{**asdict(finding), "status": LIMITED})


def check_cgroups() -> Finding:
    version = cgroups.cgroup_version()
    if version == 2:
        available = cgroups.v2_controllers()
        mode = "v2 (unified)"
    else:
        available = cgroups.v1_controllers()
        mode = "v1 (hybrid)" if Path("/sys/fs/cgroup/unified").is_dir() else "v1"
    missing = [c for c in NEEDED_CONTROLLERS if c not in available]
    writable = [c for c in NEEDED_CONTROLLERS if c not in missing and _can_create_group(c, version)]
    detail = f"cgroup {mode}; controllers {', '.join(available) or 'none'}; writable: " + (
        ", ".join(writable) or "none")
    if missing or len(writable) < len(NEEDED_CONTROLLERS):
        return Finding("cgroups", MISSING, detail, "pod and container limits (cpu, memory, pids)",
                       "run as root on a host with cpu, memory and pids controllers")
    return Finding("cgroups", OK, detail)


def _can_create_group(controller: str, version: int) -> bool:
    root = cgroups.CGROUP_ROOT if version == 2 else cgroups.CGROUP_ROOT / controller
    parent = root / "nodelab"
    probe = parent / f"doctor-{os.getpid()}"
    created_parent = False
    try:
        if not parent.exists():
            parent.mkdir()
            created_parent = True
        probe.mkdir()
        probe.rmdir()
        return True
    except OSError:
        return False
    finally:
        if created_parent:
            with contextlib.suppress(OSError):
                parent.rmdir()


def check_iptables() -> Finding:
    if which("iptables") is None:
        return Finding("iptables", MISSING, "iptables not found",
                       "kube-proxy iptables mode and portmap", "apt-get install iptables")
    ok, out = _try(["iptables", "--version"])
    backend = re.search(r"\((nf_tables|legacy)\)", out)
    return Finding("iptables", OK if ok else MISSING,
                   f"{_first_line(out)}; backend {backend.group(1) if backend else 'unknown'}")


def check_nft() -> Finding:
    if which("nft") is None:
        return Finding("nft", MISSING, "nft not found", "kube-proxy nftables mode",
                       "apt-get install nftables")
    _, version = _try(["nft", "--version"])
    ok, out = _in_scratch_netns("nft add table ip nldoc && nft list tables")
    if ok:
        return Finding("nft", OK, f"{_first_line(version)}; tables work in a scratch namespace")
    return Finding("nft", MISSING, f"{_first_line(version)}; {_first_line(out)}",
                   "kube-proxy nftables mode", "run as root; the kernel needs nf_tables")


def _tool(name: str, binary: str, version_args: list[str], disables: str, package: str) -> Finding:
    path = which(binary)
    if path is None:
        return Finding(name, MISSING, f"{binary} not found", disables, f"apt-get install {package}")
    ok, out = _try([str(path), *version_args])
    return Finding(name, OK if ok else MISSING, f"{path}: {_first_line(out)}",
                   "" if ok else disables, "" if ok else f"apt-get install --reinstall {package}")


def check_runc() -> Finding:
    return _tool("runc", "runc", ["--version"], "running containers", "runc")


def check_conmon() -> Finding:
    return _tool("container monitor (conmon)", "conmon", ["--version"],
                 "container logs, exit codes and OOM detection", "conmon")


def check_registry() -> Finding:
    return _tool("docker-registry", "docker-registry", ["--version"],
                 "the lab registry and the demo images", "docker-registry")


def check_dot() -> Finding:
    return _tool("graphviz dot", "dot", ["-V"], "the network and topology diagrams", "graphviz")


def check_conntrack() -> Finding:
    return _tool("conntrack", "conntrack", ["--version"],
                 "kube-proxy's cleanup of stale UDP flows", "conntrack")


def check_busybox() -> Finding:
    try:
        busybox = find_busybox()
    except NodelabError:
        return Finding("busybox-static", MISSING, f"{HOST} not found or not static",
                       "the demo images (busybox, web, pause)", "apt-get install busybox-static")
    gaps = [gap for gap, missing in (
        ("its wget crashes on -T", busybox.wget_crashes_on_timeout),
        ("its nc has no -z", not busybox.nc_zero_io),
        ("its sh runs applets before PATH (`sh -c 'nc -z ...'` misses the images' nc)",
         busybox.applets_first and not busybox.nc_zero_io),
    ) if missing]
    if gaps:
        return Finding("busybox-static", OK,
                       f"{busybox.path}: {'; '.join(gaps)}; the images wrap it "
                       f"(`bash scripts/setup env` builds one without these gaps into {BUILT})")
    return Finding("busybox-static", OK,
                   f"{busybox.path}: a static binary; wget -T, nc -z and PATH lookup work")


def check_reference_cni() -> Finding:
    found = next((d for d in (Path("/usr/lib/cni"), Path("/opt/cni/bin"))
                  if (d / "bridge").exists()), None)
    if found:
        return Finding("reference CNI plugins", OK, f"in {found}")
    return Finding("reference CNI plugins", MISSING, "bridge/host-local not found",
                   "side-by-side comparisons with the reference plugins",
                   "apt-get install containernetworking-plugins")


def check_cap_sys_resource() -> Finding:
    caps = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            caps = int(line.split()[1], 16)
    current = int(Path("/proc/self/oom_score_adj").read_text())
    target = max(current - 1, -1000)
    ok, _ = _try(["sh", "-c", f"echo {target} > /proc/self/oom_score_adj"])
    has_cap = bool(caps >> CAP_SYS_RESOURCE & 1)
    if ok and current > -1000:
        return Finding("CAP_SYS_RESOURCE", OK, "negative oom_score_adj can be set")
    return Finding("CAP_SYS_RESOURCE", LIMITED,
                   f"lowering oom_score_adj below {current} is refused "
                   f"(capability {'present but blocked' if has_cap else 'absent'})",
                   "negative oom_score_adj for Guaranteed pods and sandboxes: values are "
                   "clamped to the current one, like containerd's restrict_oom_score_adj",
                   "run on a host (or container) that grants CAP_SYS_RESOURCE")


def check_ipvs() -> Finding:
    present, detail = ipvs_in_kernel()
    if present:
        return Finding("IPVS (ip_vs)", OK, f"the kernel has IPVS: {detail}")
    return Finding("IPVS (ip_vs)", LIMITED, detail,
                   "kube-proxy's IPVS mode (`nodelab up --proxy-mode ipvs` is refused); "
                   "`nodelab proxy-plan --mode ipvs` still shows its plan",
                   "a kernel with CONFIG_IP_VS (modprobe ip_vs)")


def check_ipset() -> Finding:
    probe = (f"{sys.executable} -c \"from pyroute2.ipset import IPSet; "
             "IPSet().create('nldoc', stype='hash:ip,port')\" && "
             "iptables -t nat -N NLDOC && "
             "iptables -t nat -A NLDOC -m set --match-set nldoc dst,dst -j RETURN")
    ok, out = _in_scratch_netns(probe)
    if ok:
        return Finding("ipset", OK, "ipsets and the iptables set match work (tried in a "
                       "scratch namespace)")
    return Finding("ipset", LIMITED, f"cannot use ipsets: {_first_line(out) or 'refused'}",
                   "kube-proxy's IPVS mode (its iptables rules match ipsets)",
                   "run as root on a kernel with CONFIG_IP_SET and CONFIG_NETFILTER_XT_SET")


BRIDGE_NF_CALL_IPTABLES = "/proc/sys/net/bridge/bridge-nf-call-iptables"


def bridge_flags_per_netns(release: str) -> bool:
    """Whether kernel `release` keeps br_netfilter's sysctls per network namespace (since 5.3;
    before, one value for the whole host, which a node's namespace must not change)."""
    numbers = re.match(r"(\d+)\.(\d+)", release)
    return numbers is not None and (int(numbers[1]), int(numbers[2])) >= (5, 3)


def check_br_netfilter() -> Finding:
    """Whether a bridge hands IPv4 to the netfilter hooks (br_netfilter), in a fresh network
    namespace: podnet's NetworkPolicy rules see traffic between two pods of one node only so."""
    ok, out = _in_scratch_netns(f"cat {BRIDGE_NF_CALL_IPTABLES}")
    if ok and out.strip() == "1":
        return Finding("br_netfilter", OK, "bridged IPv4 traffic reaches the netfilter hooks "
                       "(bridge-nf-call-iptables is 1 in a new namespace)")
    detail = ("bridge-nf-call-iptables is 0 in a new namespace (podnet sets it to 1 in each "
              "node's)" if ok else "the kernel has no br_netfilter")
    return Finding("br_netfilter", OK if ok else LIMITED, detail,
                   "NetworkPolicies between two pods of the same node (bridged traffic); "
                   "between nodes they still hold",
                   "modprobe br_netfilter")


def check_userns() -> Finding:
    if os.geteuid() == 0:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "unshare", "-Urn", "true"]
    else:
        argv = ["unshare", "-Urn", "true"]
    ok, out = _try(argv)
    if ok:
        return Finding("unprivileged user namespaces", OK,
                       "an ordinary user can create user + network namespaces")
    return Finding("unprivileged user namespaces", LIMITED, _first_line(out) or "refused",
                   "rootless experiments in the notebooks",
                   "sysctl kernel.unprivileged_userns_clone=1")


def check_docker() -> Finding:
    if which("docker") is None:
        return Finding("Docker", MISSING, "docker not found", "kind clusters",
                       "apt-get install docker.io")
    ok, out = _try(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=8.0)
    if ok:
        return Finding("Docker", OK, f"engine {out.strip()}")
    return Finding("Docker", MISSING, "docker client only, no engine answers",
                   "kind clusters (nodes join the embedded control plane instead)",
                   "apt-get install docker.io and start dockerd")


def check_kind() -> Finding:
    path = which("kind")
    if path is None:
        return Finding("kind", MISSING, "kind not found", "`nodelab kind up`",
                       "install kind from https://kind.sigs.k8s.io (and Docker)")
    _, out = _try([str(path), "version"])
    return Finding("kind", OK, f"{path}: {_first_line(out)}")


CHECKS: tuple[Callable[[], Finding], ...] = (
    check_root, check_netns, check_veth, check_bridge, check_cgroups, check_iptables,
    check_nft, check_conntrack, check_runc, check_conmon, check_registry, check_busybox,
    check_dot, check_reference_cni, check_cap_sys_resource, check_ipvs, check_ipset,
    check_dummy, check_br_netfilter,
    check_userns, check_docker, check_kind,
)


def diagnose() -> list[Finding]:
    return [check() for check in CHECKS]


def render(findings: list[Finding]) -> str:
    width = max(len(f.name) for f in findings)
    lines = []
    for f in findings:
        mark = {"ok": "ok     ", "missing": "MISSING", "limited": "limited"}[f.status]
        lines.append(f"{mark}  {f.name:<{width}}  {f.detail}")
        if not f.ok:
            if f.disables:
                lines.append(f"{'':9}{'':<{width}}  disables: {f.disables}")
            if f.fix:
                lines.append(f"{'':9}{'':<{width}}  fix: {f.fix}")
    return "\n".join(lines)


# The rows a real (applied) lab cannot do without.
LAB_NEEDS = frozenset({"root", "netns", "veth", "bridge", "cgroups", "iptables", "nft", "runc",
                       "container monitor (conmon)", "docker-registry", "busybox-static"})


def lab_ready(findings: list[Finding]) -> bool:
    """Whether a real (applied) lab can run: the rows marked MISSING that a lab needs are ok."""
    return all(f.ok for f in findings if f.name in LAB_NEEDS)


__all__ = ["LAB_NEEDS", "Finding", "diagnose", "render", "lab_ready"]
