"""The health endpoints `/healthz`, `/livez` and `/readyz`, as k8s.io/apiserver's healthz package
serves them (`InstallPathHandler`, `handleRootHealth`, `adaptCheckToHandler`).

Each endpoint runs its list of named checks:

- `GET /readyz` answers `ok`; with `?verbose` one line per check (`[+]ping ok`) and then
  `readyz check passed`; a failing check makes it a 500 listing every check (`[-]etcd failed:
  reason withheld`) and ending `readyz check failed` (the reason goes to the log only: the
  endpoint is public);
- `?exclude=<name>` skips a check (`[+]etcd excluded: ok`), or a group of checks
  (`[+]etcd excluded with etcd: ok`, upstream's `NamedGroupedCheck`); a name no check has
  adds `warn: some health checks cannot be excluded: no matches for "x"`;
- `GET /readyz/<check>` runs one check: `ok`, or a 500 `internal server error: <reason>`; a
  path that names no check is the API server's 404.

The checks are kube-apiserver's where nodelab has the thing they check: `ping`, `log`, `etcd`
and `etcd-readiness` (nodelab's store answers a read), the post-start hooks nodelab's
bootstrap does (`poststarthook/bootstrap-controller`, `poststarthook/rbac/bootstrap-roles`,
`poststarthook/scheduling/bootstrap-system-priority-classes`: done once the first reconcile
ran) and `shutdown` (readyz only: fails once the server is stopping). The order is
upstream's: defaults, storage, hooks, shutdown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from nodelab.kubewire.go_quote import go_quote

ENDPOINTS = ("/healthz", "/livez", "/readyz")
READY_ONLY = ("etcd-readiness", "shutdown")  # upstream adds these with AddReadyzChecks
POST_START_HOOKS = ("bootstrap-controller", "rbac/bootstrap-roles",
                    "scheduling/bootstrap-system-priority-classes")


@dataclass(frozen=True)
class Check:
    """A named check: `error()` is "" when healthy, else why not (for the log and the
    per-check path); `group` is the name `?exclude=` may use for several checks."""

    name: str
    error: Callable[[], str]
    group: str = ""


@dataclass(frozen=True)
class Answer:
    code: int
    text: str


def split(path: str) -> tuple[str, str] | None:
    """(`/readyz`, `etcd`) for `/readyz/etcd`, (`/readyz`, ``) for `/readyz`; None when the
    path is no health endpoint's."""
    for endpoint in ENDPOINTS:
        if path == endpoint:
            return endpoint, ""
        if path.startswith(endpoint + "/"):
            return endpoint, path[len(endpoint) + 1:]
    return None


def checks_for(endpoint: str, store_error: Callable[[], str], hooks_done: Callable[[], bool],
               stopping: Callable[[], bool]) -> list[Check]:
    """The checks `endpoint` runs, in kube-apiserver's order."""
    def hook() -> str:
        return "" if hooks_done() else "not finished"

    checks = [Check("ping", lambda: ""), Check("log", lambda: ""),
              Check("etcd", store_error, "etcd"),
              Check("etcd-readiness", store_error, "etcd-readiness"),
              *(Check(f"poststarthook/{name}", hook) for name in POST_START_HOOKS),
              Check("shutdown", lambda: "process is shutting down" if stopping() else "")]
    if endpoint == "/readyz":
        return checks
    return [c for c in checks if c.name not in READY_ONLY]


def answer(endpoint: str, check_path: str, query: Mapping[str, Sequence[str]],
           checks: Sequence[Check]) -> Answer | None:
    """What `GET <endpoint>[/<check_path>]?<query>` answers; None when no check has that
    path (the caller's 404)."""
    if check_path:
        for check in checks:
            if check.name == check_path:
                error = check.error()
                return (Answer(500, f"internal server error: {error}\n") if error
                        else Answer(200, "ok"))
        return None
    return _root(endpoint.lstrip("/"), query, checks)


def _root(name: str, query: Mapping[str, Sequence[str]], checks: Sequence[Check]) -> Answer:
    excluded = set(query.get("exclude", []))
    unknown = set(excluded)
    lines: list[str] = []
    failed = False
    for check in checks:
        if check.name in excluded:
            unknown.discard(check.name)
            lines.append(f"[+]{check.name} excluded: ok\n")
        elif check.group and check.group in excluded:
            unknown.discard(check.group)
            lines.append(f"[+]{check.name} excluded with {check.group}: ok\n")
        elif check.error():
            failed = True
            lines.append(f"[-]{check.name} failed: reason withheld\n")
        else:
            lines.append(f"[+]{check.name} ok\n")
    if unknown:
        names = ",".join(go_quote(n) for n in sorted(unknown))
        lines.append(f"warn: some health checks cannot be excluded: no matches for {names}\n")
    if failed:  # http.Error adds the newline
        return Answer(500, "".join(lines) + f"{name} check failed\n")
    if "verbose" not in query:
        return Answer(200, "ok")
    return Answer(200, "".join(lines) + f"{name} check passed\n")


def failures(checks: Sequence[Check]) -> list[str]:
    """`[-]<name> failed: <reason>` of each failing check, for the log."""
    return [f"[-]{c.name} failed: {error}" for c in checks if (error := c.error())]
