"""The pod manager: watches the pods bound to this node and keeps one worker per pod.

Pods come from a reflector on `pods?fieldSelector=spec.nodeName=<node>`. A new pod gets a
worker; a changed pod wakes its worker (only its own: waking every worker on every event made
each pod's start cost a sync of every other pod, so startup latency grew with the pod count);
a pod that disappeared from the API wakes its worker too, which then tears the pod down. A
(re)list wakes them all. The PLEG thread relists the runtime once a second and wakes the
workers whose sandboxes or containers changed there (`pleg.py`), so a settled pod's worker
can sleep. After the first list, sandboxes the runtime still holds for
pods the API no longer knows (left by a kubelet that was killed) are torn down the same way;
sandboxes of pods that still exist are adopted by their workers, so a restarted kubelet starts
nothing twice. The evictor kills a pod through its worker (`mark_evicted`, post Failed,
`wake`), so no sync in between can restart what the eviction stops. Admission reads the Node
from the kubelet's node informer (`node`: `node/informer.py`), not from the API server.
The configMaps and secrets the pods use are watched one by one (`object_watch.py`, upstream's
watch-based managers): a pod registers its references when it is seen and drops them when its
worker is done; a change of one wakes the workers of the pods that use it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from nodelab.kube.objects import Object
from nodelab.kube.recorder import EventRecorder
from nodelab.kube.reflector import Reflector
from nodelab.kube.restclient import ApiAccess
from nodelab.kube.store import Store, object_key
from nodelab.kube.verbs import status_of
from nodelab.kubelet.cri import CRIClient
from nodelab.kubelet.pods.admission import Rejection, admit_pod, admitted_peers
from nodelab.kubelet.pods.cri_plan import POD_UID
from nodelab.kubelet.pods.object_watch import ObjectWatches
from nodelab.kubelet.pods.pleg import States, changed_pods, relist_states
from nodelab.kubelet.pods.runtime_calls import PodRuntime
from nodelab.kubelet.pods.settings import PodSettings
from nodelab.kubelet.pods.volumes.pod_volumes import VolumeSources
from nodelab.kubelet.pods.volumes.tokens import HeldToken, TokenCache, TokenKey
from nodelab.kubelet.pods.worker import PodWorker
from nodelab.kubewire.times import parse_time

log = logging.getLogger("nodelab.kubelet.pods")


class PodManager:
    def __init__(self, api: ApiAccess, cri: CRIClient, settings: PodSettings,
                 node: Callable[[], Object],
                 pressure: Callable[[], Collection[str]] = frozenset,
                 recorder: EventRecorder | None = None) -> None:
        self.rest = api
        self.recorder = recorder or EventRecorder(api)  # the kubelet's one
        self.node = node  # this node's Node, from the kubelet's node informer
        self.pressure = pressure  # the eviction manager's pressure conditions
        self.runtime = PodRuntime(cri)
        self.settings = settings
        self.workers: dict[str, PodWorker] = {}
        self._lock = threading.Lock()
        self.store = Store()
        self._keys: dict[str, tuple[str, str]] = {}  # pod UID -> (namespace, name) in store
        self.reflector = Reflector(
            "pods", api.lister("pods"), self._on_pods,
            field_selector=f"spec.nodeName={settings.node_name}")
        self.tokens = TokenCache(self._request_token, time.time)
        self.objects = ObjectWatches(api.lister, self._wake_all)  # configMaps and secrets
        self.sources = VolumeSources(fetch=self._fetch, token=self._token,
                                     allocatable=settings.allocatable)
        self.services = Store()  # for the containers' service environment variables
        self.services_reflector = Reflector("services", api.lister("services"),
                                            self.services.handle)
        self._admission_lock = threading.Lock()
        self._admitted: set[str] = set()  # pod UIDs admitted (or found started)
        self._rejected: set[str] = set()
        self._stopping = threading.Event()
        self._pleg = threading.Thread(target=self._relist, name="pleg", daemon=True)

    # --- sources for volumes -----------------------------------------------------------------

    def _fetch(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        if kind in ("configmaps", "secrets"):  # from their watches (object_watch.py)
            return self.objects.get(kind, namespace, name)
        try:
            return self.rest.get(kind, namespace, name)
        except Exception as exc:
            if status_of(exc) == 404:
                return None
            raise

    def _token(self, pod: Mapping[str, Any], source: Mapping[str, Any]) -> str:
        metadata = pod["metadata"]
        return self.tokens.get(TokenKey(
            namespace=metadata["namespace"],
            service_account=(pod.get("spec") or {}).get("serviceAccountName") or "default",
            audiences=(source["audience"],) if source.get("audience") else (),
            expiration_seconds=int(source.get("expirationSeconds", 3600)),
            pod_name=metadata["name"], pod_uid=metadata["uid"]))

    def _request_token(self, key: TokenKey) -> HeldToken:
        """A TokenRequest for `key`'s service account, bound to its pod."""
        request = {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": list(key.audiences),
                     "expirationSeconds": key.expiration_seconds,
                     "boundObjectRef": {"kind": "Pod", "apiVersion": "v1",
                                        "name": key.pod_name, "uid": key.pod_uid}},
        }
        issued = time.time()
        answer = self.rest.request(
            "POST", f"/api/v1/namespaces/{key.namespace}/serviceaccounts/"
            f"{key.service_account}/token", request)
        status = answer.get("status") or {}
        expires = parse_time(status.get("expirationTimestamp"))
        expires_at = expires.timestamp() if expires else issued + key.expiration_seconds
        return HeldToken(str(status.get("token") or ""), issued, expires_at)

    def _services(self) -> list[dict[str, Any]] | None:
        """Every Service, or None until they have been listed once."""
        if not self.services_reflector.synced.is_set():
            return None
        return self.services.list("services")

    # --- workers -----------------------------------------------------------------------------

    def lookup(self, uid: str) -> dict[str, Any] | None:
        """The stored pod with this UID (each worker's sync asks: a dict lookup, no scan)."""
        key = self._keys.get(uid)
        pod = self.store.get("pods", *key) if key is not None else None
        return pod if pod is not None and pod["metadata"].get("uid") == uid else None

    def _index(self, event: str, payload: Any) -> None:
        if event == "LIST":
            self._keys = {p["metadata"]["uid"]: object_key(p)
                          for p in self.store.list("pods") if p["metadata"].get("uid")}
            return
        uid = str(((payload or {}).get("metadata") or {}).get("uid") or "")
        if not uid:
            return
        if event == "DELETED":
            self._keys.pop(uid, None)
        else:
            self._keys[uid] = object_key(payload)

    def _worker(self, uid: str, evicted: bool = False) -> PodWorker:
        worker = self.workers.get(uid)
        if worker is None or worker.done.is_set():
            worker = PodWorker(uid, self.lookup, self.runtime, self.rest, self.settings,
                               self.sources, self._services, self.admit, self.recorder)
            if evicted:
                worker.evict()  # before its first sync
            self.workers[uid] = worker
            worker.start()
        return worker

    # --- admission (upstream's canAdmitPod) -------------------------------------------------

    def admit(self, pod: Object, started: bool) -> Rejection | None:
        """Admit `pod` or say why not (`admission/handlers.py`: the pressure conditions, the
        sysctls, then the predicates against the Node and the pods admitted before it), one
        pod at a time. A pod that has started already (found running after a restart) is
        admitted as it is."""
        uid = str(pod["metadata"]["uid"])
        with self._admission_lock:
            if started or uid in self._admitted:
                self._admitted.add(uid)
                return None
            peers = admitted_peers(pod, self.store.list("pods"), self._admitted,
                                   self._rejected)
            verdict = admit_pod(pod, self.node(), self.pressure(), peers,
                                self.settings.allowed_unsafe_sysctls)
            (self._rejected if verdict else self._admitted).add(uid)
            return verdict

    def _forget(self, uid: str) -> None:
        """A pod whose worker is done: its tokens, watched objects and admission go."""
        self.tokens.forget(uid)
        self.objects.unregister_pod(uid)
        with self._admission_lock:
            self._admitted.discard(uid)
            self._rejected.discard(uid)

    # --- eviction (the evictor's side: mark, post Failed, then wake) ----------------------

    def mark_evicted(self, uid: str) -> bool:
        """Make the pod's worker start nothing from now on; False if no worker has the pod
        (nor the store: the evictor then stops its sandboxes itself)."""
        with self._lock:
            worker = self.workers.get(uid)
            if worker is not None and not worker.done.is_set():
                worker.evict()
                return True
            if self.lookup(uid) is None:
                return False
            self._worker(uid, evicted=True)
            return True

    def active_pods(self) -> list[Object] | None:
        """The pods admitted here (upstream's GetActivePods: a pod not admitted yet, or
        refused, is not active), as this manager's watch last saw them; None until it has
        listed."""
        if not self.reflector.synced.is_set():
            return None
        with self._admission_lock:
            admitted = set(self._admitted)
        return [p for p in self.store.list("pods") if p["metadata"].get("uid") in admitted]

    def _wake_all(self, uids: Collection[str]) -> None:
        """Wake the workers of these pods (a configMap or secret they use changed)."""
        for uid in uids:
            self.wake(uid)

    def wake(self, uid: str) -> None:
        """Wake the pod's worker (after the evictor posted Failed: it stops the pod)."""
        with self._lock:
            worker = self.workers.get(uid)
            if worker is not None and not worker.done.is_set():
                worker.wake()

    def _on_pods(self, kind: str, event: str, payload: Any) -> None:
        self.store.handle(kind, event, payload)
        self._index(event, payload)
        if event == "LIST":
            for pod in payload:  # before any worker syncs and reads them
                self.objects.register_pod(pod)
            self.dispatch()
            return
        if event != "DELETED" and payload:
            self.objects.register_pod(payload)
        uid = str(((payload or {}).get("metadata") or {}).get("uid") or "")
        if uid:
            self.dispatch_one(uid, deleted=event == "DELETED")

    def dispatch_one(self, uid: str, deleted: bool = False) -> None:
        """Wake the worker of the one pod an event was about (start it for a new pod)."""
        with self._lock:
            worker = self.workers.get(uid)
            if deleted:
                if worker is not None and not worker.done.is_set():
                    worker.wake()
            else:
                self._worker(uid).wake()
            for other, old in list(self.workers.items()):
                if old.done.is_set():
                    del self.workers[other]
                    self._forget(other)

    def dispatch(self) -> None:
        with self._lock:
            live = {p["metadata"]["uid"] for p in self.store.list("pods")}
            for uid in live:
                self._worker(uid).wake()
            for uid, worker in list(self.workers.items()):
                if worker.done.is_set():
                    del self.workers[uid]
                    self._forget(uid)
                elif uid not in live:
                    worker.wake()

    def _relist(self) -> None:
        """The PLEG thread: relist every `resync` seconds until stopped; nothing ends it.

        A failing relist (the runtime restarting, a bug) is logged as a warning once when
        relists start failing and at info when they work again; the loop goes on either way.
        """
        before: States = {}
        failing = False
        while not self._stopping.wait(self.settings.resync):
            try:
                before = self.relist_once(before)
            except Exception as exc:  # relist again next period
                if not failing:
                    log.warning("PLEG relist failed (pods resync on their own timers until "
                                "it works again): %s", exc, exc_info=True)
                failing = True
                continue
            if failing:
                log.info("PLEG relist works again")
                failing = False

    def relist_once(self, before: States) -> States:
        """One relist: wake the workers whose pods changed since `before`; the new states."""
        after = relist_states(self.runtime)
        changed = changed_pods(before, after)
        with self._lock:
            for uid in changed:
                worker = self.workers.get(uid)
                if worker is not None and not worker.done.is_set():
                    worker.wake()
        return after

    def adopt_orphans(self) -> None:
        """Tear down sandboxes whose pods the API no longer has."""
        live = {p["metadata"]["uid"] for p in self.store.list("pods")}
        with self._lock:
            for sandbox in self.runtime.all_sandboxes():
                uid = sandbox.labels.get(POD_UID)
                if uid and uid not in live and uid not in self.workers:
                    log.info("tearing down sandbox %s of a pod that is gone (%s)",
                             sandbox.id[:12], uid)
                    self._worker(uid).wake()

    def start(self) -> None:
        self.services_reflector.start()
        self.reflector.start()
        self._pleg.start()
        if self.reflector.synced.wait(60):
            try:
                self.adopt_orphans()
            except Exception:  # the runtime may be restarting; its sandboxes wait for later
                log.exception("could not look for orphaned sandboxes")

    def stop(self) -> None:
        self._stopping.set()
        self.reflector.stop()
        self.services_reflector.stop()
        self.objects.stop()
        with self._lock:
            for worker in self.workers.values():
                worker.stop()
