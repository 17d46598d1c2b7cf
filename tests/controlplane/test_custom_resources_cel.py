"""CEL validation rules (`x-kubernetes-validations`) and `selectableFields` of a CRD on a real
API server process, through real kubectl: the Kubernetes docs' "Validation rules" examples."""

from __future__ import annotations

from tests.controlplane.apiserver import RunningApiServer

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.cel.example.com
spec:
  group: cel.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    selectableFields:
    - jsonPath: .spec.name
    - jsonPath: .spec.replicas
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - rule: "self.minReplicas <= self.replicas"
              message: "replicas should be greater than or equal to minReplicas."
            - rule: "self.replicas <= self.maxReplicas"
              messageExpression: >-
                'replicas of ' + self.name + ' exceed maxReplicas'
              reason: FieldValueForbidden
              fieldPath: .replicas
            properties:
              minReplicas: {type: integer}
              replicas: {type: integer}
              maxReplicas: {type: integer}
              name:
                type: string
                maxLength: 63
                x-kubernetes-validations:
                - rule: "self == oldSelf"
                  message: Value is immutable
"""


def _widget(replicas: int, name: str = "a", widget: str = "w") -> str:
    return (f"apiVersion: cel.example.com/v1\nkind: Widget\nmetadata: {{name: {widget}}}\n"
            f"spec: {{minReplicas: 1, replicas: {replicas}, maxReplicas: 5, name: {name}}}\n")


def test_a_valid_object_passes_and_invalid_ones_get_upstreams_errors(
        server: RunningApiServer) -> None:
    bad = server.kubectl("apply", "-f", "-", input=_widget(0), check=False)
    assert bad.returncode != 0
    assert ('The Widget "w" is invalid: spec: Invalid value: replicas should be greater than '
            "or equal to minReplicas.") in bad.stderr
    too_many = server.kubectl("apply", "-f", "-", input=_widget(9), check=False)
    assert "spec.replicas: Forbidden: replicas of a exceed maxReplicas" in too_many.stderr
    server.kubectl("apply", "-f", "-", input=_widget(3))
    assert server.kubectl_json("get", "widget", "w")["spec"]["replicas"] == 3


def test_a_transition_rule_keeps_a_field_immutable(server: RunningApiServer) -> None:
    server.kubectl("apply", "-f", "-", input=_widget(2, name="first", widget="t"))
    changed = server.kubectl("apply", "-f", "-", input=_widget(2, name="second", widget="t"),
                             check=False)
    assert ('The Widget "t" is invalid: spec.name: Invalid value: "second": Value is '
            "immutable") in changed.stderr
    assert server.kubectl_json("get", "widget", "t")["spec"]["name"] == "first"
    server.kubectl("apply", "-f", "-", input=_widget(4, name="first", widget="t"))


def test_a_rule_that_does_not_compile_refuses_the_crd(server: RunningApiServer) -> None:
    broken = CRD.replace("widgets", "gadgets").replace("widget", "gadget").replace(
        "Widget", "Gadget").replace("self.minReplicas <= self.replicas",
                                    "self.minReplicas <= self.replica")
    result = server.kubectl("apply", "-f", "-", input=broken, check=False)
    assert result.returncode != 0
    assert ("spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations"
            "[0].rule: Invalid value: ") in result.stderr
    assert "compilation failed: ERROR: <input>:1:25: undefined field 'replica'" in result.stderr
    assert server.kubectl("get", "crd", "gadgets.cel.example.com",
                          check=False).returncode != 0


def test_a_rule_past_the_estimated_cost_limit_refuses_the_crd(server: RunningApiServer) -> None:
    """Upstream's estimate when a CRD is written: a pairwise rule over an unbounded list of
    unbounded strings is refused with upstream's texts; bounded, the same rule is accepted."""
    pairs = CRD.replace("widgets", "pairs").replace("widget", "pair").replace(
        "Widget", "Pair").replace(
        "              minReplicas: {type: integer}\n",
        "              minReplicas: {type: integer}\n"
        "              tags:\n"
        "                type: array\n"
        "                items: {type: string}\n"
        "                x-kubernetes-validations:\n"
        "                - rule: \"self.all(a, self.all(b, a == b || !a.contains(b)))\"\n")
    result = server.kubectl("apply", "-f", "-", input=pairs, check=False)
    assert result.returncode != 0
    rule = ("spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[tags]"
            ".x-kubernetes-validations[0].rule")
    hint = ("(try simplifying the rule, or adding maxItems, maxProperties, and maxLength "
            "where arrays, maps, and strings are declared)")
    assert (f"{rule}: Forbidden: estimated rule cost exceeds budget by factor of more than "
            f"100x {hint}") in result.stderr
    assert (f"{rule}: Forbidden: contributed to estimated rule cost total exceeding cost "
            "limit for entire OpenAPIv3 schema") in result.stderr
    assert ("spec.versions[0].schema.openAPIV3Schema: Forbidden: x-kubernetes-validations "
            "estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor "
            f"of more than 100x {hint}") in result.stderr
    bounded = pairs.replace("                type: array\n",
                            "                type: array\n                maxItems: 16\n"
                            ).replace("items: {type: string}",
                                      "items: {type: string, maxLength: 63}")
    server.kubectl("apply", "-f", "-", input=bounded)
    server.kubectl("delete", "crd", "pairs.cel.example.com")


def test_selectable_fields_select_with_kubectl(server: RunningApiServer) -> None:
    server.kubectl("apply", "-f", "-", input=_widget(2, name="left", widget="s1"))
    server.kubectl("apply", "-f", "-", input=_widget(5, name="right", widget="s2"))
    named = server.kubectl("get", "widgets", "--field-selector", "spec.name=left", "-o", "name")
    assert named.stdout.split() == ["widget.cel.example.com/s1"]
    counted = server.kubectl("get", "widgets", "--field-selector",
                             "spec.replicas=5,spec.name!=left", "-o", "name")
    assert counted.stdout.split() == ["widget.cel.example.com/s2"]
    unknown = server.kubectl("get", "widgets", "--field-selector", "spec.minReplicas=1",
                             check=False)
    assert "field label not supported: spec.minReplicas" in unknown.stderr


def test_a_rule_added_later_warns_on_unchanged_values(server: RunningApiServer) -> None:
    """Ratcheting: an object stored before a rule existed can still be updated; the rule's
    failure on the value it did not change is a warning kubectl prints."""
    crd = CRD.replace("widgets", "ratchets").replace("widget", "ratchet").replace(
        "Widget", "Ratchet")
    server.kubectl("apply", "-f", "-", input=crd)
    server.kubectl("wait", "--for", "condition=established", "--timeout=30s",
                   "crd/ratchets.cel.example.com")
    obj = _widget(2, name="x").replace("Widget", "Ratchet").replace("{name: w}", "{name: r}")
    server.kubectl("apply", "-f", "-", input=obj)
    stricter = crd.replace("                - rule: \"self == oldSelf\"",
                           "                - rule: \"self.size() > 3\"\n"
                           "                - rule: \"self == oldSelf\"")
    server.kubectl("apply", "-f", "-", input=stricter)
    updated = server.kubectl("apply", "-f", "-", input=obj.replace("replicas: 2", "replicas: 3"))
    assert ('Warning: spec.name: Invalid value: "x": failed rule: self.size() > 3'
            in updated.stderr)
    assert server.kubectl_json("get", "ratchet", "r")["spec"]["replicas"] == 3
    created = server.kubectl("apply", "-f", "-", input=obj.replace("{name: r}", "{name: r2}"),
                             check=False)
    assert ('spec.name: Invalid value: "x": failed rule: self.size() > 3'
            in created.stderr) and created.returncode != 0


def test_a_schema_tightened_later_keeps_unchanged_values(server: RunningApiServer) -> None:
    """Ratcheting of the schema's own checks: after the CRD bounds `maxReplicas`, an object
    stored with a larger one can still change other fields; changing it to another value
    out of bounds is refused, and so is a new object with one."""
    crd = CRD.replace("widgets", "bounds").replace("widget", "bound").replace(
        "Widget", "Bound")
    server.kubectl("apply", "-f", "-", input=crd)
    server.kubectl("wait", "--for", "condition=established", "--timeout=30s",
                   "crd/bounds.cel.example.com")
    obj = _widget(2).replace("Widget", "Bound").replace("{name: w}", "{name: b}")
    server.kubectl("apply", "-f", "-", input=obj)
    server.kubectl("apply", "-f", "-", input=crd.replace(
        "maxReplicas: {type: integer}", "maxReplicas: {type: integer, maximum: 4}"))
    server.kubectl("apply", "-f", "-", input=obj.replace("replicas: 2,", "replicas: 3,"))
    assert server.kubectl_json("get", "bound", "b")["spec"]["replicas"] == 3
    higher = server.kubectl("apply", "-f", "-", check=False,
                            input=obj.replace("maxReplicas: 5", "maxReplicas: 6"))
    assert higher.returncode != 0
    assert ("spec.maxReplicas: Invalid value: 6: spec.maxReplicas in body should be less "
            "than or equal to 4") in higher.stderr
    created = server.kubectl("apply", "-f", "-", check=False,
                             input=obj.replace("{name: b}", "{name: b2}"))
    assert created.returncode != 0 and "should be less than or equal to 4" in created.stderr
