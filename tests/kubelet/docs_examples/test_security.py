"""The docs' security-context, multi-container, volume and lifecycle examples on a lab: the
security-context page's `ps`, `id`, `ls -l` and capability bitmaps, image-defined groups
merged or not (supplementalGroupsPolicy), a shared process namespace, two containers sharing
an emptyDir, an emptyDir surviving a container restart, postStart/preStop hooks and an init
container (see __init__ for the adaptations).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from nodelab.lab.lab import Lab
from nodelab.lab.registry.credentials import ensure_push_credentials
from nodelab.lab.registry.demo_images import busybox_layer
from nodelab.oci.distribution import RegistryClient
from nodelab.oci.image import Entry, ImageConfig, Layer, build_image
from nodelab.oci.push import push_image
from tests.kubelet.docs_examples.harness import apply, exec_in, pod, ready, refused
from tests.lab.kube import KUBECTL, eventually, kubectl

pytestmark = [pytest.mark.slow, pytest.mark.privileged]

# the docs' agnhost image defines these (security-context page, "Implicit group memberships")
IMAGE_PASSWD = b"root:x:0:0:root:/root:/bin/sh\nuser-defined-in-image:x:1000:1000::/:/bin/sh\n"
IMAGE_GROUP = (b"root:x:0:\nuser-defined-in-image:x:1000:\n"
               b"group-defined-in-image:x:50000:user-defined-in-image\n")


def push_image_with_groups(lab: Lab) -> str:
    """busybox plus the docs' /etc/passwd and /etc/group, pushed to the lab registry."""
    users = Layer.from_entries([Entry.file("etc/passwd", IMAGE_PASSWD),
                                Entry.file("etc/group", IMAGE_GROUP)], comment="users")
    image = build_image([busybox_layer().layer, users], ImageConfig(cmd=("sh",)))
    credentials = ensure_push_credentials(lab.paths.registry)  # pushes go to :5001 only
    client = RegistryClient(lab.topology.registry_push, scheme="http",
                            username=credentials.username, password=credentials.password)
    push_image(client, "groups", "1.0", image)
    return f"{lab.topology.registry}/groups:1.0"


def manifests(busybox: str, web: str, groups: str, registry: str) -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: security-context-demo}}
spec:
  securityContext: {{runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, supplementalGroups: [4000]}}
  volumes: [{{name: sec-ctx-vol, emptyDir: {{}}}}]
  containers:
  - name: sec-ctx-demo
    image: {busybox}
    command: [sh, -c, "sleep 1h"]
    volumeMounts: [{{name: sec-ctx-vol, mountPath: /data/demo}}]
    securityContext: {{allowPrivilegeEscalation: false}}
---
apiVersion: v1
kind: Pod
metadata: {{name: security-context-demo-2}}
spec:
  securityContext: {{runAsUser: 1000}}
  containers:
  - name: sec-ctx-demo-2
    image: {web}
    securityContext: {{runAsUser: 2000, allowPrivilegeEscalation: false}}
---
apiVersion: v1
kind: Pod
metadata: {{name: security-context-demo-3}}
spec:
  containers:
  - {{name: sec-ctx-3, image: {web}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: security-context-demo-4}}
spec:
  containers:
  - name: sec-ctx-4
    image: {web}
    securityContext: {{capabilities: {{add: [NET_ADMIN, SYS_TIME]}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: security-context-demo-5}}
spec:
  securityContext: {{runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000]}}
  containers:
  - name: sec-ctx-demo
    image: {groups}
    command: [sh, -c, "sleep 1h"]
    securityContext: {{allowPrivilegeEscalation: false}}
---
apiVersion: v1
kind: Pod
metadata: {{name: security-context-demo-6}}
spec:
  securityContext:
    runAsUser: 1000
    runAsGroup: 3000
    supplementalGroups: [4000]
    supplementalGroupsPolicy: Strict
  containers:
  - name: sec-ctx-demo
    image: {groups}
    command: [sh, -c, "sleep 1h"]
    securityContext: {{allowPrivilegeEscalation: false}}
---
apiVersion: v1
kind: Pod
metadata: {{name: nginx-shared-pid}}
spec:
  shareProcessNamespace: true
  containers:
  - {{name: nginx, image: {web}}}
  - {{name: shell, image: {busybox}, command: [sleep, "3600"], stdin: true, tty: true}}
---
apiVersion: v1
kind: Pod
metadata: {{name: two-containers}}
spec:
  restartPolicy: Never
  volumes: [{{name: shared-data, emptyDir: {{}}}}]
  containers:
  - name: nginx-container
    image: {busybox}
    command: [httpd, -f, -p, "80", -h, /usr/share/nginx/html]
    volumeMounts: [{{name: shared-data, mountPath: /usr/share/nginx/html}}]
  - name: debian-container
    image: {busybox}
    volumeMounts: [{{name: shared-data, mountPath: /pod-data}}]
    command: [/bin/sh]
    args: [-c, "echo Hello from the debian container > /pod-data/index.html"]
---
apiVersion: v1
kind: Pod
metadata: {{name: redis}}
spec:
  containers:
  - image: {web}
    name: redis
    volumeMounts: [{{mountPath: /data/redis, name: redis-storage}}]
  volumes:
  - {{emptyDir: {{}}, name: redis-storage}}
---
apiVersion: v1
kind: Pod
metadata: {{name: lifecycle-demo}}
spec:
  containers:
  - name: lifecycle-demo-container
    image: {web}
    lifecycle:
      postStart:
        exec:
          command:
          - /bin/sh
          - -c
          - mkdir -p /usr/share; echo Hello from the postStart handler > /usr/share/message
      preStop:
        exec:
          command: [/bin/sh, -c, "killall httpd; while killall -0 httpd; do sleep 1; done"]
---
apiVersion: v1
kind: Pod
metadata: {{name: init-demo}}
spec:
  containers:
  - name: nginx
    image: {busybox}
    command: [httpd, -f, -p, "80", -h, /usr/share/nginx/html]
    ports: [{{containerPort: 80}}]
    volumeMounts: [{{name: workdir, mountPath: /usr/share/nginx/html}}]
  initContainers:
  - name: install
    image: {busybox}
    command: [wget, -O, /work-dir/index.html, "http://{registry}/v2/"]
    volumeMounts: [{{name: workdir, mountPath: /work-dir}}]
  dnsPolicy: Default
  volumes: [{{name: workdir, emptyDir: {{}}}}]
"""


@pytest.fixture(scope="module")
def lab(docs_lab: Lab) -> Lab:
    """The package's lab, with this module's examples applied."""
    groups = push_image_with_groups(docs_lab)
    apply(docs_lab, manifests(docs_lab.images.ref("busybox"), docs_lab.images.ref("web"),
                              groups, docs_lab.topology.registry))
    return docs_lab


def test_pod_security_context(lab: Lab) -> None:
    """pods/security/security-context.yaml (the page's version: runAsGroup 3000 and
    supplementalGroups [4000]), page tasks/configure-pod-container/security-context: `ps`
    shows user 1000, /data/demo belongs to group 2000 with the setgid bit, a file made in it
    is 1000:2000, and `id` prints uid=1000 gid=3000 groups=2000,3000,4000."""
    ready(lab, "security-context-demo")
    ps = exec_in(lab, "security-context-demo", "ps").splitlines()[1:]
    assert ps and all(line.split()[1] == "1000" for line in ps), ps
    demo = exec_in(lab, "security-context-demo", "ls", "-ln", "/data").splitlines()[-1].split()
    assert demo[0] == "drwxrwsrwx" and demo[2:4] == ["0", "2000"] and demo[-1] == "demo"
    exec_in(lab, "security-context-demo", "sh", "-c", "echo hello > /data/demo/testfile")
    made = exec_in(lab, "security-context-demo", "ls", "-ln", "/data/demo/testfile").split()
    assert made[0] == "-rw-r--r--" and made[2:5] == ["1000", "2000", "6"]
    assert exec_in(lab, "security-context-demo", "id") == (
        "uid=1000 gid=3000 groups=2000,3000,4000\n")


def test_container_security_context_overrides_the_pods(lab: Lab) -> None:
    """pods/security/security-context-2.yaml@478da5df, same page: the container's runAsUser
    2000 overrides the pod's 1000 (`ps aux` lists user 2000)."""
    ready(lab, "security-context-demo-2")
    ps = exec_in(lab, "security-context-demo-2", "ps", "aux").splitlines()[1:]
    assert ps and all(line.split()[1] == "2000" for line in ps), ps


def capabilities(lab: Lab, name: str) -> tuple[str, str]:
    ready(lab, name)
    status = dict(line.split(":\t", 1) for line in exec_in(
        lab, name, "cat", "/proc/1/status").splitlines() if ":\t" in line)
    return status["CapPrm"], status["CapEff"]


def test_capabilities(lab: Lab) -> None:
    """pods/security/security-context-3.yaml@7a090ad7 and -4.yaml@7a090ad7, same page: the
    runtime's default set is 00000000a80425fb; adding NET_ADMIN and SYS_TIME sets bits 12 and
    25: 00000000aa0435fb."""
    assert capabilities(lab, "security-context-demo-3") == ("00000000a80425fb",) * 2
    assert capabilities(lab, "security-context-demo-4") == ("00000000aa0435fb",) * 2


def test_image_groups_merged_or_strict(lab: Lab) -> None:
    """pods/security/security-context-5.yaml@7a090ad7 and -6.yaml@52704c9b, same page (with an
    image whose /etc/group puts uid 1000 in group 50000, as agnhost's): by default the image's
    group is merged (groups=3000,4000,50000); with supplementalGroupsPolicy Strict it is not
    (groups=3000,4000)."""
    ready(lab, "security-context-demo-5")
    assert exec_in(lab, "security-context-demo-5", "id") == (
        "uid=1000(user-defined-in-image) gid=3000 "
        "groups=3000,4000,50000(group-defined-in-image)\n")
    ready(lab, "security-context-demo-6")
    assert exec_in(lab, "security-context-demo-6", "id") == (
        "uid=1000(user-defined-in-image) gid=3000 groups=3000,4000\n")


def test_the_status_shows_the_process_identity(lab: Lab) -> None:
    """security-context-6.yaml@52704c9b, same page: status.containerStatuses[].user.linux
    shows the first process's identity: uid 1000, gid 3000, supplementalGroups [3000, 4000]
    (and with the image's group merged, 50000 too)."""
    for name, groups in (("security-context-demo-6", [3000, 4000]),
                         ("security-context-demo-5", [3000, 4000, 50000])):
        ready(lab, name)
        status = pod(lab, name)["status"]["containerStatuses"][0]
        assert status.get("user", {}).get("linux") == {
            "uid": 1000, "gid": 3000, "supplementalGroups": groups}, name


def test_the_node_says_it_supports_the_policy(lab: Lab) -> None:
    """Same page, "Implementations": the Node's status.features.supplementalGroupsPolicy
    is true where the runtime supports the policy."""
    node = lab.topology.nodes[0].name
    status = json.loads(kubectl(lab, "get", "node", node, "-o", "json"))["status"]
    assert (status.get("features") or {}).get("supplementalGroupsPolicy") is True


def test_cgroup_options_are_unknown_to_this_version(lab: Lab) -> None:
    """pods/security/security-context-7.yaml@1fc0846938: `cgroupOptions` is newer than the
    API the lab serves; kubectl's strict field validation refuses the pod naming the field,
    as an upstream API server of that version does."""
    error = refused(lab, f"""
apiVersion: v1
kind: Pod
metadata: {{name: security-context-demo-7}}
spec:
  containers:
  - name: sec-ctx-7
    image: {lab.images.ref("busybox")}
    command: [sh, -c, "sleep 1h"]
    securityContext:
      allowPrivilegeEscalation: false
      cgroupOptions: {{mountMode: ReadWrite}}
""")
    assert 'unknown field "spec.containers[0].securityContext.cgroupOptions"' in error


def test_share_process_namespace(lab: Lab) -> None:
    """pods/share-process-namespace.yaml@4aca7a8c, page share-process-namespace: from the
    shell container `ps ax` shows the sandbox's process as PID 1 and the other container's
    server; its files are reachable through /proc/<pid>/root."""
    ready(lab, "nginx-shared-pid")
    ps = exec_in(lab, "nginx-shared-pid", "ps", "ax", container="shell").splitlines()[1:]
    assert ps[0].split()[0] == "1"
    server = [line.split()[0] for line in ps if "httpd" in line]
    assert server, ps
    assert "web: busybox httpd" in exec_in(lab, "nginx-shared-pid", "cat",
                                          f"/proc/{server[0]}/root/web.sh", container="shell")


def test_two_containers_share_an_empty_dir(lab: Lab) -> None:
    """pods/two-container-pod.yaml@6ef03d7b, page communicate-containers-same-pod-shared-
    volume: the second container wrote index.html and ended (Completed), the server serves
    `Hello from the debian container`."""
    def debian_done() -> bool:
        statuses = pod(lab, "two-containers")["status"].get("containerStatuses") or []
        return any(s["name"] == "debian-container"
                   and (s["state"].get("terminated") or {}).get("reason") == "Completed"
                   for s in statuses)
    eventually(debian_done, timeout=90)
    assert exec_in(lab, "two-containers", "wget", "-qO-", "localhost",
                   container="nginx-container") == "Hello from the debian container\n"


def test_empty_dir_outlives_a_container_restart(lab: Lab) -> None:
    """pods/storage/redis.yaml@018c6fb1, page configure-volume-storage: a file written to the
    emptyDir is still there after the container's process is killed and restarted."""
    ready(lab, "redis")
    exec_in(lab, "redis", "sh", "-c", "echo Hello > /data/redis/test-file")
    # The exec'd `kill` is in redis's pid namespace: when redis ends before `kill` itself has
    # exited (a busy machine), the kernel kills it with the rest of the namespace and the exec
    # ends 137, as on any runtime (the page's shell session ends the same way).
    killed = subprocess.run([KUBECTL, "--kubeconfig", str(lab.kubeconfig), "exec", "redis",
                             "--", "kill", "1"], capture_output=True, text=True, timeout=120)
    assert killed.returncode in (0, 137), killed.stderr

    def restarted() -> bool:
        statuses = pod(lab, "redis")["status"].get("containerStatuses") or [{}]
        return bool(statuses[0].get("restartCount", 0) >= 1 and statuses[0].get("ready"))
    eventually(restarted, timeout=90)
    assert exec_in(lab, "redis", "cat", "/data/redis/test-file") == "Hello\n"


def test_post_start_and_pre_stop_handlers(lab: Lab) -> None:
    """pods/lifecycle-events.yaml@81dca134, page attach-handler-lifecycle-event: the postStart
    handler's message is in /usr/share/message; deleting the pod runs preStop, whose end lets
    the pod go long before its 30 s grace period."""
    ready(lab, "lifecycle-demo")
    assert exec_in(lab, "lifecycle-demo", "cat", "/usr/share/message") == (
        "Hello from the postStart handler\n")
    kubectl(lab, "delete", "pod", "lifecycle-demo", "--timeout=25s")


def test_init_container_fills_the_volume(lab: Lab) -> None:
    """pods/init-containers.yaml@5712187, page configure-pod-initialization: the init
    container fetched a page into the shared volume before the server started, and the server
    serves it."""
    ready(lab, "init-demo")
    init = pod(lab, "init-demo")["status"]["initContainerStatuses"][0]
    assert init["state"]["terminated"]["reason"] == "Completed"
    assert exec_in(lab, "init-demo", "wget", "-qO-", "localhost", container="nginx") == "{}"
