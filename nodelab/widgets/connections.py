"""Which endpoint each connection to a Service went to, from the kernel's conntrack table.

Whatever wrote the DNAT rules (iptables or nftables kube-proxy), conntrack records for each
connection its original direction (client -> ClusterIP:port) and its reply direction
(endpoint -> client): the reply source *is* the endpoint the first packet was DNATed to.
`parse_conntrack` (pure) reads `conntrack -L` lines into `Connection`s; `read_connections` runs
it inside a node's namespace. Entries stay after a connection ends (TIME_WAIT 120 s, CLOSE
10 s), long enough for a view to show the last requests.
"""

from __future__ import annotations

from dataclasses import dataclass

from nodelab.host.commands import run
from nodelab.host.netlink import in_netns_argv


@dataclass(frozen=True, order=True)
class Connection:
    protocol: str
    client: str
    """source ip:port of the original direction"""
    service: str
    """destination ip:port the client asked for"""
    endpoint: str
    """ip:port that answers (the reply's source): where DNAT sent it"""
    state: str = ""

    @property
    def translated(self) -> bool:
        return self.service != self.endpoint


def parse_conntrack(text: str) -> tuple[Connection, ...]:
    found = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 4 or "=" in words[0]:
            continue
        originals: dict[str, str] = {}
        replies: dict[str, str] = {}
        for key, value in (w.split("=", 1) for w in words if "=" in w):
            if key not in originals:
                originals[key] = value
            elif key not in replies:
                replies[key] = value
        state = next((w for w in words[3:5] if w.isupper() and "=" not in w), "")
        if not {"src", "dst", "sport", "dport"} <= originals.keys():
            continue
        if not {"src", "sport"} <= replies.keys():
            continue
        found.append(Connection(
            protocol=words[0],
            client=f"{originals['src']}:{originals['sport']}",
            service=f"{originals['dst']}:{originals['dport']}",
            endpoint=f"{replies['src']}:{replies['sport']}",
            state=state,
        ))
    return tuple(sorted(found))


def read_connections(netns: str | None) -> tuple[Connection, ...]:
    """The conntrack table of `netns` (empty when `conntrack` cannot read it)."""
    done = run(in_netns_argv(netns, ["conntrack", "-L"]), check=False)
    return parse_conntrack(done.stdout) if done.returncode == 0 else ()
