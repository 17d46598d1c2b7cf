"""Claims: what a process that may die without cleaning up holds on the host, so that someone
else can remove it once the process is gone.

A lab keeps its ledger in its state dir, so `nodelab down` can undo it after `kill -9` of every
lab process. Two things are not labs and had no such record: a test session's state base (the
labs under it are named nowhere else) and a CRI runtime a test or benchmark starts by itself
(the CRI harness, the kubelet tests' runtime). When the test run was killed (SIGKILL, an OOM
kill, a closed terminal), their namespaces, mounts, cgroups and processes stayed for good.

So each of them *claims* what it makes: a small file under /run/nodelab/claims (a tmpfs, gone
with a reboot exactly like the kernel state it describes) naming its owner (PID and start time),
its directory and the name prefix of its namespaces and cgroups. It removes the claim when it
has cleaned up. `reap_abandoned()` takes down every claim whose owner is dead:

- `labs`: every lab in the state base (`take_down_lab`), then the base;
- `runtime`: the processes the claim lists and every process in a network namespace with the
  claim's prefix, then the runtime's own teardown from its state dir (runc containers, infra
  processes, mounts, pod namespaces, cgroups: runtime/teardown.py), then whatever still carries
  the prefix (namespaces, `nodelab/<prefix>` cgroups) and the mounts under the directory.

The test session reaps at start, and `nodelab down --all` reaps too. Nothing without a claim is
touched, and a claim whose owner lives is left alone (another test run may be going on).

One process reaps at a time on the host (`reaping`, a flock on /run/nodelab/claims/reaper.lock):
two sessions that start at once do not take down the same abandoned lab twice over, and a
test that looks at what a killed process left, then reaps it itself, holds the lock across
both, so a session starting meanwhile waits instead of reaping it under the test's eyes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from nodelab.host import cgroups, mounts, netlink
from nodelab.host.commands import run
from nodelab.host.files import write_atomic
from nodelab.host.processes import ProcessId, terminate_all
from nodelab.runtime.teardown import apply_teardown, teardown_plan

CLAIMS = Path("/run/nodelab/claims")
REAPER_LOCK = CLAIMS / "reaper.lock"
KINDS = ("labs", "runtime")


@dataclass(frozen=True)
class Claim:
    kind: str  # labs | runtime
    root: Path  # a state base (labs), or the directory everything of the runtime is under
    owner: ProcessId
    prefix: str = ""  # netns and `nodelab/<prefix>` cgroup names (runtime)
    runtime_state: Path | None = None  # the runtime's --state-dir (runtime)
    processes: tuple[ProcessId, ...] = field(default=())  # started by the owner (runtime)

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "root": str(self.root), "prefix": self.prefix,
                "runtime_state": str(self.runtime_state) if self.runtime_state else "",
                "owner": [self.owner.pid, self.owner.start_time],
                "processes": [[p.pid, p.start_time] for p in self.processes]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Claim:
        kind = str(data["kind"])
        if kind not in KINDS:
            raise ValueError(f"unknown claim kind {kind!r}")
        state = str(data.get("runtime_state") or "")
        return cls(kind, Path(str(data["root"])), _process(data["owner"]),
                   str(data.get("prefix") or ""), Path(state) if state else None,
                   tuple(_process(p) for p in data.get("processes") or []))

    @property
    def file(self) -> Path:
        return claim_file(self.root)


def _process(pair: Sequence[Any]) -> ProcessId:
    pid, start = pair
    return ProcessId(int(pid), int(start))


def claim_file(root: Path) -> Path:
    return CLAIMS / (hashlib.sha256(str(root).encode()).hexdigest()[:16] + ".json")


def save(claim: Claim) -> Claim:
    CLAIMS.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(claim.file, json.dumps(claim.to_json()))
    return claim


def release(claim: Claim) -> None:
    claim.file.unlink(missing_ok=True)


def claim(kind: str, root: Path, prefix: str = "", runtime_state: Path | None = None) -> Claim:
    """Claim `root` (and names starting with `prefix`) for this process; `release` it once
    cleaned up."""
    me = ProcessId.of(os.getpid())
    assert me is not None
    return save(Claim(kind, root, me, prefix, runtime_state))


@contextlib.contextmanager
def claimed(kind: str, root: Path, prefix: str = "", runtime_state: Path | None = None
            ) -> Iterator[Claim]:
    """`claim` while the block runs; released when the block ends (its owner has cleaned up),
    kept if the process dies inside it."""
    held = claim(kind, root, prefix, runtime_state)
    try:
        yield held
    finally:
        release(held)


def with_process(claim: Claim, process: ProcessId | None) -> Claim:
    """The claim, also holding `process` (one the owner started), saved."""
    if process is None:
        return claim
    return save(replace(claim, processes=(*claim.processes, process)))


def claims() -> list[Claim]:
    found = []
    with contextlib.suppress(OSError):  # none yet, or not root
        for path in sorted(CLAIMS.glob("*.json")):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                found.append(Claim.from_json(json.loads(path.read_text())))
    return found


def abandoned(all_claims: Sequence[Claim]) -> list[Claim]:
    """The claims whose owner is gone (pure: asks only the process table)."""
    return [c for c in all_claims if not c.owner.alive()]


_this_thread = threading.RLock()
_depth = 0


@contextlib.contextmanager
def reaping() -> Iterator[None]:
    """Hold the host's reaper lock while the block runs. Another process's `reap_abandoned`,
    and another thread's of this process, waits until the block ends; only this thread's own
    (nested) reap runs inside it. So a block must not wait for another thread that reaps: the
    two would wait for each other. A wait for another process's hold is said on stderr, naming
    the holder. Without the rights to the claims directory (not root) there is nothing to reap,
    and no lock."""
    global _depth
    with _this_thread:
        lock = _lock_host() if _depth == 0 else None
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
            if lock is not None:
                lock.close()  # releases the flock


def _lock_host() -> IO[str] | None:
    try:
        CLAIMS.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = open(REAPER_LOCK, "a")  # noqa: SIM115 (closed when the outer block ends)
    except OSError:
        return None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"waiting for the reaper lock ({REAPER_LOCK}) held by "
              f"{_describe(lock_holder(file_id(os.fstat(lock.fileno()))))}",
              file=sys.stderr, flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def file_id(stat: os.stat_result) -> str:
    """A file as /proc/locks names it: MAJOR:MINOR:INODE of its device, in hex, and inode."""
    return f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"


def lock_holder(file: str, proc_locks: str | None = None) -> int | None:
    """The PID holding (not waiting for) the flock on `file` (its `file_id`), from /proc/locks'
    text (read when not given); None when none is listed (it was just released)."""
    if proc_locks is None:
        try:
            proc_locks = Path("/proc/locks").read_text()
        except OSError:
            return None
    for line in proc_locks.splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"; a waiter's line has "->" after "1:"
        if len(fields) >= 8 and fields[1] == "FLOCK" and fields[-3] == file:
            return int(fields[-4]) if fields[-4].isdigit() else None
    return None


def _describe(pid: int | None) -> str:
    if pid is None:
        return "a process that just let it go"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()
    except OSError:
        return f"PID {pid}"
    return f"PID {pid} ({command.decode(errors='replace')[:200]})"


def reap_abandoned() -> list[Claim]:
    """Take down what every abandoned claim holds, and drop the claims (under the host's
    reaper lock: claims another reaper took while this one waited are gone when it reads)."""
    with reaping():
        reaped = abandoned(claims())
        for claim in reaped:
            reap(claim)
            release(claim)
        return reaped


def reap(claim: Claim) -> None:
    if claim.kind == "labs":
        _reap_labs(claim.root)
    else:
        _reap_runtime(claim)


def _reap_labs(base: Path) -> None:
    from nodelab.lab.lab import take_down_lab

    if base.is_dir():
        for lab in sorted(p.name for p in base.iterdir() if p.is_dir()):
            take_down_lab(lab, base)
    shutil.rmtree(base, ignore_errors=True)


def owned_netns(names: Iterable[str], prefix: str) -> list[str]:
    """The network namespaces a runtime of this name prefix made: `<prefix>-...`, never a lab's
    whose name merely begins with the same letters (`nlt1a2b` is not `nlt1a2b3-node1`'s)."""
    return [n for n in names if prefix and n.startswith(prefix + "-")]


def _reap_runtime(claim: Claim) -> None:
    owned = owned_netns(netlink.list_netns(), claim.prefix)
    inside = [p for n in owned for p in _netns_processes(n)]
    terminate_all([*claim.processes, *inside], grace=2.0)
    if claim.runtime_state is not None:
        apply_teardown(teardown_plan(claim.runtime_state, f"nodelab/{claim.prefix}"))
    for point in mounts.mounts_under(claim.root):
        mounts.unmount(point)
    for name in owned:
        netlink.delete_netns(name)
    if claim.prefix:
        for hierarchy in cgroups.hierarchies():
            cgroups.remove_group_tree(hierarchy / "nodelab" / claim.prefix)


def _netns_processes(netns: str) -> list[ProcessId]:
    pids = run(["ip", "netns", "pids", netns], check=False).stdout.split()
    return [p for p in (ProcessId.of(int(pid)) for pid in pids if pid.isdigit()) if p]
