"""`SandboxView`: a pod sandbox's namespaces, the processes inside, and what keeps them alive.

Given the PID of the sandbox's process (the pause container, or any process of the pod), the
view shows a table of the namespaces with their inode numbers, whether each is the host's own
(a `hostNetwork`/`hostIPC`/`hostPID` pod shares them) and where it is pinned by a bind mount;
then every process that lives in the sandbox's network namespace, with a tick for each of the
sandbox's namespaces it shares. Containers of one pod share net, ipc and uts with the pause
process and have their own mnt (their root filesystem); pid is shared only with
`shareProcessNamespace`. When the sandbox process is gone the view says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nodelab.errors import NodelabError
from nodelab.widgets import markup
from nodelab.widgets.kube_objects import lab_objects
from nodelab.widgets.live import Alive, LiveView, until_lab_down
from nodelab.widgets.namespace_source import NAMESPACE_TYPES, SandboxSnapshot, read_sandbox
from nodelab.widgets.pod_locator import find_pod, netns_processes, pod_netns


class SandboxView(LiveView[SandboxSnapshot]):
    title = "sandbox"

    def __init__(
        self,
        pid: int | None = None,
        *,
        source: Callable[[], SandboxSnapshot] | None = None,
        interval: float = 1.0,
        alive: Alive | None = None,
        title: str | None = None,
    ) -> None:
        if source is None:
            if pid is None:
                raise NodelabError("SandboxView needs the PID of a process of the sandbox")
            source = _pid_source(pid)
        super().__init__(source, interval=interval, alive=alive,
                         title=title or f"sandbox of PID {pid}")
        self.pid = pid

    @classmethod
    def for_pod(cls, lab: Any, name: str, namespace: str = "default",
                **kwargs: Any) -> SandboxView:
        """The sandbox of pod `namespace/name` in `lab`: its network namespace is found by the
        pod's IP, and its oldest process is read at every poll."""
        pod = find_pod(lab_objects(lab), name, namespace)
        status, spec = (pod or {}).get("status") or {}, (pod or {}).get("spec") or {}
        node = next((n for n in lab.topology.nodes if n.name == spec.get("nodeName")), None)
        netns = pod_netns(node.netns, status["podIP"]) if node and status.get("podIP") else None
        if netns is None:
            raise NodelabError(f"pod {namespace}/{name} has no network namespace on a node of "
                               f"lab {lab.name} (is it running? `kubectl get pod {name}`)")

        def read() -> SandboxSnapshot:
            pids = netns_processes(netns)
            return read_sandbox(pids[0]) if pids else SandboxSnapshot(0, False)

        kwargs.setdefault("alive", until_lab_down(lab))
        kwargs.setdefault("title", f"sandbox of pod {namespace}/{name} (netns {netns})")
        return cls(source=read, **kwargs)

    def render_text(self, snapshot: SandboxSnapshot) -> str:
        if not snapshot.alive:
            return f"{self.title}: the process is gone"
        spaces = " ".join(f"{n.type}:[{n.inode}]" for n in snapshot.namespaces)
        return f"{self.title}: {spaces}; {len(snapshot.members)} process(es)"

    def render_html(self, snapshot: SandboxSnapshot) -> str:
        if not snapshot.alive:
            return markup.block(markup.note(f"process {snapshot.pid or ''} is gone: the sandbox "
                                            "was stopped (or never started)"), title=self.title)
        rows = [[markup.esc(n.type), markup.esc(n.inode),
                 markup.badge("host's", markup.WARN) if n.shared_with_host
                 else markup.badge("own", markup.OK),
                 markup.esc(", ".join(n.pinned_at) or "-")] for n in snapshot.namespaces]
        kinds = [n.type for n in snapshot.namespaces if n.type in NAMESPACE_TYPES]
        members = [
            [markup.esc(m.pid) + (" (sandbox)" if m.pid == snapshot.pid else ""),
             markup.esc(m.comm), markup.esc(m.cmdline)]
            + [("✓" if k in m.shares else "·") for k in kinds]
            for m in snapshot.members
        ]
        return markup.block(
            markup.heading("namespaces"),
            markup.table(["type", "inode", "", "pinned at"], rows, raw=True),
            markup.heading("processes in the sandbox", f"{len(snapshot.members)}"),
            markup.table(["pid", "comm", "command", *kinds], members, raw=True),
            title=self.title,
        )


def _pid_source(pid: int) -> Callable[[], SandboxSnapshot]:
    return lambda: read_sandbox(pid)
