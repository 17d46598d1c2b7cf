"""What the runtime reads from its host to plan a container's OCI spec (`spec.HostFacts`).

The spec itself is a pure function (`spec.py`); these are the reads behind its inputs: the
capabilities this process may hand out (its bounding set), the lowest `oom_score_adj` it may
set (-1000 only with CAP_SYS_RESOURCE, which a lab host may withhold), the type and numbers
of the devices a container asks for, and the JSON of a `Localhost` seccomp profile.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nodelab.cri import api_pb2 as cri
from nodelab.runtime.capabilities import capabilities_from_mask
from nodelab.runtime.spec import SpecError


def bounding_capabilities() -> tuple[str, ...] | None:
    """The capabilities this runtime process may hand out (its CapBnd), None if unknown."""
    try:
        status = Path("/proc/self/status").read_text()
        return capabilities_from_mask(int(next(
            line.split()[1] for line in status.splitlines() if line.startswith("CapBnd:")), 16))
    except (OSError, StopIteration, ValueError):
        return None


def min_oom_score_adj() -> int:
    """-1000 with CAP_SYS_RESOURCE; otherwise our own value (lowering it would fail)."""
    try:
        status = Path("/proc/self/status").read_text()
        cap_eff = int(next(line.split()[1] for line in status.splitlines()
                           if line.startswith("CapEff:")), 16)
        if cap_eff & (1 << 24):
            test = Path("/proc/self/oom_score_adj")
            current = int(test.read_text())
            try:
                test.write_text(str(current - 1 if current > -1000 else current))
                test.write_text(str(current))
                return -1000
            except OSError:
                return current
        return int(Path("/proc/self/oom_score_adj").read_text())
    except (OSError, StopIteration, ValueError):
        return 0


def device_facts(config: Any) -> dict[str, tuple[str, int, int]]:
    facts = {}
    for device in config.devices:
        try:
            st = os.stat(device.host_path)
        except OSError:
            continue
        kind = "c" if (st.st_mode & 0o170000) == 0o020000 else "b"
        facts[device.host_path] = (kind, os.major(st.st_rdev), os.minor(st.st_rdev))
    return facts


def localhost_profile(config: Any) -> dict[str, Any] | None:
    """The JSON of a `Localhost` seccomp profile named by the container's security context."""
    if not config.HasField("linux") or not config.linux.security_context.HasField("seccomp"):
        return None
    profile = config.linux.security_context.seccomp
    if profile.profile_type != cri.SecurityProfile.Localhost:
        return None
    path = profile.localhost_ref.removeprefix("localhost/")
    try:
        data: dict[str, Any] = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SpecError(f"cannot load seccomp profile {path!r}: {exc}") from exc
    return data
