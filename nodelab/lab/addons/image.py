"""The add-on image: the host's Python interpreter and just the modules the add-ons import.

A lab runs its add-ons (cluster DNS) as pods, from an image in its own registry, as a real
cluster does. Nothing can be downloaded, so the image is built from what the host has, like the
busybox demo images:

1. `import_closure` runs the host's base interpreter (`python3 -S`) once, imports each add-on's
   entry module, and lists every file that got loaded: standard-library modules, extension
   modules (`lib-dynload/*.so`), dnslib, `nodelab/addons/` and `nodelab/kubewire/` (the
   vocabulary they share with the agents; the `nodelab` package itself is
   stubbed, so its heavy `__init__` does not run and is not shipped);
2. `shared_libraries` asks `ldd` which libraries the interpreter and those extensions need;
3. `addon_layer` puts the interpreter at its own path (the standard library is found from there
   as on the host), the libraries at theirs, and the Python packages under /opt/nodelab/site
   (on the image's `PYTHONPATH`), with an empty `nodelab/__init__.py`.

About 30 MB uncompressed, built once per process (`addon_image` caches it) in about a second.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.oci.image import BuiltImage, Entry, ImageConfig, Layer, build_image

SITE = "/opt/nodelab/site"
NODELAB_DIR = Path(__file__).resolve().parents[2]  # the nodelab package
ADDON_MODULES = ("nodelab.addons.dns.__main__", "nodelab.addons.metrics.__main__",
                 "nodelab.addons.npd.__main__")
# loaded at run time (`-m`, codecs), so not seen by importing the entry modules
LAZY_MODULES = ("runpy", "importlib.util", "encodings.idna", "encodings.ascii",
                "encodings.latin_1", "encodings.utf_8")

_CLOSURE = """
import importlib, json, sys, types
stub = types.ModuleType("nodelab")
stub.__path__ = [sys.argv[1]]
sys.modules["nodelab"] = stub
for name in sys.argv[2:]:
    importlib.import_module(name)
files = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
print(json.dumps(sorted(f for f in files if f)))
"""


def base_python() -> Path:
    """The interpreter a venv was made from (the one whose standard library is on disk)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (Path(sys.base_prefix) / "bin" / version,
                      Path(getattr(sys, "_base_executable", sys.executable))):
        if candidate.exists():
            return candidate.resolve()
    raise NodelabError(f"cannot find the base interpreter {version} under {sys.base_prefix}")


def import_closure(python: Path, modules: Iterable[str]) -> list[Path]:
    """Every file `python -S` loads to import `modules` (with nodelab's package stubbed)."""
    nodelab_dir = NODELAB_DIR
    paths = [str(nodelab_dir.parent), *(p for p in sys.path if p.endswith("site-packages"))]
    result = subprocess.run(
        [str(python), "-S", "-c", _CLOSURE, str(nodelab_dir), *LAZY_MODULES, *modules],
        env={"PYTHONPATH": os.pathsep.join(paths), "PATH": os.environ.get("PATH", "")},
        capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise NodelabError(f"cannot list the add-ons' modules with {python}: "
                           f"{result.stderr.strip()[-2000:]}")
    return [Path(p) for p in json.loads(result.stdout)]


_LDD_LINE = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)")


def shared_libraries(binaries: Iterable[Path]) -> set[Path]:
    """The libraries (and the dynamic loader) the binaries need, as `ldd` finds them."""
    found: set[Path] = set()
    for binary in binaries:
        result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=30)
        for line in result.stdout.splitlines():
            match = _LDD_LINE.search(line)
            if match:
                found.add(Path(match.group(1)))
    return found


def unwinder(libraries: Iterable[Path]) -> set[Path]:
    """libgcc_s beside libc: glibc dlopens it when a thread exits (pthread_exit unwinds), so
    `ldd` does not name it; without it a threaded add-on aborts at exit ("libgcc_s.so.1 must
    be installed for pthread_exit to work")."""
    found = set()
    for library in libraries:
        if library.name.startswith("libc.so"):
            candidate = library.parent / "libgcc_s.so.1"
            if candidate.exists():
                found.add(candidate)
    return found


def image_paths(python: Path, loaded: Iterable[Path], libraries: Iterable[Path],
                stdlib: Path, nodelab_dir: Path) -> dict[str, Path]:
    """Image path -> host file, for every file of the image (pure)."""
    files: dict[str, Path] = {str(python): python}
    for path in libraries:
        files[str(path)] = path
    for path in loaded:
        if path.is_relative_to(stdlib):
            files[str(path)] = path
        elif path.is_relative_to(nodelab_dir):
            files[f"{SITE}/nodelab/{path.relative_to(nodelab_dir)}"] = path
        elif "site-packages" in path.parts:
            relative = path.parts[path.parts.index("site-packages") + 1:]
            files[f"{SITE}/{'/'.join(relative)}"] = path
    return files


def addon_layer(files: Mapping[str, Path], python: Path) -> Layer:
    entries: dict[str, Entry] = {}
    for image_path, host_path in files.items():
        parent = Path(image_path).parent
        while str(parent) != "/":
            entries.setdefault(str(parent), Entry.dir(str(parent)))
            parent = parent.parent
        mode = host_path.stat().st_mode & 0o755
        entries[image_path] = Entry.file(image_path, host_path.read_bytes(), mode=mode)
    entries[f"{SITE}/nodelab/__init__.py"] = Entry.file(
        f"{SITE}/nodelab/__init__.py", b'"""nodelab\'s add-ons only: see nodelab/addons."""\n')
    for name in ("python3", f"python{sys.version_info.major}.{sys.version_info.minor}"):
        link = f"/usr/bin/{name}"
        if link not in entries:
            entries[link] = Entry.symlink(link, str(python))
    entries["/usr/bin"] = Entry.dir("/usr/bin")
    entries["/tmp"] = Entry.dir("/tmp", mode=0o1777)
    entries["/etc/passwd"] = Entry.file("/etc/passwd", b"root:x:0:0:root:/root:/bin/false\n")
    return Layer.from_entries(entries.values(), comment="the host's Python and nodelab's add-ons")


@functools.cache
def addon_image() -> BuiltImage:
    """Build the add-on image (once per process)."""
    python = base_python()
    loaded = import_closure(python, ADDON_MODULES)
    extensions = [p for p in loaded if p.suffix == ".so"]
    libraries = shared_libraries([python, *extensions])
    libraries |= unwinder(libraries)
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    nodelab_dir = NODELAB_DIR
    files = image_paths(python, loaded, libraries, stdlib, nodelab_dir)
    config = ImageConfig(
        entrypoint=(str(python), "-S", "-m"), cmd=("nodelab.addons.dns",),
        env=("PATH=/usr/bin:/bin", f"PYTHONPATH={SITE}", "PYTHONDONTWRITEBYTECODE=1"),
        stop_signal="SIGTERM")
    return build_image([addon_layer(files, python)], config)
