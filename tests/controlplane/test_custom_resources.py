"""CustomResourceDefinitions and custom resources on a real API server process, with real
kubectl and the official client's CustomObjectsApi: the Kubernetes docs' CronTab task."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from tests.controlplane.apiserver import RunningApiServer

GROUP, CRD_NAME = "stable.example.com", "crontabs.stable.example.com"
# the docs' CronTab CRD with its validation (pattern, minimum/maximum) and printer columns
CRONTAB_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                cronSpec:
                  type: string
                  pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'
                image:
                  type: string
                replicas:
                  type: integer
                  minimum: 1
                  maximum: 10
                  default: 1
            status:
              type: object
              properties:
                replicas: {type: integer}
                labelSelector: {type: string}
      subresources:
        status: {}
        scale:
          specReplicasPath: .spec.replicas
          statusReplicasPath: .status.replicas
          labelSelectorPath: .status.labelSelector
      additionalPrinterColumns:
      - name: Spec
        type: string
        description: The cron spec defining the interval a CronJob is run
        jsonPath: .spec.cronSpec
      - name: Replicas
        type: integer
        description: The number of jobs launched by the CronJob
        jsonPath: .spec.replicas
      - name: Age
        type: date
        jsonPath: .metadata.creationTimestamp
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames:
    - ct
    categories:
    - all
"""
CRONTAB = """
apiVersion: "stable.example.com/v1"
kind: CronTab
metadata:
  name: my-new-cron-object
spec:
  cronSpec: "* * * * */5"
  image: my-awesome-cron-image
"""


CRD = CRONTAB_CRD  # the one the `server` fixture (conftest) applies


@pytest.fixture(scope="module")
def objects(server: RunningApiServer) -> k8s.CustomObjectsApi:
    return k8s.CustomObjectsApi(server.client())


def test_crd_is_established_with_its_names(server: RunningApiServer) -> None:
    crd = server.kubectl_json("get", "crd", CRD_NAME)
    conditions = {c["type"]: (c["status"], c["reason"]) for c in crd["status"]["conditions"]}
    assert conditions == {"NamesAccepted": ("True", "NoConflicts"),
                          "Established": ("True", "InitialNamesAccepted")}
    assert crd["status"]["acceptedNames"]["shortNames"] == ["ct"]
    assert crd["status"]["storedVersions"] == ["v1"]
    assert crd["spec"]["names"]["listKind"] == "CronTabList"
    listed = server.kubectl("get", "crd").stdout.split("\n")
    assert listed[0].split() == ["NAME", "CREATED", "AT"]
    assert listed[1].split() == [CRD_NAME, crd["metadata"]["creationTimestamp"]]


def test_discovery_and_api_resources(server: RunningApiServer) -> None:
    listed = server.kubectl("api-resources", "--api-group", GROUP).stdout.split("\n")
    assert listed[1].split() == ["crontabs", "ct", "stable.example.com/v1", "true", "CronTab"]
    raw = json.loads(server.kubectl("get", "--raw", f"/apis/{GROUP}").stdout)
    assert raw["preferredVersion"] == {"groupVersion": f"{GROUP}/v1", "version": "v1"}
    resources = json.loads(server.kubectl("get", "--raw", f"/apis/{GROUP}/v1").stdout)
    assert [r["name"] for r in resources["resources"]] == [
        "crontabs", "crontabs/status", "crontabs/scale"]
    assert resources["resources"][0]["categories"] == ["all"]


def test_the_docs_crontab_with_printer_columns(server: RunningApiServer) -> None:
    server.kubectl("apply", "-f", "-", input=CRONTAB)
    lines = server.kubectl("get", "ct").stdout.strip().split("\n")
    assert lines[0].split() == ["NAME", "SPEC", "REPLICAS", "AGE"]
    assert lines[1].split()[:7] == ["my-new-cron-object", "*", "*", "*", "*", "*/5", "1"]
    crontab = server.kubectl_json("get", "crontab", "my-new-cron-object")
    assert crontab["spec"]["replicas"] == 1  # the schema's default
    assert crontab["metadata"]["generation"] == 1
    assert "my-new-cron-object" in server.kubectl("get", "all").stdout  # category all


def test_an_invalid_object_is_refused_naming_its_fields(server: RunningApiServer) -> None:
    bad = CRONTAB.replace("my-new-cron-object", "bad").replace(
        '"* * * * */5"', '"* * * *"') + "  replicas: 15\n"
    result = server.kubectl("apply", "-f", "-", input=bad, check=False)
    assert result.returncode != 0
    assert 'The CronTab "bad" is invalid: \n' in result.stderr  # kubectl lists the causes
    assert ('* spec.cronSpec: Invalid value: "* * * *": spec.cronSpec in body should match '
            "'^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'\n") in result.stderr
    assert ("* spec.replicas: Invalid value: 15: spec.replicas in body should be less than or "
            "equal to 10\n") in result.stderr
    wrong_type = server.kubectl("patch", "ct", "my-new-cron-object", "--type=merge", "-p",
                                '{"spec":{"replicas":"two"}}', check=False)
    assert ('spec.replicas: Invalid value: "string": spec.replicas in body must be of type '
            'integer: "string"') in wrong_type.stderr


def test_unknown_fields_are_pruned_or_refused(server: RunningApiServer) -> None:
    extra = CRONTAB.replace("my-new-cron-object", "extra") + "  colour: red\n"
    strict = server.kubectl("create", "-f", "-", input=extra, check=False)
    assert 'strict decoding error: unknown field "spec.colour"' in strict.stderr
    warned = server.kubectl("create", "--validate=warn", "-f", "-", input=extra)
    assert 'unknown field "spec.colour"' in warned.stderr
    assert "colour" not in server.kubectl_json("get", "ct", "extra")["spec"]
    server.kubectl("delete", "ct", "extra")


def test_patches_and_server_side_apply(server: RunningApiServer) -> None:
    server.kubectl("create", "-f", "-", input=CRONTAB.replace("my-new-cron-object", "p"))
    strategic = server.kubectl("patch", "ct", "p", "-p", '{"spec":{"replicas":2}}',
                               check=False)
    assert "application/strategic-merge-patch+json is not supported" in strategic.stderr
    server.kubectl("patch", "ct", "p", "--type=merge", "-p", '{"spec":{"replicas":2}}')
    server.kubectl("patch", "ct", "p", "--type=json", "-p",
                   '[{"op":"replace","path":"/spec/image","value":"other"}]')
    patched = server.kubectl_json("get", "ct", "p")
    assert (patched["spec"]["replicas"], patched["spec"]["image"]) == (2, "other")
    assert patched["metadata"]["generation"] == 3
    applied = CRONTAB.replace("my-new-cron-object", "p").replace("my-awesome-cron-image", "ssa")
    server.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=applied)
    managers = {m["manager"] for m in server.kubectl_json(
        "get", "ct", "p", "--show-managed-fields")["metadata"]["managedFields"]}
    assert "kubectl" in managers
    server.kubectl("scale", "ct", "p", "--replicas=3")  # the scale subresource
    assert server.kubectl_json("get", "ct", "p")["spec"]["replicas"] == 3
    server.kubectl("delete", "ct", "p")


def test_custom_objects_api(objects: k8s.CustomObjectsApi) -> None:
    body: dict[str, Any] = {"apiVersion": f"{GROUP}/v1", "kind": "CronTab",
                            "metadata": {"name": "py", "labels": {"team": "a"}},
                            "spec": {"cronSpec": "1 2 3 4 5"}, "status": {"replicas": 9}}
    created: Any = objects.create_namespaced_custom_object(
        GROUP, "v1", "default", "crontabs", body)
    assert "status" not in created  # only /status writes it
    listed: Any = objects.list_namespaced_custom_object(GROUP, "v1", "default", "crontabs",
                                                   label_selector="team=a")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["py"]
    by_field: Any = objects.list_cluster_custom_object(GROUP, "v1", "crontabs",
                                                  field_selector="metadata.name=py")
    assert [i["metadata"]["name"] for i in by_field["items"]] == ["py"]
    status: Any = objects.patch_namespaced_custom_object_status(
        GROUP, "v1", "default", "crontabs", "py",
        {"status": {"replicas": 3, "labelSelector": "team=a"}, "spec": {"image": "ignored"}})
    assert status["status"]["replicas"] == 3 and "image" not in status["spec"]
    scale: Any = objects.get_namespaced_custom_object_scale(GROUP, "v1", "default", "crontabs",
                                                       "py")
    assert (scale["spec"]["replicas"], scale["status"]["replicas"],
            scale["status"]["selector"]) == (1, 3, "team=a")
    objects.patch_namespaced_custom_object_scale(GROUP, "v1", "default", "crontabs", "py",
                                                 {"spec": {"replicas": 4}})
    scaled: Any = objects.get_namespaced_custom_object(
        GROUP, "v1", "default", "crontabs", "py")
    assert scaled["spec"]["replicas"] == 4
    with pytest.raises(ApiException) as refused:
        objects.patch_namespaced_custom_object_scale(GROUP, "v1", "default", "crontabs", "py",
                                                     {"spec": {"replicas": 11}})
    assert refused.value.status == 422
    assert "spec.replicas" in json.loads(refused.value.body)["message"]
    objects.delete_namespaced_custom_object(GROUP, "v1", "default", "crontabs", "py")
    with pytest.raises(ApiException) as gone:
        objects.get_namespaced_custom_object(GROUP, "v1", "default", "crontabs", "py")
    assert gone.value.status == 404
    assert json.loads(gone.value.body)["message"] == \
        'crontabs.stable.example.com "py" not found'


def test_kubectl_explain_reads_the_published_schema(server: RunningApiServer) -> None:
    explained = server.kubectl("explain", "crontab.spec").stdout
    assert "GROUP:      stable.example.com" in explained
    assert "cronSpec\t<string>" in explained and "replicas\t<integer>" in explained
    assert "NodeName indicates" in server.kubectl("explain", "pod.spec.nodeName").stdout
    v2 = json.loads(server.kubectl("get", "--raw", "/openapi/v2").stdout)
    assert "com.example.stable.v1.CronTab" in v2["definitions"]
    assert "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs" in v2["paths"]


def test_watch(objects: k8s.CustomObjectsApi) -> None:
    listed: Any = objects.list_namespaced_custom_object(GROUP, "v1", "default", "crontabs")
    body = {"apiVersion": f"{GROUP}/v1", "kind": "CronTab", "metadata": {"name": "w"},
            "spec": {"cronSpec": "1 2 3 4 5"}}
    objects.create_namespaced_custom_object(GROUP, "v1", "default", "crontabs", body)
    watcher = watch.Watch()  # type: ignore[no-untyped-call]
    events = watcher.stream(  # type: ignore[no-untyped-call]
        objects.list_namespaced_custom_object, GROUP, "v1", "default", "crontabs",
        timeout_seconds=20, resource_version=listed["metadata"]["resourceVersion"])
    first = next(iter(events))
    assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "w")
    assert first["object"]["apiVersion"] == f"{GROUP}/v1"
    objects.delete_namespaced_custom_object(GROUP, "v1", "default", "crontabs", "w")


CLUSTER_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.tools.example.com}
spec:
  group: tools.example.com
  scope: Cluster
  names: {plural: gadgets, kind: Gadget}
  versions:
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: string, enum: [small, large]}
"""


def test_cluster_scoped_and_two_versions(server: RunningApiServer,
                                         objects: k8s.CustomObjectsApi) -> None:
    server.kubectl("apply", "-f", "-", input=CLUSTER_CRD)
    server.kubectl("wait", "--for", "condition=established", "crd/gadgets.tools.example.com")
    group = json.loads(server.kubectl("get", "--raw", "/apis/tools.example.com").stdout)
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]
    assert group["preferredVersion"]["version"] == "v1"
    for name in ("a", "b"):
        objects.create_cluster_custom_object("tools.example.com", "v1", "gadgets", {
            "apiVersion": "tools.example.com/v1", "kind": "Gadget",
            "metadata": {"name": name, "labels": {"set": "one"}}, "spec": {"size": "small"}})
    old: Any = objects.get_cluster_custom_object("tools.example.com", "v1beta1", "gadgets", "a")
    assert old["apiVersion"] == "tools.example.com/v1beta1"
    assert "namespace" not in old["metadata"]
    listed = server.kubectl_json("get", "gadgets.v1beta1.tools.example.com")
    assert {i["apiVersion"] for i in listed["items"]} == {"tools.example.com/v1beta1"}
    assert server.kubectl("get", "gadgets", "-A").stdout.split("\n")[0].split() == [
        "NAME", "AGE"]
    objects.delete_collection_cluster_custom_object("tools.example.com", "v1", "gadgets",
                                                    label_selector="set=one")
    assert server.kubectl_json("get", "gadgets")["items"] == []
    server.kubectl("delete", "crd", "gadgets.tools.example.com")


# shaped as operators' controller-gen CRDs are: a deprecated older version, a oneOf of
# required fields, a Ready column read from the conditions
OPERATOR_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: backups.backup.example.com
  annotations: {controller-gen.kubebuilder.io/version: v0.16.0}
spec:
  group: backup.example.com
  names: {kind: Backup, listKind: BackupList, plural: backups, singular: backup}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema: &schema
      openAPIV3Schema:
        description: A Backup of a volume.
        type: object
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            required: [source]
            properties:
              source:
                type: object
                oneOf:
                - required: [claimName]
                - required: [snapshotName]
                properties:
                  claimName: {type: string}
                  snapshotName: {type: string}
          status:
            type: object
            properties:
              conditions:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [type]
                items:
                  type: object
                  required: [type, status]
                  properties:
                    type: {type: string}
                    status: {type: string, enum: ["True", "False", "Unknown"]}
  - name: v1beta1
    served: true
    storage: false
    deprecated: true
    deprecationWarning: backup.example.com/v1beta1 Backup is deprecated; use v1
    schema: *schema
"""


def test_an_operator_shaped_crd(server: RunningApiServer,
                                objects: k8s.CustomObjectsApi) -> None:
    server.kubectl("apply", "-f", "-", input=OPERATOR_CRD)
    server.kubectl("wait", "--for", "condition=established", "crd/backups.backup.example.com")
    backup = ("apiVersion: backup.example.com/v1\nkind: Backup\nmetadata: {name: nightly}\n"
              "spec: {source: {claimName: data}}\n")
    server.kubectl("apply", "-f", "-", input=backup)
    both = server.kubectl("apply", "-f", "-", check=False, input=backup.replace(
        "claimName: data", "claimName: data, snapshotName: snap"))
    assert ('spec.source: Invalid value: {"claimName":"data","snapshotName":"snap"}: must '
            "validate one and only one schema (oneOf)") in both.stderr
    objects.patch_namespaced_custom_object_status(
        "backup.example.com", "v1", "default", "backups", "nightly",
        {"status": {"conditions": [{"type": "Progressing", "status": "False"},
                                   {"type": "Ready", "status": "True"}]}})
    assert server.kubectl("get", "backups").stdout.split("\n")[1].split()[:2] == [
        "nightly", "True"]
    old = server.kubectl("get", "backups.v1beta1.backup.example.com", "nightly")
    assert "Warning: backup.example.com/v1beta1 Backup is deprecated; use v1" in old.stderr
    assert "Warning" not in server.kubectl("get", "backups", "nightly").stderr
    server.kubectl("delete", "crd", "backups.backup.example.com")


def test_namespace_deletion_deletes_custom_objects(server: RunningApiServer) -> None:
    server.kubectl("create", "namespace", "tabs")
    server.kubectl("apply", "-n", "tabs", "-f", "-", input=CRONTAB)
    server.kubectl("delete", "namespace", "tabs", "--timeout=60s")
    assert server.kubectl("get", "ns", "tabs", check=False).returncode != 0
    left = server.kubectl_json("get", "ct", "-A")["items"]
    assert all(i["metadata"]["namespace"] != "tabs" for i in left)


def test_unsupported_crd_fields_are_refused(server: RunningApiServer) -> None:
    cel = CRONTAB_CRD.replace("crontabs", "webtabs").replace("crontab", "webtab").replace(
        "CronTab", "WebTab").replace("- ct", "- wt").replace(
        "          type: object\n          properties:",
        "          type: object\n"
        "          x-kubernetes-validations: [{rule: \"isSemver('1.0.0')\"}]\n"
        "          properties:", 1)
    result = server.kubectl("apply", "-f", "-", input=cel, check=False)
    assert ("spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations[0].rule: "
            "Invalid value: ") in result.stderr
    assert ("compilation failed: ERROR: <input>:1:9: undeclared reference to 'isSemver': the "
            "Kubernetes CEL library function isSemver is not supported by nodelab"
            ) in result.stderr
    assert server.kubectl("get", "crd", "webtabs.stable.example.com",
                          check=False).returncode != 0


def test_rbac_on_custom_resources(server: RunningApiServer) -> None:
    server.kubectl("create", "role", "crontab-reader", "--verb=get,list",
                   "--resource=crontabs.stable.example.com")
    server.kubectl("create", "rolebinding", "crontab-reader", "--role=crontab-reader",
                   "--serviceaccount=default:default")
    sa = "--as=system:serviceaccount:default:default"
    assert server.kubectl("auth", "can-i", "list", "crontabs", sa,
                          check=False).stdout.strip() == "yes"
    assert "my-new-cron-object" in server.kubectl("get", "ct", sa).stdout
    denied = server.kubectl("delete", "ct", "my-new-cron-object", sa, check=False)
    assert 'cannot delete resource "crontabs" in API group "stable.example.com"' in \
        denied.stderr


def test_custom_resources_survive_a_restart(server: RunningApiServer) -> None:
    before = server.kubectl_json("get", "ct", "my-new-cron-object")
    server.restart()
    after = server.kubectl_json("get", "ct", "my-new-cron-object")
    assert after["metadata"]["uid"] == before["metadata"]["uid"]


def test_deleting_the_crd_deletes_its_objects(server: RunningApiServer) -> None:
    server.kubectl("delete", "crd", CRD_NAME, "--timeout=60s")
    assert server.kubectl("get", "crd", CRD_NAME, check=False).returncode != 0
    raw = server.kubectl("get", "--raw", f"/apis/{GROUP}/v1/namespaces/default/crontabs",
                         check=False)
    assert raw.returncode != 0 and "NotFound" in raw.stderr
    server.kubectl("apply", "-f", "-", input=CRONTAB_CRD)  # again: nothing of the old left
    server.kubectl("wait", "--for", "condition=established", f"crd/{CRD_NAME}")
    assert server.kubectl_json("get", "ct")["items"] == []
