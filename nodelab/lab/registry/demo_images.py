"""The demo images, built from a static busybox and pushed to the lab registry.

- `busybox`: one layer holding /bin/busybox (the one `host.busybox.find_busybox` picks) and a
  symlink per applet, nodelab's tools of `image_tools` where that busybox falls short (none
  for the one `scripts/setup` builds), /etc/passwd and /etc/group; command `sh`.
- `web`: busybox plus a second layer with `/web.sh`: busybox httpd on port 8080 serving a page
  that names the pod (`hello from <hostname>`) and `/healthz`; it stops on TERM.
- `pause`: busybox with a command that sleeps forever and exits 0 on TERM, for pod sandboxes.

Layers are reproducible, so a second `up` pushes nothing new. Each image is tagged `1.0` and
`latest`; `DemoImages.ref(name)` gives the pullable reference (`<gateway>:5000/<name>:1.0`).
"""

from __future__ import annotations

from dataclasses import dataclass

from nodelab.host.busybox import Busybox, find_busybox
from nodelab.host.commands import run
from nodelab.lab.context import LabContext
from nodelab.lab.registry.credentials import push_client
from nodelab.lab.registry.image_tools import ImageTools, image_tools
from nodelab.oci.distribution import RegistryClient
from nodelab.oci.image import BuiltImage, Entry, ImageConfig, Layer, build_image
from nodelab.oci.push import push_image

TAG = "1.0"
WEB_PORT = 8080

WEB_SCRIPT = f"""#!/bin/sh
# web: busybox httpd on ${{PORT:-{WEB_PORT}}}; the page names the pod (its hostname).
port="${{PORT:-{WEB_PORT}}}"
root=/tmp/www
mkdir -p "$root"
echo "hello from $(hostname)" > "$root/index.html"
echo ok > "$root/healthz"
httpd -f -p "$port" -h "$root" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' TERM INT
echo "web: serving $(hostname) on port $port"
wait $pid
"""

PAUSE_COMMAND = (
    "trap 'kill $! 2>/dev/null; exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"
)


@dataclass(frozen=True)
class DemoImages:
    registry: str  # host:port

    def ref(self, name: str) -> str:
        return f"{self.registry}/{name}:{TAG}"


@dataclass(frozen=True)
class BaseLayer:
    """The busybox layer and the environment every demo image sets."""

    layer: Layer
    env: tuple[str, ...]


def busybox_layer(busybox: Busybox | None = None) -> BaseLayer:
    busybox = busybox or find_busybox()
    tools: ImageTools = image_tools(busybox)
    applets = run([str(busybox.path), "--list-full"]).stdout.split()
    dirs = {"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "proc", "sys", "dev",
            "run", "var", "home"}
    entries = [Entry.dir(d) for d in sorted(dirs)]
    entries.append(Entry.dir("tmp", mode=0o1777))
    entries.append(Entry.file("bin/busybox", busybox.path.read_bytes(), mode=0o755))
    for applet in applets:
        if (applet != "bin/busybox" and applet.rsplit("/", 1)[0] in dirs
                and applet not in tools.scripts):
            entries.append(Entry.symlink(applet, "/bin/busybox"))
    entries.extend(Entry.file(path, script.encode(), mode=0o755)
                   for path, script in tools.scripts.items())
    entries.extend(Entry.file(path, text.encode()) for path, text in tools.files.items())
    entries.append(Entry.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
                              b"nobody:x:65534:65534:nobody:/home:/bin/false\n"))
    entries.append(Entry.file("etc/group", b"root:x:0:\nnogroup:x:65534:\n"))
    return BaseLayer(Layer.from_entries(entries, comment=f"busybox-static ({busybox.path})"),
                     tools.env)


def build_demo_images(base: BaseLayer) -> dict[str, BuiltImage]:
    web_layer = Layer.from_entries(
        [Entry.file("web.sh", WEB_SCRIPT.encode(), mode=0o755)], comment="web.sh"
    )
    env = base.env
    return {
        "busybox": build_image([base.layer], ImageConfig(cmd=("sh",), env=env)),
        "web": build_image(
            [base.layer, web_layer],
            ImageConfig(cmd=("/web.sh",), env=env, exposed_ports=(f"{WEB_PORT}/tcp",),
                        stop_signal="SIGTERM"),
        ),
        "pause": build_image(
            [base.layer], ImageConfig(entrypoint=("/bin/sh", "-c", PAUSE_COMMAND), env=env,
                                      stop_signal="SIGTERM")
        ),
    }


def push_demo_images(client: RegistryClient) -> dict[str, str]:
    """Build and push every demo image; returns name -> manifest digest."""
    digests = {}
    for name, image in build_demo_images(busybox_layer()).items():
        for tag in (TAG, "latest"):
            digests[name] = push_image(client, name, tag, image)
    return digests


class PushDemoImages:
    """Step of `up`: build and push the demo images (a no-op push when they are there)."""

    name = "demo images"

    def execute(self, ctx: LabContext) -> None:
        for name, digest in push_demo_images(push_client(ctx)).items():
            ctx.progress(f"image {ctx.topology.registry}/{name}:{TAG} {digest[:19]}")
