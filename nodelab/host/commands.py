"""Running host commands, kind-style: every failure carries the command and what it printed.

nodelab drives real tools (`ip`, `iptables-restore`, `nft`, `runc`, `docker-registry`). A failure
must say which command failed and what it printed, so the caller can add what to do about it.
`run` is the one place that starts a short-lived host command and waits for it.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nodelab.errors import NodelabError


@dataclass
class CommandError(NodelabError):
    """A host command that exited non-zero (or could not be started)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        output = (self.stderr.strip() or self.stdout.strip() or "no output")[-2000:]
        return f"`{shlex.join(self.argv)}` failed (exit {self.returncode}): {output}"


def run(
    argv: Sequence[str],
    *,
    input: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    check: bool = True,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` (in `cwd`), wait for it, and return its output as text; raise CommandError
    on failure."""
    data = input.encode() if isinstance(input, str) else input
    try:
        proc = subprocess.run(
            list(argv),
            input=data,
            capture_output=True,
            env=dict(env) if env is not None else None,
            timeout=timeout,
            check=False,
            cwd=cwd,
        )
    except FileNotFoundError as exc:
        raise CommandError(tuple(argv), 127, "", f"{argv[0]}: not found ({exc})") from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandError(tuple(argv), -1, "", f"timed out after {timeout:.0f}s") from exc
    result = subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        proc.stdout.decode(errors="replace"),
        proc.stderr.decode(errors="replace"),
    )
    if check and result.returncode != 0:
        raise CommandError(tuple(argv), result.returncode, result.stdout, result.stderr)
    return result
