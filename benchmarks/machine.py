"""The machine a run was measured on, as (label, value) pairs for the report."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import time
from pathlib import Path


def _first_line(argv: list[str], pattern: str = "") -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (out.stdout or out.stderr).strip()
    if pattern:
        match = re.search(pattern, text)
        return match.group(0) if match else text.splitlines()[0] if text else "?"
    return text.splitlines()[0] if text else "?"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def memory() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "?"


def cgroup_version() -> str:
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        return "v2 (unified)"
    if Path("/sys/fs/cgroup/unified").is_dir():
        return "v1 (hybrid: v1 controllers, empty cgroup2 at /sys/fs/cgroup/unified)"
    return "v1"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


def cni_plugins_version() -> str:
    package = _first_line(["dpkg-query", "-W", "-f=${Version}", "containernetworking-plugins"])
    return f"containernetworking-plugins {package} (/usr/lib/cni)"


def describe(load_note: str = "") -> list[tuple[str, str]]:
    uname = os.uname()
    return [
        ("date (UTC)", time.strftime("%Y-%m-%d %H:%M", time.gmtime())),
        ("CPU", f"{cpu_model()}, {os.cpu_count()} cores"),
        ("memory", memory()),
        ("kernel", f"{uname.sysname} {uname.release}"),
        ("cgroup", cgroup_version()),
        ("iptables", _first_line(["iptables", "--version"])),
        ("nft", _first_line(["nft", "--version"])),
        ("runc", _first_line(["runc", "--version"])),
        ("containerd", _first_line(["containerd", "--version"], r"v?\d+\.\d+\.\d+\S*")),
        ("conmon", _first_line(["conmon", "--version"])),
        ("CNI plugins", cni_plugins_version()),
        ("Python", platform.python_version()),
        ("load average", load_average() + (f"; {load_note}" if load_note else "")),
    ]
