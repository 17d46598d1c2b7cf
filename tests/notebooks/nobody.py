"""An interpreter the user nobody can start, with this venv's packages (the unprivileged runs).

The suite runs the notebooks as an ordinary user (`setpriv --reuid=65534`), a real kernel
without privileges, as Binder runs them. That user must be able to exec an interpreter that has
nodelab, papermill and ipykernel:

- this venv's own interpreter, when its base interpreter is one every user may execute
  (`scripts/setup` builds `.venv` from `/usr/bin/python3.X` for that reason);
- otherwise (a `.venv` built earlier from pyenv's Python under `/root`, mode 700) an overlay
  venv made here in a temp dir from a system interpreter of the same `X.Y` that nobody can
  execute, whose one `.pth` line adds this venv's site-packages (so the same installed packages,
  nodelab's editable install included). Nothing on the host is changed; `remove()` deletes it.

Where neither works (not root, no setpriv, no system interpreter of this version, or the
repository or venv in a directory nobody cannot enter) `reason` says why, for the test's skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

NOBODY_UID = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY_UID}", f"--regid={NOBODY_UID}", "--clear-groups"]
REPO = Path(__file__).parents[2]


@dataclass
class NobodyPython:
    executable: str = ""
    reason: str = ""
    overlay: Path | None = None

    def remove(self) -> None:
        if self.overlay is not None:
            shutil.rmtree(self.overlay, ignore_errors=True)


def _as_nobody(command: str) -> subprocess.CompletedProcess[str]:
    # Through a shell: the second exec is the one that shows whether nobody may reach the file.
    env = {**os.environ, "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([*AS_NOBODY, "/bin/sh", "-c", command], capture_output=True, text=True,
                          cwd="/", env=env)


def _imports(python: str) -> subprocess.CompletedProcess[str]:
    return _as_nobody(f'exec "{python}" -c "import nodelab, papermill, ipykernel"')


def _overlay(base: str) -> Path:
    overlay = Path(tempfile.mkdtemp(prefix="nodelab-nobody-python-"))
    subprocess.run([base, "-m", "venv", "--without-pip", str(overlay)], check=True)
    site_dirs = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    pth = overlay / "lib" / version / "site-packages" / "nodelab-venv.pth"
    pth.write_text("import site; " + "; ".join(f"site.addsitedir({d!r})" for d in site_dirs) + "\n")
    for path in [overlay, *overlay.rglob("*")]:
        if not path.is_symlink():  # bin/python links to the system's interpreter: leave it
            path.chmod(path.stat().st_mode | (0o555 if path.is_dir() else 0o444))
    return overlay


def nobody_python() -> NobodyPython:
    """Find or make an interpreter for the user nobody; say why not where it cannot."""
    if os.geteuid() != 0:
        return NobodyPython(reason="needs root to switch to the user nobody")
    if shutil.which("setpriv") is None:
        return NobodyPython(reason="setpriv (util-linux) is not installed")
    if _as_nobody(f'test -r "{REPO / "nodelab" / "__init__.py"}"').returncode != 0:
        return NobodyPython(reason=f"the user nobody cannot read the repository at {REPO} "
                                   "(a parent directory is not world-executable)")
    if _imports(sys.executable).returncode == 0:
        return NobodyPython(executable=sys.executable)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    bases = [f"{d}/{version}" for d in ("/usr/bin", "/usr/local/bin")]
    base = next((b for b in bases if _as_nobody(f'exec "{b}" -c pass').returncode == 0), None)
    if base is None:
        return NobodyPython(reason=f"the user nobody cannot start this venv's interpreter "
                                   f"({sys.executable}) nor a system {version} "
                                   f"({', '.join(bases)})")
    overlay = _overlay(base)
    python = str(overlay / "bin" / "python")
    probe = _imports(python)
    if probe.returncode != 0:
        shutil.rmtree(overlay, ignore_errors=True)
        return NobodyPython(reason=f"the user nobody cannot import this venv's packages "
                                   f"from {base}: {probe.stderr.strip()[-200:]}")
    return NobodyPython(executable=python, overlay=overlay)
