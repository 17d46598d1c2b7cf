"""The per-container monitor: Debian's `conmon`, the shim CRI-O and Podman use.

For every container the runtime starts one conmon process. conmon runs `runc create`, reports
the container's PID on a sync pipe, and then lives as long as the container does, independent
of the runtime (it double-forks and is re-parented to init), so `kill -9` of the runtime loses
nothing. It:

- holds the container's stdio and writes CRI-format log lines (`<RFC3339Nano> stdout|stderr
  F|P <text>`, P for a partial line) to `log_path` (`-l k8s-file:<path>`);
- reopens the log file when told to on its control FIFO (`ctl`, message `2 0 0`), which is
  what ReopenContainerLog sends after the kubelet rotated the file;
- when the container exits, writes its exit code to `<exit-dir>/<id>` (128+signal for a signal)
  and to `<persist-dir>/exit`, and an `oom` file there if the cgroup saw an OOM kill;
- serves an attach socket (`<socket-dir>/<id>/attach`, SOCK_SEQPACKET) for Attach.

The runtime reads exit code, finish time (the exit file's mtime) and OOM from those files, so
the state it reports after a restart is the true one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.host.processes import ProcessId, cmdline


class MonitorError(NodelabError):
    """conmon or runc failed to create the container."""


@dataclass(frozen=True)
class MonitorPaths:
    """Where one container's monitor keeps its files."""

    bundle: Path
    exit_dir: Path
    socket_dir: Path
    container_id: str

    @property
    def persist(self) -> Path:
        return self.bundle / "persist"

    @property
    def exit_file(self) -> Path:
        return self.exit_dir / self.container_id

    @property
    def oom_file(self) -> Path:
        return self.persist / "oom"

    @property
    def ctl(self) -> Path:
        return self.bundle / "ctl"

    @property
    def attach_socket(self) -> Path:
        return self.socket_dir / self.container_id / "attach"

    @property
    def conmon_pidfile(self) -> Path:
        return self.bundle / "conmon.pid"


@dataclass(frozen=True)
class ExitStatus:
    code: int
    finished_at_ns: int
    oom_killed: bool


def start_monitor(
    paths: MonitorPaths,
    name: str,
    log_path: str,
    runc: str,
    runc_root: Path,
    stdin: bool = False,
    tty: bool = False,
    conmon: str = "conmon",
    stdin_once: bool = False,
) -> int:
    """Start conmon, which runs `runc create`; return the container's PID once it exists.

    With `stdin`, conmon holds the container's stdin; when an attached client half-closes
    its connection, conmon closes that stdin (the process reads EOF) for a `stdin_once`
    container and leaves it open otherwise (`--leave-stdin-open`), as CRI-O runs it."""
    binary = shutil.which(conmon)
    if binary is None:
        raise MonitorError("conmon is not installed (apt install conmon); cannot run containers")
    paths.exit_dir.mkdir(parents=True, exist_ok=True)
    paths.socket_dir.mkdir(parents=True, exist_ok=True)
    paths.persist.mkdir(parents=True, exist_ok=True)
    argv = [
        binary, "--api-version", "1", "-c", paths.container_id, "-u", paths.container_id,
        "-n", name, "-r", runc, "-b", str(paths.bundle),
        "-p", str(paths.bundle / "pidfile"), "-P", str(paths.conmon_pidfile),
        "-l", f"k8s-file:{log_path}", "--exit-dir", str(paths.exit_dir),
        "--socket-dir-path", str(paths.socket_dir), "--persist-dir", str(paths.persist),
        "--runtime-arg", f"--root={runc_root}", "--log-level", "error", "--syslog",
    ]
    if stdin:
        argv.append("-i")
        if not stdin_once:
            argv.append("--leave-stdin-open")
    if tty:
        argv.append("-t")
    read_end, write_end = os.pipe()
    env = dict(os.environ, _OCI_SYNCPIPE=str(write_end))
    errors = paths.bundle / "conmon.err"
    try:
        with open(errors, "wb") as err:
            # conmon writes its `oom` marker in its working directory: keep it in the bundle
            proc = subprocess.Popen(argv, env=env, pass_fds=[write_end], cwd=paths.bundle,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err)
    finally:
        os.close(write_end)
    with os.fdopen(read_end, "rb") as sync:
        line = sync.readline()
    proc.wait(timeout=60)
    pid = 0
    error = ""
    try:
        value = json.loads(line) if line.strip() else {}
    except ValueError:
        value = {"message": line.decode(errors="replace")}
    if int(value.get("data", 0) or 0) > 0:
        pid = int(value["data"])
    else:
        error = str(value.get("message") or "")
    if pid <= 0:
        detail = error or errors.read_text(errors="replace").strip()[-2000:] or "no detail"
        raise MonitorError(f"runc could not create container {paths.container_id[:12]}: {detail}")
    return pid


def read_exit(paths: MonitorPaths) -> ExitStatus | None:
    """The container's exit, or None while it has not exited."""
    try:
        text = paths.exit_file.read_text().strip()
        finished = paths.exit_file.stat().st_mtime_ns
    except OSError:
        return None
    code = int(text) if text.lstrip("-").isdigit() else 255
    return ExitStatus(code, finished, paths.oom_file.exists())


def reopen_log(paths: MonitorPaths) -> None:
    """Ask conmon to reopen the container's log file (after the kubelet rotated it)."""
    fd = os.open(paths.ctl, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, b"2 0 0\n")
    finally:
        os.close(fd)


def resize(paths: MonitorPaths, height: int, width: int) -> None:
    """Tell conmon the new terminal size of a tty container."""
    fd = os.open(paths.ctl, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, f"1 {height} {width}\n".encode())
    finally:
        os.close(fd)


def monitor_alive(paths: MonitorPaths) -> bool:
    """True while the container's conmon runs: the PID in its pidfile is a live process (not a
    zombie: a monitor killed with -9 stays one until init reaps it, which can take seconds)
    running conmon for this very container (a reused PID, another container's conmon's
    included, is not it)."""
    try:
        pid = int(paths.conmon_pidfile.read_text().strip())
    except (OSError, ValueError):
        return False
    process = ProcessId.of(pid)
    return (process is not None and process.alive()
            and monitors(cmdline(process), paths.container_id))


def monitors(argv: Sequence[str], container_id: str) -> bool:
    """Whether `argv` (a process's command line) is conmon's for `container_id`: the program
    is conmon and its `-c` (or `--cid`) names the container, as `start_monitor` runs it."""
    if not argv or Path(argv[0]).name != "conmon":
        return False
    return (any(flag in ("-c", "--cid") and value == container_id
                for flag, value in pairwise(argv[1:]))
            or f"--cid={container_id}" in argv[1:])


UNKNOWN_EXIT_CODE = 255  # containerd's unknownExitCode: the exit of a task whose shim is gone


def record_lost_exit(paths: MonitorPaths) -> None:
    """Write the exit of a container whose monitor died before it could (a host reboot, or
    kill -9 of conmon): 255, as containerd reports a task it finds without its shim. Nothing
    for a container removed meanwhile (its bundle gone): no record reads that exit."""
    if not paths.bundle.is_dir():
        return
    paths.persist.mkdir(exist_ok=True)
    paths.exit_file.write_text(f"{UNKNOWN_EXIT_CODE}")
