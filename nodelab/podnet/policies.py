"""Enforcing NetworkPolicies on this node: watch policies (and, while one exists, pods and
namespaces), plan, load.

The plan (`policy_plan.py`) and its ruleset (`policy_ruleset.py`) are pure; this is the thin
part: reflectors feed stores, and every change (coalesced) recomputes the ruleset and loads it
with `nft -f -` when it differs from the one loaded. Pods and namespaces matter only to a
policy, so their reflectors run only while the cluster has at least one NetworkPolicy: a
cluster without any (most labs, and the 110-pod burst) costs no node a watch of every pod, nor
the API server that watch's events. Only nodelab's own table
(`inet nodelab-netpol`, in the node's network namespace) is ever written; it goes away with the
namespace when `nodelab down` removes the node, and a restarted podnet leaves it as it was until
it has listed policies, pods and namespaces again (no window without the policies).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from nodelab.host.commands import run
from nodelab.host.doctor import BRIDGE_NF_CALL_IPTABLES, bridge_flags_per_netns
from nodelab.kube.events import event_for
from nodelab.kube.recorder import EventRecorder
from nodelab.kube.reflector import Reflector
from nodelab.kube.restclient import ApiAccess
from nodelab.kube.store import Store
from nodelab.podnet.converge import converge
from nodelab.podnet.policy_plan import plan_pod_rules
from nodelab.podnet.policy_ruleset import ruleset

log = logging.getLogger("nodelab.podnet.policies")
POLICIES = "networkpolicies"
SELECTED = ("pods", "namespaces")  # what policies select: watched only while one exists


NOT_ENFORCED = "NetworkPolicies between two pods of this node are NOT enforced"


def filter_bridged_traffic(flag: Path = Path(BRIDGE_NF_CALL_IPTABLES),
                           release: str | None = None) -> str:
    """Have the node's bridge hand pod-to-pod IPv4 to the netfilter hooks (br_netfilter's
    per-namespace `bridge-nf-call-iptables`, which kube-proxy relies on too); without it, the
    policies hold between nodes only. Written only where the kernel (`release`, this one's by
    default) keeps it per namespace: before 5.3 it is the host's, which nodelab leaves alone.
    Returns what to report when it cannot be had."""
    release = release or os.uname().release
    try:
        if flag.read_text().strip() == "1":
            return ""
        if not bridge_flags_per_netns(release):
            return (f"{NOT_ENFORCED}: {flag} is 0 and kernel {release} (< 5.3) shares it with "
                    "the whole host, which nodelab does not change (sysctl "
                    "net.bridge.bridge-nf-call-iptables=1 on the host turns it on)")
        flag.write_text("1\n")
    except OSError as error:
        return (f"{NOT_ENFORCED}: {flag}: {error.strerror or error} (the kernel needs "
                "br_netfilter: modprobe br_netfilter; `nodelab doctor` shows it)")
    return ""


def load_ruleset(text: str) -> None:
    """Replace nodelab's policy table in this namespace in one nft transaction."""
    run(["nft", "-f", "-"], input=text)


class PolicyEnforcer:
    """The node's NetworkPolicy enforcement, on a thread of its own."""

    def __init__(self, api: ApiAccess, node_name: str,
                 load: Callable[[str], None] = load_ruleset) -> None:
        self.api = api
        self.node_name = node_name
        self.load = load
        self.recorder = EventRecorder(api)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.store = Store(lambda _kind: self._wake.set())
        self.policies = Reflector(POLICIES, api.lister(POLICIES), self.store.handle)
        # pods and namespaces, while a policy exists: a store of their own per start, so a
        # stopped reflector's last event cannot reach the next one's copy
        self.selected: list[Reflector] = []
        self.selected_store = Store()
        self._selecting = threading.Lock()  # stop() against a sync still starting them
        self.loaded: str | None = None
        self._thread = threading.Thread(target=self._run, name="netpol", daemon=True)

    def watch_selected(self, wanted: bool) -> None:
        """Start the pod and namespace reflectors when the first policy appears; stop them,
        forgetting what they held, when the last one goes; none once the enforcer stopped."""
        with self._selecting:
            if wanted == bool(self.selected) or self._stop.is_set():
                return
            if wanted:
                store = Store(lambda _kind: self._wake.set())
                self.selected = [Reflector(kind, self.api.lister(kind), store.handle).start()
                                 for kind in SELECTED]
                self.selected_store = store
                log.info("a NetworkPolicy exists: watching pods and namespaces")
            else:
                for reflector in self.selected:
                    reflector.stop()
                self.selected, self.selected_store = [], Store()
                log.info("no NetworkPolicy left: stopped watching pods and namespaces")

    def _listed(self, reflectors: list[Reflector]) -> bool:
        """Whether every reflector has listed; if not, look again shortly (a list's items
        reach the store just before it counts as synced)."""
        if all(r.synced.is_set() for r in reflectors):
            return True
        self._stop.wait(0.2)
        self._wake.set()
        return False

    def sync(self) -> None:
        """Load the ruleset of what the stores hold, once every running reflector has listed:
        until then the table loaded before (by this podnet before a restart) stays as it was."""
        if not self._listed([self.policies]):
            return
        policies = self.store.list(POLICIES)
        self.watch_selected(bool(policies))
        if not self._listed(self.selected):
            return
        text = ruleset(plan_pod_rules(self.node_name, policies,
                                      self.selected_store.list("pods"),
                                      self.selected_store.list("namespaces")))
        if text != self.loaded:
            self.load(text)
            self.loaded = text
            log.info("loaded the network policy ruleset (%d chains)",
                     text.count("\tchain ") - 1)

    def start(self) -> None:
        problem = filter_bridged_traffic()
        if problem:
            self.report(problem)
        self.policies.start()
        self._wake.set()
        self._thread.start()

    def report(self, problem: str) -> None:
        """Log what cannot be enforced, and record it as a Warning on the Node, where a
        learner sees it (`kubectl describe node`)."""
        log.error(problem)
        node = {"metadata": {"name": self.node_name, "uid": self.node_name}}
        self.recorder.record(event_for(node, "Node", "NetworkPolicyNotEnforced", problem,
                                       component="podnet", event_type="Warning",
                                       host=self.node_name))

    def _run(self) -> None:
        converge(self._wake, self._stop, self.sync, log, "network policy")

    def stop(self) -> None:
        with self._selecting:  # a sync running now starts no reflector after this
            self._stop.set()
            selected = list(self.selected)
        for reflector in [self.policies, *selected]:
            reflector.stop()
        self._wake.set()
