"""The OCI runtime spec (`config.json`) of a container, as a pure function of what CRI sends.

`container_spec` is the plan of CreateContainer: it merges the kubelet's ContainerConfig with the
image config and the sandbox the container joins, the same way containerd's CRI plugin does, and
returns the dictionary runc reads. Nothing here touches the host; facts about it (the current
`oom_score_adj` floor, device numbers, the image's `/etc/passwd`) come in as arguments so tests
and notebooks can show the plan for any input.

Merge rules (containerd `getProcessArgs`, `WithUser`, `WithEnv`):

- args: the CRI `command` replaces the image `Entrypoint` and the CRI `args` replace `Cmd`;
  if CRI sets a command but no args, the image `Cmd` is *not* used.
- env: `HOSTNAME` (the sandbox's hostname), then the image `Env`, then CRI envs, a later `KEY`
  replacing an earlier one.
- cwd: CRI `working_dir`, else the image `WorkingDir`, else `/`.
- user: `run_as_username` or `run_as_user`/`run_as_group` from the security context, else the
  image `User` (`uid`, `uid:gid`, `name`, `name:group`), names looked up in the image's
  `/etc/passwd` and `/etc/group`; additional gids from the image's groups (not with
  `supplemental_groups_policy: Strict`) plus `supplemental_groups`.

Namespaces: net, ipc and uts are joined from the sandbox's pinned namespaces (host ones when the
pod uses the node's); pid is the container's own, the pod's or the target container's; the mount
namespace is always new. CRI's default pid mode is POD (enum value 0); a container asking for it
joins the pod's PID namespace when the pod has one (`shareProcessNamespace`) and otherwise gets
its own, since pinned sandboxes have no pause process whose namespace could be joined (the kubelet
always says CONTAINER for pods that do not share).

Security defaults: a seccomp filter when the pod asks for one (`seccomp.py`), containerd's
capability set, its masked and read-only `/proc` and `/sys`
paths (replaced by the kubelet's lists when it sends them), `noNewPrivileges` on request; a
privileged container gets every capability, no masked paths and writable `/sys`.

Resources: CPU shares/quota/period, memory limit, cpuset, hugepages, `unified` (v2) keys, and a
pids limit, all under `linux.resources`; runc writes them to cgroup v1 files or converts them
for v2 (`cpu.weight` from shares, `cpu.max`, `memory.max`). `oom_score_adj` is raised to the
floor when the runtime lacks CAP_SYS_RESOURCE (containerd's `restrict_oom_score_adj`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nodelab.runtime.capabilities import capabilities
from nodelab.runtime.seccomp import seccomp_plan

MASKED_PATHS = (
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
    "/sys/devices/virtual/powercap", "/proc/scsi",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PROPAGATION = {0: "rprivate", 1: "rslave", 2: "rshared"}
NAMESPACE_POD, NAMESPACE_CONTAINER, NAMESPACE_NODE, NAMESPACE_TARGET = 0, 1, 2, 3
STRICT_GROUPS = 1  # SupplementalGroupsPolicy.Strict: no groups from the image's /etc/group


@dataclass(frozen=True)
class SandboxContext:
    """What a container takes from its sandbox."""

    netns_path: str | None
    ipc_path: str | None
    uts_path: str | None
    pid_path: str | None = None
    etc_files: Mapping[str, str] = field(default_factory=dict)
    sysctls: Mapping[str, str] = field(default_factory=dict)
    hostname: str = ""
    shm_path: str | None = None  # the pod's /dev/shm to bind (None: one of its own)


@dataclass(frozen=True)
class HostFacts:
    """Facts about the node and the image's rootfs that the plan needs."""

    min_oom_score_adj: int = -1000
    devices: Mapping[str, tuple[str, int, int]] = field(default_factory=dict)
    passwd: str = ""
    group: str = ""
    target_pid_paths: Mapping[str, str] = field(default_factory=dict)
    pids_limit: int = 0
    seccomp_localhost: Mapping[str, Any] | None = None
    bounding_capabilities: tuple[str, ...] | None = None  # None: the host withholds none


class SpecError(ValueError):
    """The ContainerConfig cannot be turned into a spec (unknown user, missing device...)."""


def process_args(config: Any, image: Mapping[str, Any]) -> list[str]:
    command = list(config.command)
    args = list(config.args)
    if not command:
        if not args:
            args = list(image.get("Cmd") or [])
        command = list(image.get("Entrypoint") or [])
    merged = command + args
    if not merged:
        raise SpecError("no command specified: the container config and the image set none")
    return merged


def merge_env(image_env: Sequence[str], cri_env: Sequence[tuple[str, str]]) -> list[str]:
    order: list[str] = []
    values: dict[str, str] = {}
    for item in image_env:
        key, _, value = item.partition("=")
        if key not in values:
            order.append(key)
        values[key] = value
    for key, value in cri_env:
        if key not in values:
            order.append(key)
        values[key] = value
    if "PATH" not in values:
        order.insert(0, "PATH")
        values["PATH"] = DEFAULT_PATH
    return [f"{k}={values[k]}" for k in order]


def _lookup(table: str, name: str) -> list[str] | None:
    for line in table.splitlines():
        fields = line.split(":")
        if fields and fields[0] == name:
            return fields
    return None


def resolve_user(
    security: Any, image_user: str, passwd: str, group: str
) -> dict[str, Any]:
    """The OCI `process.user` for a container."""
    uid: int | None = None
    gid: int | None = None
    username = ""
    if security is not None and security.run_as_username:
        username = security.run_as_username
    elif security is not None and security.HasField("run_as_user"):
        uid = int(security.run_as_user.value)
    elif image_user:
        user_part, _, group_part = image_user.partition(":")
        if user_part.isdigit():
            uid = int(user_part)
        else:
            username = user_part
        if group_part:
            if group_part.isdigit():
                gid = int(group_part)
            else:
                entry = _lookup(group, group_part)
                if entry is None:
                    raise SpecError(f"image user group {group_part!r} is not in /etc/group")
                gid = int(entry[2])
    if username:
        entry = _lookup(passwd, username)
        if entry is None or len(entry) < 4:
            raise SpecError(f"user {username!r} is not in the image's /etc/passwd")
        uid = int(entry[2])
        if gid is None:
            gid = int(entry[3])
    if uid is None:
        uid = 0
    if gid is None:
        gid = 0
        for line in passwd.splitlines():
            fields = line.split(":")
            if len(fields) >= 4 and fields[2] == str(uid):
                gid = int(fields[3])
                username = username or fields[0]
                break
    if security is not None and security.HasField("run_as_group"):
        gid = int(security.run_as_group.value)
    extra: list[int] = []
    strict = security is not None and security.supplemental_groups_policy == STRICT_GROUPS
    if username and not strict:
        for line in group.splitlines():
            fields = line.split(":")
            if len(fields) >= 4 and username in fields[3].split(",") and fields[2].isdigit():
                extra.append(int(fields[2]))
    if security is not None:
        extra.extend(int(g) for g in security.supplemental_groups)
    additional = sorted(set(extra) | {gid})
    return {"uid": uid, "gid": gid, "additionalGids": additional}


def default_mounts(privileged: bool) -> list[dict[str, Any]]:
    sys_options = ["nosuid", "noexec", "nodev"] + ([] if privileged else ["ro"])
    return [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_options},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    ]


def system_mounts(privileged: bool, shm_path: str | None) -> list[dict[str, Any]]:
    """The default mounts, /dev/shm the pod's (containerd binds the sandbox's shm, or the
    node's for a hostIPC pod) when there is one."""
    mounts = default_mounts(privileged)
    if shm_path is None:
        return mounts
    return [m for m in mounts if m["destination"] != "/dev/shm"] + [
        {"destination": "/dev/shm", "type": "bind", "source": shm_path,
         "options": ["rbind", "rprivate", "rw"]}]


def cri_mounts(config: Any, etc_files: Mapping[str, str],
               readonly_rootfs: bool = False) -> list[dict[str, Any]]:
    """The kubelet's mounts, after the sandbox's /etc files it does not mount itself; those
    are read-only when the root filesystem is (containerd's containerMounts)."""
    wanted = {m.container_path for m in config.mounts}
    mounts = []
    for container_path, host_path in sorted(etc_files.items()):
        if container_path not in wanted:
            mounts.append({"destination": container_path, "type": "bind", "source": host_path,
                           "options": ["rbind", "rprivate", "ro" if readonly_rootfs else "rw"]})
    for mount in config.mounts:
        options = ["rbind", PROPAGATION.get(mount.propagation, "rprivate"),
                   "ro" if mount.readonly else "rw"]
        mounts.append({"destination": mount.container_path, "type": "bind",
                       "source": mount.host_path, "options": options})
    return mounts


def namespaces(security: Any, sandbox: SandboxContext, host: HostFacts) -> list[dict[str, str]]:
    options = security.namespace_options if security is not None else None
    result: list[dict[str, str]] = [{"type": "mount"}]
    for kind, path in (("network", sandbox.netns_path), ("ipc", sandbox.ipc_path),
                       ("uts", sandbox.uts_path)):
        if path is not None:
            result.append({"type": kind, "path": path})
    pid_mode = options.pid if options is not None else NAMESPACE_POD  # the proto default
    if pid_mode == NAMESPACE_POD and sandbox.pid_path:
        result.append({"type": "pid", "path": sandbox.pid_path})
    elif pid_mode == NAMESPACE_TARGET and options is not None:
        target = host.target_pid_paths.get(options.target_id)
        if not target:
            raise SpecError(f"pid namespace target {options.target_id!r} is not running")
        result.append({"type": "pid", "path": target})
    elif pid_mode != NAMESPACE_NODE:
        result.append({"type": "pid"})
    return result


def resources(config: Any, host: HostFacts) -> dict[str, Any]:
    res = config.linux.resources if config.HasField("linux") else None
    out: dict[str, Any] = {"devices": [{"allow": False, "access": "rwm"}]}
    if res is None:
        return out
    cpu: dict[str, Any] = {}
    if res.cpu_shares:
        cpu["shares"] = res.cpu_shares
    if res.cpu_quota:
        cpu["quota"] = res.cpu_quota
    if res.cpu_period:
        cpu["period"] = res.cpu_period
    if res.cpuset_cpus:
        cpu["cpus"] = res.cpuset_cpus
    if res.cpuset_mems:
        cpu["mems"] = res.cpuset_mems
    if cpu:
        out["cpu"] = cpu
    if res.memory_limit_in_bytes:
        out["memory"] = {"limit": res.memory_limit_in_bytes}
        if res.memory_swap_limit_in_bytes:
            out["memory"]["swap"] = res.memory_swap_limit_in_bytes
    if host.pids_limit:
        out["pids"] = {"limit": host.pids_limit}
    if res.hugepage_limits:
        out["hugepageLimits"] = [{"pageSize": h.page_size, "limit": h.limit}
                                 for h in res.hugepage_limits]
    if res.unified:
        out["unified"] = dict(res.unified)
    return out


def oom_score_adj(config: Any, host: HostFacts) -> int:
    value = int(config.linux.resources.oom_score_adj) if config.HasField("linux") else 0
    return max(value, host.min_oom_score_adj)


def devices(config: Any, host: HostFacts) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(linux.devices, device cgroup allow rules) for the CRI devices."""
    nodes, rules = [], []
    for device in config.devices:
        info = host.devices.get(device.host_path)
        if info is None:
            raise SpecError(f"device {device.host_path!r} does not exist on the node")
        kind, major, minor = info
        nodes.append({"path": device.container_path, "type": kind, "major": major,
                      "minor": minor, "fileMode": 0o666, "uid": 0, "gid": 0})
        rules.append({"allow": True, "type": kind, "major": major, "minor": minor,
                      "access": device.permissions or "rwm"})
    return nodes, rules


DEFAULT_DEVICE_RULES = [
    {"allow": True, "type": "c", "major": major, "minor": minor, "access": "rwm"}
    for major, minor in ((1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2), (136, -1))
]


def container_spec(
    config: Any,
    image: Mapping[str, Any],
    sandbox: SandboxContext,
    rootfs: str,
    cgroups_path: str,
    host: HostFacts,
) -> dict[str, Any]:
    """The OCI runtime spec for one CRI container (see the module docstring for the rules)."""
    security = config.linux.security_context if config.HasField("linux") else None
    privileged = bool(security is not None and security.privileged)
    caps = capabilities(security, host.bounding_capabilities)
    envs = [(kv.key, kv.value) for kv in config.envs]
    user = resolve_user(security, str(image.get("User") or ""), host.passwd, host.group)
    process: dict[str, Any] = {
        "terminal": bool(config.tty),
        "user": user,
        "args": process_args(config, image),
        "env": merge_env([f"HOSTNAME={sandbox.hostname}"] * bool(sandbox.hostname)
                         + list(image.get("Env") or []), envs),
        "cwd": config.working_dir or str(image.get("WorkingDir") or "") or "/",
        "capabilities": {k: list(caps) for k in ("bounding", "effective", "permitted")},
        "noNewPrivileges": bool(security is not None and security.no_new_privs),
        "oomScoreAdj": oom_score_adj(config, host),
    }
    if caps and user["uid"] == 0:
        process["capabilities"]["inheritable"] = []
    res = resources(config, host)
    device_nodes, device_rules = devices(config, host)
    res["devices"] = res["devices"] + DEFAULT_DEVICE_RULES + device_rules
    if privileged:
        res["devices"] = [{"allow": True, "access": "rwm"}]
    linux: dict[str, Any] = {
        "namespaces": namespaces(security, sandbox, host),
        "resources": res,
        "cgroupsPath": cgroups_path,
        "devices": device_nodes,
        "sysctl": dict(sandbox.sysctls),
    }
    if not privileged:
        masked = list(security.masked_paths) if security is not None else []
        readonly = list(security.readonly_paths) if security is not None else []
        linux["maskedPaths"] = masked or list(MASKED_PATHS)
        linux["readonlyPaths"] = readonly or list(READONLY_PATHS)
    filter_ = seccomp_plan(security, caps, host.seccomp_localhost)
    if filter_ is not None:
        linux["seccomp"] = filter_
    annotations = dict(config.annotations)
    annotations["io.kubernetes.cri.container-type"] = "container"
    annotations["io.kubernetes.cri.container-name"] = config.metadata.name
    readonly_rootfs = bool(security is not None and security.readonly_rootfs)
    return {
        "ociVersion": "1.0.2-dev",
        "process": process,
        "root": {"path": rootfs, "readonly": readonly_rootfs},
        "mounts": system_mounts(privileged, sandbox.shm_path)
        + cri_mounts(config, sandbox.etc_files, readonly_rootfs),
        "annotations": annotations,
        "linux": linux,
    }


def exec_process(spec: Mapping[str, Any], cmd: Sequence[str], tty: bool) -> dict[str, Any]:
    """The `process.json` for `runc exec`: the container's process with another command."""
    process = dict(spec["process"])
    process["args"] = list(cmd)
    process["terminal"] = tty
    return process
