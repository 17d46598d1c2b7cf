"""What a lab's containerd makes outside the lab's state dir, and how `down` removes it.

containerd 1.6 keeps everything under its `root` and `state` (and runc's state under the
`runc_root` nodelab gives it) except its shims' sockets: a shim listens on
`/run/containerd/s/<sha256>` whatever `state` says (upstream runtime/v2/shim/util_unix.go,
`socketRoot = defaults.DefaultStateDir`), making `/run/containerd/s` (and `/run/containerd`)
if needed. So, for a containerd lab:

- before containerd starts, the ledger records `/run/containerd` and `/run/containerd/s` as
  `host-dir` entries, with `made` (nodelab will have made it, or another lab's or test's
  containerd did: a mark under /run/nodelab/made says so) or `existed` (it was there before)
  as detail; the first record for a path wins, so a second `up` keeps it. Without the mark,
  two labs up at once left the directory behind: the first to go down found the other's
  sockets in it, and the second had recorded it as `existed`. The mark stays when the
  directory goes (another containerd may make it again for its next shim);
- `down` reads each task's `address` file under the lab's containerd state
  (`io.containerd.runtime.v2.task/<namespace>/<id>/address`) before it ends the shims, unlinks
  those sockets once they are ended (a SIGKILLed shim leaves its socket), then removes the
  directories it made, only if they are empty (another containerd may still use them).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from nodelab.host.processes import LAB_ENV

CONTAINERD_RUN = Path("/run/containerd")
SOCKET_ROOT = CONTAINERD_RUN / "s"
HOST_DIRS = (CONTAINERD_RUN, SOCKET_ROOT)  # parents first
TASK_DIR = "io.containerd.runtime.v2.task"


# A tmpfs (gone at reboot): a mark per host dir a lab's or test's containerd made since boot.
MADE_MARKS = Path("/run/nodelab/made")


def made_mark(path: Path) -> Path:
    return MADE_MARKS / str(path).strip("/").replace("/", "-")


def how_made(exists: bool, marked: bool, host_containerd: bool) -> str:
    """`made` for a directory that is not there yet, or that a lab's or test's containerd made
    (its mark is there) while no containerd of the host's own runs; `existed` for the host's.
    The mark stays when the directory goes: a containerd that still runs may make it again
    for its next shim, and the one that starts next must still count it as nodelab's."""
    return "made" if not exists or (marked and not host_containerd) else "existed"


def host_dirs_before_start() -> list[tuple[Path, str]]:
    """Each directory containerd's shims will use outside the lab, `made` or `existed`; each
    one `made` is marked as nodelab's."""
    host = host_containerd_running()
    found = [(path, how_made(path.is_dir(), made_mark(path).exists(), host))
             for path in HOST_DIRS]
    for path, how in found:
        if how == "made":
            MADE_MARKS.mkdir(parents=True, exist_ok=True)
            made_mark(path).touch()
    return found


def shim_sockets(state: Path) -> set[Path]:
    """The shim sockets the tasks under containerd `state` listen on (in SOCKET_ROOT only)."""
    found: set[Path] = set()
    for address in state.glob(f"{TASK_DIR}/*/*/address"):
        with contextlib.suppress(OSError):
            text = address.read_text().strip()
            path = Path(text.removeprefix("unix://"))
            if path.parent == SOCKET_ROOT:
                found.add(path)
    return found


def shim_socket(address: str, namespace: str, task_id: str) -> Path:
    """The socket a shim started with `-address`, `-namespace` and `-id` listens on: the
    sha256 of the three joined as a path (upstream's SocketAddress, with Go's
    filepath.Join, which cleans the path)."""
    joined = os.path.normpath(os.path.join(address, namespace, task_id))
    return SOCKET_ROOT / hashlib.sha256(joined.encode()).hexdigest()


def shim_argv_socket(argv: list[str]) -> Path | None:
    """The socket of the shim with command line `argv` (None for another command)."""
    if not argv or not Path(argv[0]).name.startswith("containerd-shim"):
        return None
    values = {flag: argv[i + 1] for i, flag in enumerate(argv[1:-1], 1)
              if flag in ("-address", "-namespace", "-id")}
    if len(values) != 3:
        return None
    return shim_socket(values["-address"], values["-namespace"], values["-id"])


def live_shim_sockets() -> set[Path]:
    """The sockets the shims running on the host now listen on, whoever started them."""
    found: set[Path] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            raw = (proc / "cmdline").read_bytes()
        except OSError:  # ended meanwhile
            continue
        socket = shim_argv_socket([a.decode(errors="replace") for a in raw.split(b"\0") if a])
        if socket is not None:
            found.add(socket)
    return found


def remove_shim_sockets(sockets: set[Path]) -> None:
    for socket in sockets:
        with contextlib.suppress(FileNotFoundError):
            socket.unlink()


def remove_made_dirs(made: list[Path]) -> None:
    """Remove the directories nodelab made, deepest first, each only if it is empty."""
    for path in sorted(made, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty (another containerd), or gone
            path.rmdir()


def host_containerd_running() -> bool:
    """A containerd that is neither a lab's nor a test's (started without `--config`/`-c`
    and without NODELAB_LAB): its shims' sockets and runc state are the host's, not ours."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if not argv or Path(argv[0].decode(errors="replace")).name != "containerd":
            continue
        if any(v.startswith(f"{LAB_ENV}=".encode()) for v in environ):
            continue
        if not any(a in (b"--config", b"-c") or a.startswith(b"--config=") for a in argv):
            return True
    return False


class HostFiles:
    """The same for a containerd run outside a lab (the test suites' reference runtimes):
    create before containerd starts, `note_sockets()` before its shims end, `clean()` after."""

    def __init__(self, state: Path) -> None:
        self.state = state  # containerd's `state` dir
        self.made = [path for path, how in host_dirs_before_start() if how == "made"]
        self.sockets: set[Path] = set()

    def note_sockets(self) -> None:
        self.sockets |= shim_sockets(self.state)

    def clean(self) -> None:
        remove_shim_sockets(self.sockets)
        remove_made_dirs(self.made)
