"""Machine facts: what the kubelet reads from the real machine to describe its Node.

Upstream gets these from cAdvisor; nodelab reads the same sources directly, so a learner can
`cat` each one:

- cpu: the CPUs this process may run on (`os.sched_getaffinity`), as upstream counts them;
- memory: `MemTotal` of `/proc/meminfo`;
- ephemeral-storage: `statvfs` of the kubelet's state dir (its "root dir", upstream
  `/var/lib/kubelet`), so it is the size of the filesystem that holds pod logs and volumes;
- hugepages: each `/sys/kernel/mm/hugepages/hugepages-<size>kB/nr_hugepages`;
- GPUs: `/dev/nvidia[0-9]*` devices, or `nvidia-smi -L` lines when the tool exists;
- machine-id (`/etc/machine-id`), boot id (`/proc/sys/kernel/random/boot_id`), system UUID
  (`/sys/class/dmi/id/product_uuid`, root only), kernel release (`uname -r`), OS image
  (`PRETTY_NAME` of `/etc/os-release`), arch in Go's spelling (`amd64`, `arm64`).

The parsers are pure functions on text (unit-tested); `read_machine` is the thin layer that
opens the files.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
            "s390x": "s390x", "riscv64": "riscv64", "i686": "386"}


@dataclass(frozen=True)
class MachineFacts:
    """The machine as the kubelet reports it (bytes, millicores, counts)."""

    hostname: str
    cpu_millicores: int
    memory_bytes: int
    ephemeral_storage_bytes: int
    hugepages_bytes: dict[str, int] = field(default_factory=dict)  # "2Mi" -> total bytes
    gpus: int = 0
    machine_id: str = ""
    system_uuid: str = ""
    boot_id: str = ""
    kernel_version: str = ""
    os_image: str = ""
    operating_system: str = "linux"
    architecture: str = "amd64"


def parse_meminfo(text: str) -> dict[str, int]:
    """`/proc/meminfo` as bytes per field (`MemTotal`, `MemAvailable`, ...)."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if not parts or not parts[0].isdigit():
            continue
        scale = 1024 if len(parts) > 1 and parts[1] == "kB" else 1
        values[name.strip()] = int(parts[0]) * scale
    return values


def parse_os_release(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def hugepage_name(size_kb: int) -> str:
    """`2048` kB -> `2Mi`, `1048576` kB -> `1Gi` (the suffix of `hugepages-<size>`)."""
    for suffix, scale in (("Gi", 1024 * 1024), ("Mi", 1024)):
        if size_kb % scale == 0:
            return f"{size_kb // scale}{suffix}"
    return f"{size_kb}Ki"


def go_arch(machine: str) -> str:
    return _GO_ARCH.get(machine, machine)


def count_nvidia_devices(names: list[str]) -> int:
    return sum(1 for name in names if re.fullmatch(r"nvidia[0-9]+", name))


def _read(path: str | Path, default: str = "") -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return default


def _hugepages() -> dict[str, int]:
    result: dict[str, int] = {}
    base = Path("/sys/kernel/mm/hugepages")
    if not base.is_dir():
        return result
    for entry in sorted(base.iterdir()):
        match = re.fullmatch(r"hugepages-(\d+)kB", entry.name)
        if not match:
            continue
        size_kb = int(match.group(1))
        pages = int(_read(entry / "nr_hugepages", "0") or 0)
        result[hugepage_name(size_kb)] = pages * size_kb * 1024
    return result


def _gpus() -> int:
    try:
        devices = count_nvidia_devices(os.listdir("/dev"))
    except OSError:
        devices = 0
    if devices or shutil.which("nvidia-smi") is None:
        return devices
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def filesystem_bytes(path: Path) -> tuple[int, int, int, int]:
    """(capacity, available, inodes, inodes free) of the filesystem holding `path`."""
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize, st.f_files, st.f_favail


def read_machine(state_dir: Path, hostname: str | None = None) -> MachineFacts:
    """Read the facts of this machine; `state_dir` is the filesystem of ephemeral storage."""
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    meminfo = parse_meminfo(_read("/proc/meminfo"))
    os_release = parse_os_release(_read("/etc/os-release"))
    capacity, _, _, _ = filesystem_bytes(Path(state_dir))
    uname = platform.uname()
    return MachineFacts(
        hostname=(hostname or uname.node).lower(),
        cpu_millicores=len(os.sched_getaffinity(0)) * 1000,
        memory_bytes=meminfo.get("MemTotal", 0),
        ephemeral_storage_bytes=capacity,
        hugepages_bytes=_hugepages(),
        gpus=_gpus(),
        machine_id=_read("/etc/machine-id"),
        system_uuid=_read("/sys/class/dmi/id/product_uuid").lower(),
        boot_id=_read("/proc/sys/kernel/random/boot_id"),
        kernel_version=uname.release,
        os_image=os_release.get("PRETTY_NAME", "Linux"),
        operating_system=uname.system.lower(),
        architecture=go_arch(uname.machine),
    )
