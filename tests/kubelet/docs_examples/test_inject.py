"""The docs' "Inject Data Into Applications" and ConfigMap examples on a lab: environment
variables, dependent variables, the downward API (env and volume), ConfigMaps and Secrets as
env and files, projected volumes, command and args (see __init__ for the adaptations).

Every example is applied when the module starts (on the package's lab), so their pods start
together; each test then waits for what its page shows and asserts it.
"""

from __future__ import annotations

import base64
import json

import pytest

from nodelab.lab.lab import Lab
from tests.kubelet.docs_examples.harness import apply, exec_in, finished, logs_showing, ready
from tests.lab.kube import kubectl, kubectl_json

pytestmark = [pytest.mark.slow, pytest.mark.privileged]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def manifests(busybox: str, web: str) -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: envar-demo, labels: {{purpose: demonstrate-envars}}}}
spec:
  containers:
  - name: envar-demo-container
    image: {web}
    env:
    - {{name: DEMO_GREETING, value: "Hello from the environment"}}
    - {{name: DEMO_FAREWELL, value: "Such a sweet sorrow"}}
---
apiVersion: v1
kind: Pod
metadata: {{name: dependent-envars-demo}}
spec:
  containers:
  - name: dependent-envars-demo
    command: [sh, -c]
    args:
    - >-
      while true; do echo -en '\\n'; printenv SERVICE_ADDRESS UNCHANGED_REFERENCE
      ESCAPED_REFERENCE; sleep 30; done;
    image: {busybox}
    env:
    - {{name: SERVICE_PORT, value: "80"}}
    - {{name: SERVICE_IP, value: "172.17.0.1"}}
    - {{name: UNCHANGED_REFERENCE, value: "$(PROTOCOL)://$(SERVICE_IP):$(SERVICE_PORT)"}}
    - {{name: PROTOCOL, value: "https"}}
    - {{name: SERVICE_ADDRESS, value: "$(PROTOCOL)://$(SERVICE_IP):$(SERVICE_PORT)"}}
    - {{name: ESCAPED_REFERENCE, value: "$$(PROTOCOL)://$(SERVICE_IP):$(SERVICE_PORT)"}}
---
apiVersion: v1
kind: Pod
metadata: {{name: dapi-envars-fieldref}}
spec:
  restartPolicy: Never
  containers:
  - name: test-container
    image: {busybox}
    command: [sh, -c]
    args:
    - >-
      while true; do echo -en '\\n'; printenv MY_NODE_NAME MY_POD_NAME MY_POD_NAMESPACE;
      printenv MY_POD_IP MY_POD_SERVICE_ACCOUNT; sleep 10; done;
    env:
    - {{name: MY_NODE_NAME, valueFrom: {{fieldRef: {{fieldPath: spec.nodeName}}}}}}
    - {{name: MY_POD_NAME, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}
    - {{name: MY_POD_NAMESPACE, valueFrom: {{fieldRef: {{fieldPath: metadata.namespace}}}}}}
    - {{name: MY_POD_IP, valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}}}
    - name: MY_POD_SERVICE_ACCOUNT
      valueFrom: {{fieldRef: {{fieldPath: spec.serviceAccountName}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: dapi-envars-resourcefieldref}}
spec:
  restartPolicy: Never
  containers:
  - name: test-container
    image: {busybox}
    command: [sh, -c]
    args:
    - >-
      while true; do echo -en '\\n'; printenv MY_CPU_REQUEST MY_CPU_LIMIT;
      printenv MY_MEM_REQUEST MY_MEM_LIMIT; sleep 10; done;
    resources:
      requests: {{memory: 32Mi, cpu: 125m}}
      limits: {{memory: 64Mi, cpu: 250m}}
    env:
    - name: MY_CPU_REQUEST
      valueFrom: {{resourceFieldRef: {{containerName: test-container, resource: requests.cpu}}}}
    - name: MY_CPU_LIMIT
      valueFrom: {{resourceFieldRef: {{containerName: test-container, resource: limits.cpu}}}}
    - name: MY_MEM_REQUEST
      valueFrom: {{resourceFieldRef: {{containerName: test-container, resource: requests.memory}}}}
    - name: MY_MEM_LIMIT
      valueFrom: {{resourceFieldRef: {{containerName: test-container, resource: limits.memory}}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: kubernetes-downwardapi-volume-example
  labels: {{zone: us-est-coast, cluster: test-cluster1, rack: rack-22}}
  annotations: {{build: two, builder: john-doe}}
spec:
  containers:
  - name: client-container
    image: {busybox}
    command: [sh, -c]
    args:
    - >-
      while true; do if [[ -e /etc/podinfo/labels ]]; then echo -en '\\n\\n';
      cat /etc/podinfo/labels; fi; if [[ -e /etc/podinfo/annotations ]]; then
      echo -en '\\n\\n'; cat /etc/podinfo/annotations; fi; sleep 5; done;
    volumeMounts: [{{name: podinfo, mountPath: /etc/podinfo}}]
  volumes:
  - name: podinfo
    downwardAPI:
      items:
      - {{path: labels, fieldRef: {{fieldPath: metadata.labels}}}}
      - {{path: annotations, fieldRef: {{fieldPath: metadata.annotations}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: kubernetes-downwardapi-volume-example-2}}
spec:
  containers:
  - name: client-container
    image: {busybox}
    command: [sh, -c, "sleep 3600"]
    resources:
      requests: {{memory: 32Mi, cpu: 125m}}
      limits: {{memory: 64Mi, cpu: 250m}}
    volumeMounts: [{{name: podinfo, mountPath: /etc/podinfo}}]
  volumes:
  - name: podinfo
    downwardAPI:
      items:
      - path: cpu_limit
        resourceFieldRef: {{containerName: client-container, resource: limits.cpu, divisor: 1m}}
      - path: cpu_request
        resourceFieldRef: {{containerName: client-container, resource: requests.cpu, divisor: 1m}}
      - path: mem_limit
        resourceFieldRef:
          {{containerName: client-container, resource: limits.memory, divisor: 1Mi}}
      - path: mem_request
        resourceFieldRef:
          {{containerName: client-container, resource: requests.memory, divisor: 1Mi}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: special-config}}
data: {{special.how: very}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: env-config}}
data: {{log_level: INFO}}
---
apiVersion: v1
kind: Pod
metadata: {{name: dapi-test-pod}}
spec:
  restartPolicy: Never
  containers:
  - name: test-container
    image: {busybox}
    command: [/bin/sh, -c, env]
    env:
    - name: SPECIAL_LEVEL_KEY
      valueFrom: {{configMapKeyRef: {{name: special-config, key: special.how}}}}
    - name: LOG_LEVEL
      valueFrom: {{configMapKeyRef: {{name: env-config, key: log_level}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: multikeys}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: special-config, namespace: multikeys}}
data: {{SPECIAL_LEVEL: very, SPECIAL_TYPE: charm}}
---
apiVersion: v1
kind: Pod
metadata: {{name: dapi-test-pod-envfrom, namespace: multikeys}}
spec:
  restartPolicy: Never
  containers:
  - name: test-container
    image: {busybox}
    command: [/bin/sh, -c, env]
    envFrom: [{{configMapRef: {{name: special-config}}}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: dapi-test-pod-command, namespace: multikeys}}
spec:
  restartPolicy: Never
  containers:
  - name: test-container
    image: {busybox}
    command: [/bin/echo, "$(SPECIAL_LEVEL_KEY) $(SPECIAL_TYPE_KEY)"]
    env:
    - name: SPECIAL_LEVEL_KEY
      valueFrom: {{configMapKeyRef: {{name: special-config, key: SPECIAL_LEVEL}}}}
    - name: SPECIAL_TYPE_KEY
      valueFrom: {{configMapKeyRef: {{name: special-config, key: SPECIAL_TYPE}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: dapi-test-pod-volume, namespace: multikeys}}
spec:
  restartPolicy: Never
  containers:
  - name: test-container
    image: {busybox}
    command: [/bin/sh, -c, "ls /etc/config/"]
    volumeMounts: [{{name: config-volume, mountPath: /etc/config}}]
  volumes:
  - {{name: config-volume, configMap: {{name: special-config}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: dapi-test-pod-key, namespace: multikeys}}
spec:
  restartPolicy: Never
  containers:
  - name: test-container
    image: {busybox}
    command: [/bin/sh, -c, "cat /etc/config/keys"]
    volumeMounts: [{{name: config-volume, mountPath: /etc/config}}]
  volumes:
  - name: config-volume
    configMap:
      name: special-config
      items: [{{key: SPECIAL_LEVEL, path: keys}}]
---
apiVersion: v1
kind: Secret
metadata: {{name: test-secret}}
data: {{username: {b64("my-app")}, password: {b64("39528$vdg7Jb")}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: secret-test-pod}}
spec:
  containers:
  - name: test-container
    image: {web}
    volumeMounts: [{{name: secret-volume, mountPath: /etc/secret-volume, readOnly: true}}]
  volumes:
  - {{name: secret-volume, secret: {{secretName: test-secret}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: secret-envars-test-pod}}
spec:
  containers:
  - name: envars-test-container
    image: {web}
    env:
    - name: SECRET_USERNAME
      valueFrom: {{secretKeyRef: {{name: test-secret, key: username}}}}
    - name: SECRET_PASSWORD
      valueFrom: {{secretKeyRef: {{name: test-secret, key: password}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: envfrom-secret}}
spec:
  containers:
  - name: envars-test-container
    image: {web}
    envFrom: [{{secretRef: {{name: test-secret}}}}]
---
apiVersion: v1
kind: Secret
metadata: {{name: user}}
data: {{username.txt: {b64("admin")}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: pass}}
data: {{password.txt: {b64("1f2d1e2e67df")}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: test-projected-volume}}
spec:
  containers:
  - args: [sleep, "86400"]
    image: {busybox}
    name: test-projected-volume
    volumeMounts: [{{mountPath: /projected-volume, name: all-in-one, readOnly: true}}]
  volumes:
  - name: all-in-one
    projected:
      sources:
      - secret: {{name: user}}
      - secret: {{name: pass}}
---
apiVersion: v1
kind: Secret
metadata: {{name: mysecret}}
stringData: {{username: admin}}
---
apiVersion: v1
kind: Secret
metadata: {{name: mysecret2}}
stringData: {{password: 1f2d1e2e67df}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: myconfigmap}}
data: {{config: "debug=true"}}
---
apiVersion: v1
kind: Pod
metadata: {{name: volume-test, labels: {{app: volume-test}}}}
spec:
  containers:
  - command: [sleep, "3600"]
    image: {busybox}
    name: container-test
    resources: {{limits: {{cpu: 500m}}}}
    volumeMounts: [{{mountPath: /projected-volume, name: all-in-one, readOnly: true}}]
  volumes:
  - name: all-in-one
    projected:
      sources:
      - secret:
          items: [{{key: username, path: my-group/my-username}}]
          name: mysecret
      - downwardAPI:
          items:
          - {{fieldRef: {{fieldPath: metadata.labels}}, path: labels}}
          - path: cpu_limit
            resourceFieldRef: {{containerName: container-test, resource: limits.cpu}}
      - configMap:
          items: [{{key: config, path: my-group/my-config}}]
          name: myconfigmap
---
apiVersion: v1
kind: Pod
metadata: {{name: volume-test-mode}}
spec:
  containers:
  - command: [sleep, "3600"]
    image: {busybox}
    name: container-test
    volumeMounts: [{{mountPath: /projected-volume, name: all-in-one, readOnly: true}}]
  volumes:
  - name: all-in-one
    projected:
      sources:
      - secret:
          items: [{{key: username, path: my-group/my-username}}]
          name: mysecret
      - secret:
          items: [{{key: password, mode: 511, path: my-group/my-password}}]
          name: mysecret2
---
apiVersion: v1
kind: Pod
metadata: {{name: sa-token-test}}
spec:
  containers:
  - command: [sleep, "3600"]
    image: {busybox}
    name: container-test
    volumeMounts: [{{mountPath: /service-account, name: token-vol, readOnly: true}}]
  serviceAccountName: default
  volumes:
  - name: token-vol
    projected:
      sources:
      - serviceAccountToken: {{audience: api, expirationSeconds: 3600, path: token}}
---
apiVersion: v1
kind: Pod
metadata: {{name: command-demo, labels: {{purpose: demonstrate-command}}}}
spec:
  containers:
  - name: command-demo-container
    image: {busybox}
    command: [printenv]
    args: [HOSTNAME, KUBERNETES_PORT]
  restartPolicy: OnFailure
"""


@pytest.fixture(scope="module")
def lab(docs_lab: Lab) -> Lab:
    """The package's lab, with this module's examples applied."""
    apply(docs_lab, manifests(docs_lab.images.ref("busybox"), docs_lab.images.ref("web")))
    return docs_lab


def test_envars(lab: Lab) -> None:
    """pods/inject/envars.yaml@7a090ad7, page tasks/inject-data-application/
    define-environment-variable-container: `kubectl exec envar-demo -- printenv` lists
    DEMO_GREETING and DEMO_FAREWELL with the manifest's values."""
    ready(lab, "envar-demo")
    env = exec_in(lab, "envar-demo", "printenv")
    assert "DEMO_GREETING=Hello from the environment\n" in env
    assert "DEMO_FAREWELL=Such a sweet sorrow\n" in env


def test_dependent_envars(lab: Lab) -> None:
    """pods/inject/dependent-envars.yaml@1beb32de, page define-interdependent-environment-
    variables: SERVICE_ADDRESS resolves, UNCHANGED_REFERENCE keeps `$(PROTOCOL)` (defined
    after it), ESCAPED_REFERENCE keeps the escaped `$(PROTOCOL)`. (Upstream's script prints
    a misspelt UNCHANGE_REFERENCE; the printenv here names the variable the page shows.)"""
    logs = logs_showing(lab, "dependent-envars-demo", "$(PROTOCOL)://172.17.0.1:80\n$(")
    assert logs.split() == ["https://172.17.0.1:80", "$(PROTOCOL)://172.17.0.1:80",
                            "$(PROTOCOL)://172.17.0.1:80"]


def test_downward_api_env_from_pod_fields(lab: Lab) -> None:
    """pods/inject/dapi-envars-pod.yaml@81dca134, page environment-variable-expose-pod-
    information: the logs show the node's name, the pod's name, namespace, IP and service
    account."""
    logs = logs_showing(lab, "dapi-envars-fieldref", "default")
    pod = kubectl_json(lab, "get", "pod", "dapi-envars-fieldref")
    assert logs.split()[:5] == [pod["spec"]["nodeName"], "dapi-envars-fieldref", "default",
                                pod["status"]["podIP"], "default"]


def test_downward_api_env_from_container_resources(lab: Lab) -> None:
    """pods/inject/dapi-envars-container.yaml@6ef03d7b, same page: requests.cpu 125m and
    limits.cpu 250m print as 1 (the default divisor 1 rounds up), the memory values in
    bytes: 1 1 33554432 67108864."""
    logs = logs_showing(lab, "dapi-envars-resourcefieldref", "67108864")
    assert logs.split()[:4] == ["1", "1", "33554432", "67108864"]


def test_downward_api_volume_labels_and_annotations(lab: Lab) -> None:
    """pods/inject/dapi-volume.yaml@81dca134, page downward-api-volume-expose-pod-information:
    /etc/podinfo/labels and /annotations hold `key="value"` lines; the files are symlinks
    into `..data`, and a label added later reaches the file."""
    logs = logs_showing(lab, "kubernetes-downwardapi-volume-example", "builder=")
    assert 'cluster="test-cluster1"\nrack="rack-22"\nzone="us-est-coast"\n' in logs
    annotations = exec_in(lab, "kubernetes-downwardapi-volume-example", "cat",
                          "/etc/podinfo/annotations").splitlines()
    assert 'build="two"' in annotations and 'builder="john-doe"' in annotations
    listing = exec_in(lab, "kubernetes-downwardapi-volume-example", "ls", "-la",
                      "/etc/podinfo")
    assert "labels -> ..data/labels" in listing and "..data -> " in listing
    kubectl(lab, "label", "pod", "kubernetes-downwardapi-volume-example", "extra=yes")
    logs_showing(lab, "kubernetes-downwardapi-volume-example", 'extra="yes"', timeout=150)


def test_downward_api_volume_container_resources(lab: Lab) -> None:
    """pods/inject/dapi-volume-resources.yaml@7a090ad7, same page: with divisors 1m and 1Mi
    the files hold 250, 125, 64 and 32."""
    ready(lab, "kubernetes-downwardapi-volume-example-2")
    values = exec_in(lab, "kubernetes-downwardapi-volume-example-2", "sh", "-c",
                     "cd /etc/podinfo; for f in cpu_limit cpu_request mem_limit mem_request;"
                     " do cat $f; echo; done")
    assert values.split() == ["250", "125", "64", "32"]


def test_config_map_values_as_environment(lab: Lab) -> None:
    """pods/pod-multiple-configmap-env-variable.yaml@7a090ad7 (which holds
    pod-single-configmap-env-variable.yaml@5712187 too), page configure-pod-configmap:
    `env` shows SPECIAL_LEVEL_KEY=very and LOG_LEVEL=INFO."""
    env = finished(lab, "dapi-test-pod").splitlines()
    assert "SPECIAL_LEVEL_KEY=very" in env and "LOG_LEVEL=INFO" in env


def test_config_map_envfrom_command_and_volumes(lab: Lab) -> None:
    """pods/pod-configmap-envFrom.yaml@00501bc5, pods/pod-configmap-env-var-valueFrom.yaml@
    81dca134, pods/pod-configmap-volume.yaml@6ef03d7b, pods/pod-configmap-volume-specific-key.
    yaml@7a090ad7 with the page's configmap-multikeys: SPECIAL_LEVEL=very SPECIAL_TYPE=charm
    in the environment, `very charm` echoed, the volume lists SPECIAL_LEVEL and SPECIAL_TYPE,
    and the item `keys` holds `very`."""
    env = finished_in(lab, "dapi-test-pod-envfrom").splitlines()
    assert "SPECIAL_LEVEL=very" in env and "SPECIAL_TYPE=charm" in env
    assert finished_in(lab, "dapi-test-pod-command") == "very charm\n"
    assert finished_in(lab, "dapi-test-pod-volume").split() == ["SPECIAL_LEVEL", "SPECIAL_TYPE"]
    assert finished_in(lab, "dapi-test-pod-key") == "very"


def finished_in(lab: Lab, pod: str) -> str:
    return finished(lab, pod, namespace="multikeys")


def test_secret_as_files_and_environment(lab: Lab) -> None:
    """pods/inject/secret-pod.yaml@7a090ad7, secret-envars-pod.yaml@7a090ad7 and
    pod-secret-envFrom.yaml@7a090ad7 with secret.yaml@5712187, page distribute-credentials-
    secure: the volume holds `password` and `username` (my-app, 39528$vdg7Jb), and both reach
    the environment, by key and by envFrom."""
    ready(lab, "secret-test-pod")
    assert exec_in(lab, "secret-test-pod", "ls", "/etc/secret-volume").split() == [
        "password", "username"]
    assert exec_in(lab, "secret-test-pod", "cat", "/etc/secret-volume/username") == "my-app"
    assert exec_in(lab, "secret-test-pod", "cat",
                   "/etc/secret-volume/password") == "39528$vdg7Jb"
    ready(lab, "secret-envars-test-pod")
    assert exec_in(lab, "secret-envars-test-pod", "/bin/sh", "-c",
                   "echo $SECRET_USERNAME $SECRET_PASSWORD") == "my-app 39528$vdg7Jb\n"
    ready(lab, "envfrom-secret")
    assert exec_in(lab, "envfrom-secret", "/bin/sh", "-c",
                   'echo "username: $username password: $password"') == (
        "username: my-app password: 39528$vdg7Jb\n")


def test_projected_secrets(lab: Lab) -> None:
    """pods/storage/projected.yaml@273b8030, page configure-projected-volume-storage:
    `ls /projected-volume/` shows password.txt and username.txt."""
    ready(lab, "test-projected-volume")
    assert exec_in(lab, "test-projected-volume", "ls", "/projected-volume/").split() == [
        "password.txt", "username.txt"]
    assert exec_in(lab, "test-projected-volume", "cat",
                   "/projected-volume/username.txt") == "admin"


def test_command_and_args(lab: Lab) -> None:
    """pods/commands.yaml@6ef03d7b, page define-command-argument-container: the logs show
    the pod's hostname and KUBERNETES_PORT (tcp://<the kubernetes Service's IP>:443)."""
    service_ip = kubectl_json(lab, "get", "service", "kubernetes")["spec"]["clusterIP"]
    assert finished(lab, "command-demo") == f"command-demo\ntcp://{service_ip}:443\n"


def test_projected_secret_downward_api_and_config_map(lab: Lab) -> None:
    """pods/storage/projected-secret-downwardapi-configmap.yaml@273b8030 and
    projected-secrets-nondefault-permission-mode.yaml@018c6fb1, page concepts/storage/
    projected-volumes (data and a cpu limit of our own): one directory holds the secret's and
    the ConfigMap's items under my-group/, the labels and the cpu limit (500m, divisor 1:
    1); an item's `mode: 511` makes that file 0777, the others keep 0644."""
    ready(lab, "volume-test")
    files = exec_in(lab, "volume-test", "sh", "-c", "cd /projected-volume; for f in "
                    "my-group/my-username my-group/my-config labels cpu_limit; do cat $f; "
                    "echo; done")
    assert files.splitlines() == ["admin", "debug=true", 'app="volume-test"', "1"]
    ready(lab, "volume-test-mode")
    modes = exec_in(lab, "volume-test-mode", "stat", "-L", "-c", "%a %n",
                    "/projected-volume/my-group/my-username",
                    "/projected-volume/my-group/my-password")
    assert modes.splitlines() == ["644 /projected-volume/my-group/my-username",
                                  "777 /projected-volume/my-group/my-password"]


def test_projected_service_account_token(lab: Lab) -> None:
    """pods/storage/projected-service-account-token.yaml@273b8030, same page: the token at
    /service-account/token is for audience `api` and lives 3600 s."""
    ready(lab, "sa-token-test")
    token = exec_in(lab, "sa-token-test", "cat", "/service-account/token")
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["aud"] == ["api"] and claims["exp"] - claims["iat"] == 3600
    assert claims["sub"] == "system:serviceaccount:default:default"
    assert claims["kubernetes.io"]["pod"]["name"] == "sa-token-test"
