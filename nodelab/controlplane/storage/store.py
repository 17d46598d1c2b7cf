"""The object store: what etcd plus kube-apiserver's watch cache are to a real cluster.

Durability is SQLite in WAL mode (`<state_dir>/controlplane.db`); speed is an in-memory copy
of every object, loaded at start-up and written through on every change, so reads and lists
never touch SQL. The design follows etcd's model closely because clients depend on it:

- **One global resourceVersion.** Every write (create, update, delete) takes the next integer
  of one counter; an object's `metadata.resourceVersion` is the revision of its last write, and
  a list's resourceVersion is the store's current revision.
- **Optimistic concurrency.** `update` and `delete` take the resourceVersion the caller read;
  if the object changed since, they raise `Conflict` (HTTP 409) and the caller retries from a
  fresh read. The REST layer builds patches and status updates on top of that compare-and-swap,
  as kube-apiserver's GuaranteedUpdate does.
- **Watch history.** Every write appends an event (ADDED, MODIFIED, DELETED with the object as
  it was written) to a bounded history, persisted in the `history` table so a watch can resume
  across a restart. Events older than the history are compacted away; asking to watch from a
  compacted revision raises `Gone` (HTTP 410), and the client re-lists, as with etcd. Each
  event also holds the object as it was before it (upstream's PrevObject; in memory, rebuilt
  from the history itself at start-up), so a watch with a selector sends an object that
  stops matching as DELETED and one that starts matching as ADDED, whatever revision the
  watch resumed from.
- Watchers wait on a condition variable of their resource and read new events from the
  history by revision, so a writer never waits for a watcher, however many there are, and a
  write wakes only the watches of its resource (kube-apiserver keeps a watch cache per
  resource; one condition for all woke every watch thread of every resource on each write, a
  fifth of the API server's interpreter time while 110 pods started at once).

Objects are kept as JSON text and parsed on each read, so callers always get a private copy.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nodelab.controlplane.storage.selectors import summary
from nodelab.errors import NodelabError
from nodelab.kube.objects import Object

Key = tuple[str, str, str]  # (storage resource, namespace or "", name)

HISTORY_LIMIT = 20000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    rv INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (resource, namespace, name));
CREATE TABLE IF NOT EXISTS history (
    rv INTEGER PRIMARY KEY, type TEXT NOT NULL, resource TEXT NOT NULL,
    namespace TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

log = logging.getLogger("nodelab.controlplane")


class StoreError(NodelabError):
    """A store operation that cannot be done as asked."""


class NotFound(StoreError):
    """The object does not exist."""


class AlreadyExists(StoreError):
    """An object with that name exists already."""


class Conflict(StoreError):
    """The object changed since the caller read it (stale resourceVersion)."""


class Gone(StoreError):
    """The requested revision is older than the kept watch history."""


@dataclass(frozen=True)
class Event:
    """One change, as a watch delivers it."""

    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    resource: str
    namespace: str
    name: str
    body: str
    # the object before this change, as upstream's watchCacheEvent.PrevObject: None for ADDED,
    # and for a MODIFIED whose previous write was compacted away; a DELETED's body is the
    # object as it was
    prev: str | None = None

    def object(self) -> Object:
        parsed: Object = json.loads(self.body)
        return parsed

    def previous(self) -> Object | None:
        if self.type == "DELETED":
            return self.object()
        return None if self.prev is None else _parse(self.prev)


class Store:
    """Objects by (resource, namespace, name), a global revision, and watch history."""

    def __init__(self, path: Path, history_limit: int = HISTORY_LIMIT) -> None:
        self.path = Path(path)
        self.history_limit = history_limit
        # Every Secret is in here: the file is made 0600 before SQLite opens it (its WAL and
        # shared-memory files take the same mode).
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)  # a store from before this rule
        os.close(fd)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._changed: dict[str, threading.Condition] = {}  # by resource, on self._lock
        self._objects: dict[str, dict[Key, str]] = {}
        self._rvs: dict[Key, int] = {}
        self._summaries: dict[Key, Object] = {}
        self._last_write: dict[str, int] = {}  # revision of each resource's latest write
        # (resource, namespace) -> (that latest write, its objects parsed): `select_shared`
        self._shared: dict[tuple[str, str | None], tuple[int, list[Object]]] = {}
        for resource, namespace, name, rv, body in self._db.execute(
            "SELECT resource, namespace, name, rv, body FROM objects"
        ):
            key = (resource, namespace, name)
            self._objects.setdefault(resource, {})[key] = body
            self._rvs[key] = rv
            self._summaries[key] = summary(resource, _parse(body))
            self._last_write[resource] = max(rv, self._last_write.get(resource, 0))
        self._history: list[Event] = []
        last: dict[Key, str] = {}  # each object's body as of the history read so far
        for rv, kind, resource, namespace, name, body in self._db.execute(
            "SELECT rv, type, resource, namespace, name, body FROM history ORDER BY rv"
        ):
            key = (resource, namespace, name)
            prev = last.get(key) if kind == "MODIFIED" else None
            if kind == "DELETED":
                last.pop(key, None)
            else:
                last[key] = body
            self._history.append(Event(rv, kind, resource, namespace, name, body, prev))
            self._last_write[resource] = max(rv, self._last_write.get(resource, 0))  # deletes
        self._history_rvs = [event.rv for event in self._history]
        self._revision = int(self._meta("revision", "1"))
        self._compacted = int(self._meta("compacted", "0"))
        self.closed = False

    def _meta(self, key: str, default: str) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else default

    def health_error(self) -> str:
        """"" when the database answers a read (the API server's `etcd` health check), else
        why not."""
        if self.closed:
            return "the store is closed"
        try:
            with self._lock:
                self._meta("revision", "1")
        except sqlite3.Error as exc:
            return f"the store did not answer a read: {exc}"
        return ""

    @property
    def revision(self) -> int:
        """The store's current resourceVersion."""
        return self._revision

    @property
    def compacted(self) -> int:
        """Watching from a revision below this one raises Gone."""
        return self._compacted

    def last_write(self, resource: str) -> int:
        """The revision of the latest create, update or delete of `resource` since this store
        was opened (or of its newest object): a cheap mark that it changed."""
        return self._last_write.get(resource, 0)

    def get(self, resource: str, namespace: str, name: str) -> Object | None:
        body = self._objects.get(resource, {}).get((resource, namespace, name))
        return None if body is None else _parse(body)

    def select(self, resource: str, namespace: str | None = None) -> tuple[list[Object], int]:
        """Every object of `resource` (in `namespace` if given), sorted by key, and the revision."""
        with self._lock:
            revision = self._revision
            bodies = sorted(self._objects.get(resource, {}).items())
        items = [_parse(body) for key, body in bodies if namespace is None or key[1] == namespace]
        return items, revision

    def select_shared(self, resource: str, namespace: str | None = None) -> list[Object]:
        """Like `select`, but parsed once per change of `resource` and the same objects for
        every caller, who must not change them: RBAC reads every ClusterRole and binding for
        each request (parsing them each time was a sixth of the API server's CPU while 110
        pods started, and every controller's request paid it)."""
        key = (resource, namespace)
        with self._lock:
            mark = self._last_write.get(resource, 0)
            hit = self._shared.get(key)
            if hit is not None and hit[0] == mark:
                return hit[1]
        items = self.select(resource, namespace)[0]  # as new as `mark` at least
        with self._lock:
            self._shared[key] = (mark, items)
        return items

    def select_raw(self, resource: str, namespace: str | None = None,
                   keep: Callable[[Object], bool] | None = None) -> tuple[list[str], int]:
        """Like `select`, but the stored JSON text itself (for lists sent on unchanged);
        `keep` is asked about each object's selector `summary`, not the object."""
        with self._lock:
            revision = self._revision
            bodies = sorted(self._objects.get(resource, {}).items())
            summaries = self._summaries
            chosen = [body for key, body in bodies
                      if (namespace is None or key[1] == namespace)
                      and (keep is None or keep(summaries[key]))]
        return chosen, revision

    def keys(self, resource: str) -> list[Key]:
        with self._lock:
            return sorted(self._objects.get(resource, {}))

    def namespaced_resources(self, namespace: str) -> Iterator[Key]:
        with self._lock:
            keys = [key for table in self._objects.values() for key in table]
        return (key for key in keys if key[1] == namespace)

    def create(self, resource: str, namespace: str, name: str, obj: Object) -> Object:
        key = (resource, namespace, name)
        with self._lock:
            if key in self._objects.get(resource, {}):
                raise AlreadyExists(f"{resource} {namespace}/{name} already exists")
            return self._write("ADDED", key, obj)

    def update(
        self, resource: str, namespace: str, name: str, obj: Object, expected_rv: int | None
    ) -> Object:
        """Replace the object if its revision still is `expected_rv` (None: unconditionally)."""
        key = (resource, namespace, name)
        with self._lock:
            current = self._rvs.get(key)
            if current is None:
                raise NotFound(f"{resource} {namespace}/{name} not found")
            if expected_rv is not None and expected_rv != current:
                raise Conflict(
                    f"the object has been modified; please apply your changes to the latest"
                    f" version and try again (have {expected_rv}, current {current})"
                )
            return self._write("MODIFIED", key, obj)

    def delete(
        self, resource: str, namespace: str, name: str, expected_rv: int | None = None
    ) -> Object:
        key = (resource, namespace, name)
        with self._lock:
            body = self._objects.get(resource, {}).get(key)
            if body is None:
                raise NotFound(f"{resource} {namespace}/{name} not found")
            if expected_rv is not None and expected_rv != self._rvs[key]:
                raise Conflict("the object has been modified; please apply your changes to the"
                               " latest version and try again")
            return self._write("DELETED", key, _parse(body))

    def _write(self, kind: str, key: Key, obj: Object) -> Object:
        prev = self._objects.get(key[0], {}).get(key) if kind == "MODIFIED" else None
        revision = self._revision + 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
        body = json.dumps(obj, separators=(",", ":"))
        resource, namespace, name = key
        db = self._db
        db.execute("BEGIN")
        try:
            if kind == "DELETED":
                db.execute(
                    "DELETE FROM objects WHERE resource=? AND namespace=? AND name=?", key
                )
            else:
                db.execute(
                    "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)",
                    (resource, namespace, name, revision, body),
                )
            db.execute(
                "INSERT INTO history VALUES (?, ?, ?, ?, ?, ?)",
                (revision, kind, resource, namespace, name, body),
            )
            db.execute("INSERT OR REPLACE INTO meta VALUES ('revision', ?)", (str(revision),))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite rolls back itself on some errors (a full disk)
                db.execute("ROLLBACK")
            raise
        self._revision = revision
        self._last_write[resource] = revision
        table = self._objects.setdefault(resource, {})
        if kind == "DELETED":
            table.pop(key, None)
            self._rvs.pop(key, None)
            self._summaries.pop(key, None)
        else:
            table[key] = body
            self._rvs[key] = revision
            self._summaries[key] = summary(resource, obj)
        self._history.append(Event(revision, kind, resource, namespace, name, body, prev))
        self._history_rvs.append(revision)
        if len(self._history) > self.history_limit + self.history_limit // 10:
            try:
                self._compact()
            except sqlite3.Error as exc:  # the write is committed; compaction retries next time
                log.warning("compaction of %s failed (retried on the next write): %s",
                            self.path, exc)
        if resource in self._changed:
            self._changed[resource].notify_all()
        return obj

    def _compact(self) -> None:
        """Drop the oldest events, on disk and in memory, as one transaction.

        The deleted events and the `compacted` mark change together: a crash between two
        separate statements would leave the events gone while a watch from before them still
        looked valid (no 410), silently missing changes.
        """
        drop = len(self._history) - self.history_limit
        compacted = self._history[drop - 1].rv
        db = self._db
        db.execute("BEGIN")
        try:
            db.execute("DELETE FROM history WHERE rv <= ?", (compacted,))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('compacted', ?)", (str(compacted),))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._compacted = compacted
        del self._history[:drop]
        del self._history_rvs[:drop]

    def events_after(self, revision: int, resource: str) -> tuple[list[Event], int]:
        """Events of `resource` with rv > `revision`, and the revision they run up to.

        Raises Gone if some events after `revision` were compacted away."""
        with self._lock:
            if revision < self._compacted:
                raise Gone(f"too old resource version: {revision} ({self._compacted})")
            start = bisect.bisect_right(self._history_rvs, revision)
            found = [event for event in self._history[start:] if event.resource == resource]
            return found, self._revision

    def wait(self, resource: str, revision: int, timeout: float) -> bool:
        """Block until `resource` is written after `revision` or `timeout` elapses; whether it
        was."""
        with self._lock:
            if self._last_write.get(resource, 0) <= revision and not self.closed:
                self._changed.setdefault(resource, threading.Condition(self._lock)).wait(
                    timeout)
            return self._last_write.get(resource, 0) > revision

    def close(self) -> None:
        with self._lock:
            self.closed = True
            for changed in self._changed.values():
                changed.notify_all()
            self._db.close()


def _parse(body: str) -> Object:
    parsed: Object = json.loads(body)
    return parsed
