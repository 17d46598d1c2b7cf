"""Containers: from a CRI ContainerConfig to a process under runc, and back to a status.

CreateContainer (the *apply* half of `spec.container_spec`):

1. reserve the name and write the record (so a crash leaves something to clean up);
2. mount the rootfs: overlayfs with the image's snapshots as `lowerdir`s and a per-container
   `upper`/`work` pair (the writable layer ContainerStats measures);
3. write the bundle's `config.json` (the plan, with host facts filled in);
4. mark the record `bundle_ready`: state CREATED.

StartContainer starts the monitor (conmon), which runs `runc create`, then `runc start`. Doing
`runc create` here rather than in CreateContainer is what containerd does (its CreateContainer
makes no task), and it decides what the kubelet sees when the command cannot run: StartContainer
fails and the status says `StartError`, exit code 128.

StopContainer sends the stop signal (CRI `stop_signal`, else the image's `StopSignal`, else
SIGTERM), waits up to the timeout for the monitor's exit file, then sends SIGKILL.
RemoveContainer kills what still runs, `runc delete`s, unmounts the rootfs and deletes the
bundle; the container's log file stays for the kubelet, as with containerd.

State is never cached: EXITED when the monitor wrote an exit file (or the start failed);
CREATED while no runc container exists yet or it was never started; RUNNING once started,
provided runc still knows the container; UNKNOWN if it vanished without an
exit file (the node rebooted, someone ran `runc delete`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodelab.cri import api_pb2 as cri
from nodelab.errors import NodelabError
from nodelab.host import mounts
from nodelab.host.beneath import remove_tree
from nodelab.host.commands import CommandError, run
from nodelab.runtime import cgroups, lost_exit
from nodelab.runtime.config import RuntimeConfig
from nodelab.runtime.host_facts import (
    bounding_capabilities,
    device_facts,
    localhost_profile,
    min_oom_score_adj,
)
from nodelab.runtime.images.store import ImageRecord, ImageStore
from nodelab.runtime.monitor import (
    ExitStatus,
    MonitorError,
    MonitorPaths,
    read_exit,
    start_monitor,
)
from nodelab.runtime.records import (
    ContainerRecord,
    RecordStore,
    SandboxRecord,
    container_name,
    decode_proto,
    encode_proto,
    now_ns,
)
from nodelab.runtime.spec import (
    HostFacts,
    SandboxContext,
    container_spec,
    exec_process,
)

log = logging.getLogger("nodelab.runtime")
CREATED, RUNNING, EXITED, UNKNOWN = (cri.CONTAINER_CREATED, cri.CONTAINER_RUNNING,
                                     cri.CONTAINER_EXITED, cri.CONTAINER_UNKNOWN)


@dataclass(frozen=True)
class LiveState:
    state: Any
    exit: ExitStatus | None
    reason: str = ""
    message: str = ""


class Containers:
    """Container lifecycle against runc and conmon, with records in a RecordStore."""

    def __init__(self, config: RuntimeConfig, records: RecordStore, images: ImageStore) -> None:
        self.config = config
        self.records = records
        self.images = images
        self.oom_floor = min_oom_score_adj()
        self.bounding = bounding_capabilities()
        self._locks: dict[str, threading.Lock] = {}

    def lock(self, container_id: str) -> threading.Lock:
        with self.records.lock:
            return self._locks.setdefault(container_id, threading.Lock())

    def paths(self, container_id: str) -> MonitorPaths:
        return MonitorPaths(
            bundle=self.records.container_dir(container_id),
            exit_dir=self.config.exit_dir,
            socket_dir=self.config.attach_dir,
            container_id=container_id,
        )

    def runc(self, *args: str, timeout: float = 30.0, check: bool = True) -> str:
        argv = [self.config.runc, "--root", str(self.config.runc_root), *args]
        return run(argv, timeout=timeout, check=check).stdout

    # --- create ----------------------------------------------------------------------------

    def create(self, container_id: str, sandbox: SandboxRecord, config: Any,
               sandbox_config: Any, image: ImageRecord) -> ContainerRecord:
        log_path = ""
        if sandbox_config.log_directory and config.log_path:
            log_path = os.path.join(sandbox_config.log_directory, config.log_path)
        stop_signal = "SIGTERM"
        if config.stop_signal:
            stop_signal = cri.Signal.Name(config.stop_signal)
        elif image.image_config.get("StopSignal"):
            stop_signal = str(image.image_config["StopSignal"])
        record = ContainerRecord(
            id=container_id,
            name=container_name(config, sandbox_config),
            sandbox_id=sandbox.id,
            config=encode_proto(config),
            image_id=image.id,
            image_ref=(image.repo_digests or [image.id])[0],
            image_spec=config.image.image,
            created_at=now_ns(),
            log_path=log_path,
            cgroups_path=cgroups.container_cgroup_path(
                self.config.cgroup_root, sandbox.cgroup_parent, container_id),
            stop_signal=stop_signal,
            chain_ids=list(image.chain_ids),
        )
        self.records.reserve_container(record)
        try:
            self._create(record, sandbox, config, sandbox_config, image)
        except BaseException:
            self.remove(container_id)
            raise
        return record

    def _create(self, record: ContainerRecord, sandbox: SandboxRecord, config: Any,
                sandbox_config: Any, image: ImageRecord) -> None:
        bundle = self.records.container_dir(record.id)
        rootfs = bundle / "rootfs"
        for sub in ("rootfs", "upper", "work"):
            (bundle / sub).mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        lower = ":".join(str(p) for p in self.images.lowerdirs(image))
        try:  # mount(2), as `mount -t overlay overlay -o ... ROOTFS` does (no process a pod)
            mounts.mount("overlay", rootfs, "overlay", 0,
                         f"lowerdir={lower},upperdir={bundle / 'upper'},workdir={bundle / 'work'}")
        except OSError as exc:
            raise NodelabError(f"cannot mount the root filesystem of container "
                               f"{record.id[:12]} (overlay of {len(image.chain_ids)} layers) at "
                               f"{rootfs}: {exc.strerror}") from exc
        sandbox_dir = self.records.sandbox_dir(sandbox.id)
        etc = {f"/etc/{n}": str(sandbox_dir / n) for n in ("hosts", "resolv.conf", "hostname")}
        sysctls = dict(sandbox_config.linux.sysctls) if sandbox_config.HasField("linux") else {}
        context = SandboxContext(
            netns_path=sandbox.netns_path or None,
            ipc_path=sandbox.ipc_path or None,
            uts_path=sandbox.uts_path or None,
            pid_path=sandbox.pid_path or None,
            etc_files=etc,
            sysctls=sysctls,
            hostname=sandbox_config.hostname or os.uname().nodename,
            # the pod's shm, or the node's for a hostIPC pod (no IPC namespace of its own)
            shm_path=sandbox.shm_path or (None if sandbox.ipc_path else "/dev/shm"),
        )
        facts = HostFacts(
            min_oom_score_adj=self.oom_floor,
            bounding_capabilities=self.bounding,
            devices=device_facts(config),
            passwd=_read_text(rootfs / "etc/passwd"),
            group=_read_text(rootfs / "etc/group"),
            target_pid_paths=self._target_pid_paths(),
            pids_limit=self.config.pids_limit,
            seccomp_localhost=localhost_profile(config),
        )
        spec = container_spec(config, image.image_config, context, str(rootfs),
                              record.cgroups_path, facts)
        (bundle / "config.json").write_text(json.dumps(spec, indent=1))
        if record.log_path:
            Path(record.log_path).parent.mkdir(parents=True, exist_ok=True)
        record.bundle_ready = True
        self.records.save_container(record)
        log.debug("created %s: rootfs+spec %.1f ms", record.id[:12],
                  (time.perf_counter() - started) * 1000)

    def _runc_path(self) -> str:
        return shutil.which(self.config.runc) or self.config.runc

    def _target_pid_paths(self) -> dict[str, str]:
        return {c.id: f"/proc/{c.pid}/ns/pid" for c in list(self.records.containers.values())
                if c.pid}

    # --- start / stop ----------------------------------------------------------------------

    def start(self, record: ContainerRecord) -> None:
        """Start the monitor (conmon runs `runc create`), then `runc start`.

        As in containerd, CreateContainer only prepares the bundle; the runc container is made
        here, so a command that cannot be executed fails StartContainer (reason StartError,
        exit code 128), not CreateContainer.
        """
        live = self.live_state(record)
        if live.state != CREATED:
            raise NodelabError(
                f"container {record.id[:12]} is {cri.ContainerState.Name(live.state)}, "
                "not CONTAINER_CREATED; only a created container can be started"
            )
        started = time.perf_counter()
        try:
            if record.pid == 0:
                config = self.config_of(record)
                bundle = self.records.container_dir(record.id)
                record.pid = start_monitor(
                    self.paths(record.id), record.name,
                    record.log_path or str(bundle / "container.log"), self._runc_path(),
                    self.config.runc_root, stdin=bool(config.stdin), tty=bool(config.tty),
                    stdin_once=bool(config.stdin_once),
                    conmon=self.config.conmon,
                )
                self.records.save_container(record)
            created = time.perf_counter()
            self.runc("start", record.id)
        except (CommandError, MonitorError) as exc:
            record.start_error = str(exc)
            record.finished_at = now_ns()
            self.records.save_container(record)
            if self.runc_knows(record.id):
                with contextlib.suppress(CommandError):
                    self.runc("kill", record.id, "KILL")
            raise NodelabError(f"failed to start container {record.id[:12]}: {exc}") from exc
        record.started_at = now_ns()
        self.records.save_container(record)
        log.debug("started %s: conmon+runc create %.1f ms, runc start %.1f ms", record.id[:12],
                  (created - started) * 1000, (time.perf_counter() - created) * 1000)

    def stop(self, record: ContainerRecord, timeout: float) -> None:
        """Stop signal, wait up to `timeout` seconds, then SIGKILL; idempotent. A container
        whose monitor is gone (kill -9 of conmon while the runtime ran) gets no exit file from
        it: once runc sees it stopped it is recorded as exited with 255, as recovery does for
        one found so at startup."""
        paths = self.paths(record.id)
        if read_exit(paths) is not None or not self.runc_knows(record.id):
            return
        if timeout > 0:
            with contextlib.suppress(CommandError):
                self.runc("kill", record.id, record.stop_signal.removeprefix("SIG"))
            if self._wait_exit(record.id, paths, timeout):
                return
        with contextlib.suppress(CommandError):
            self.runc("kill", "--all", record.id, "KILL")
        if not self._wait_exit(record.id, paths, 10.0):
            raise NodelabError(
                f"container {record.id[:12]} did not exit 10 s after SIGKILL; "
                "check `runc list` and the container's processes"
            )

    def _wait_exit(self, container_id: str, paths: MonitorPaths, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            if paths.exit_file.exists() or self.ended_unmonitored(container_id, paths):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def ended_unmonitored(self, container_id: str, paths: MonitorPaths) -> bool:
        """Whether the container ended with its monitor gone; see lost_exit.settle."""
        return lost_exit.settle(self.runc, container_id, paths)

    def runc_knows(self, container_id: str) -> bool:
        return (self.config.runc_root / container_id / "state.json").exists()

    # --- remove ----------------------------------------------------------------------------

    def remove(self, container_id: str) -> None:
        record = self.records.containers.get(container_id)
        if record is None:
            return
        record.removing = True
        if self.runc_knows(container_id):
            with contextlib.suppress(CommandError, NodelabError):
                self.stop(record, 0)
            self.runc("delete", "--force", container_id, check=False)
        bundle = self.records.container_dir(container_id)
        rootfs = bundle / "rootfs"
        if os.path.ismount(rootfs):
            with contextlib.suppress(OSError):  # what stays is the bundle's removal to report
                mounts.unmount(rootfs)  # lazily, as `umount -l`
        cgroups.remove_empty(record.cgroups_path, self.config.cgroup_root)
        self.paths(container_id).exit_file.unlink(missing_ok=True)
        shutil.rmtree(self.config.attach_dir / container_id, ignore_errors=True)
        remove_tree(bundle, ignore_errors=True)  # its upper dir can be any depth
        self.records.forget_container(container_id)
        with self.records.lock:
            self._locks.pop(container_id, None)

    # --- state -----------------------------------------------------------------------------

    def live_state(self, record: ContainerRecord) -> LiveState:
        exit_status = read_exit(self.paths(record.id))
        if record.start_error:
            finished = exit_status.finished_at_ns if exit_status else record.finished_at
            return LiveState(EXITED, ExitStatus(128, finished, False), "StartError",
                             record.start_error)
        if exit_status is not None:
            reason = "OOMKilled" if exit_status.oom_killed else (
                "Completed" if exit_status.code == 0 else "Error")
            return LiveState(EXITED, exit_status, reason)
        if record.pid == 0:
            return LiveState(CREATED, None)  # bundle ready, no runc container yet
        if not self.runc_knows(record.id):
            return LiveState(UNKNOWN, None, "Unknown", "runc has no state for this container")
        if record.started_at:
            return LiveState(RUNNING, None)
        return LiveState(CREATED, None)

    def config_of(self, record: ContainerRecord) -> Any:
        return decode_proto(cri.ContainerConfig, record.config)

    # --- exec ------------------------------------------------------------------------------

    def exec_sync(self, record: ContainerRecord, cmd: list[str],
                  timeout: float) -> tuple[bytes, bytes, int]:
        bundle = self.records.container_dir(record.id)
        spec = json.loads((bundle / "config.json").read_text())
        process = exec_process(spec, cmd, tty=False)
        token = os.urandom(4).hex()
        process_file = bundle / f"exec-{token}.json"
        pid_file = bundle / f"exec-{token}.pid"
        process_file.write_text(json.dumps(process))
        argv = [self.config.runc, "--root", str(self.config.runc_root), "exec",
                "--process", str(process_file), "--pid-file", str(pid_file), record.id]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(timeout=timeout if timeout > 0 else None)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            out, err = proc.communicate()
            raise ExecTimeout(
                f"command {cmd!r} in container {record.id[:12]} timed out after {timeout:g}s"
            ) from None
        finally:
            process_file.unlink(missing_ok=True)
            pid_file.unlink(missing_ok=True)
        return out, err, code

    def exec_argv(self, record: ContainerRecord, cmd: list[str], tty: bool) -> tuple[list[str],
                                                                                     Path]:
        """argv of a streaming `runc exec` (the caller owns the process file)."""
        bundle = self.records.container_dir(record.id)
        spec = json.loads((bundle / "config.json").read_text())
        process_file = bundle / f"exec-{os.urandom(4).hex()}.json"
        process_file.write_text(json.dumps(exec_process(spec, cmd, tty=tty)))
        argv = [self.config.runc, "--root", str(self.config.runc_root), "exec",
                "--process", str(process_file), record.id]
        return argv, process_file


class ExecTimeout(NodelabError):
    """ExecSync ran past its timeout (the process was killed)."""


def _read_text(path: Path) -> str:
    try:
        if path.is_symlink():
            return ""
        return path.read_text(errors="replace")
    except OSError:
        return ""
