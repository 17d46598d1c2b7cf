"""APIService validation, as kube-aggregator's `ValidateAPIService`.

The name must be `<version>.<group>`; only `v1` may have an empty group (the legacy core
group); the group is a DNS-1123 subdomain and the version a DNS-1035 label;
`groupPriorityMinimum` is in 1..20000 and `versionPriority` in 1..1000. A local APIService
(no `service`: served by this API server itself) may have neither `caBundle` nor
`insecureSkipTLSVerify`; a service-backed one needs the service's namespace and name, a
valid port, and not both `insecureSkipTLSVerify` and a `caBundle`.
"""

from __future__ import annotations

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.kube.objects import Object


def validate_apiservice(errors: FieldErrors, obj: Object) -> None:
    spec = obj.get("spec") or {}
    group, version = str(spec.get("group") or ""), str(spec.get("version") or "")
    required = f"{version}.{group}"
    name = (obj.get("metadata") or {}).get("name")
    if name and name != required:
        errors.invalid("metadata.name", name,
                       f'must be `spec.version+"."+spec.group`: "{required}"')
    if not group and version != "v1":
        errors.required("spec.group",
                        "only v1 may have an empty group and it better be legacy kube")
    if group:
        errors.dns1123_subdomain("spec.group", group)
    errors.dns1035_label("spec.version", version)
    minimum = spec.get("groupPriorityMinimum") or 0
    if not isinstance(minimum, int) or not 0 < minimum <= 20000:
        errors.invalid("spec.groupPriorityMinimum", minimum,
                       "must be positive and less than 20000")
    priority = spec.get("versionPriority") or 0
    if not isinstance(priority, int) or not 0 < priority <= 1000:
        errors.invalid("spec.versionPriority", priority, "must be positive and less than 1000")
    service = spec.get("service")
    ca_bundle, insecure = spec.get("caBundle") or "", bool(spec.get("insecureSkipTLSVerify"))
    if service is None:
        if ca_bundle:
            errors.invalid("spec.caBundle", f"{len(ca_bundle) * 3 // 4} bytes",
                           "local APIServices may not have a caBundle")
        if insecure:
            errors.invalid("spec.insecureSkipTLSVerify", insecure,
                           "local APIServices may not have insecureSkipTLSVerify")
        return
    if not service.get("namespace"):
        errors.required("spec.service.namespace")
    if not service.get("name"):
        errors.required("spec.service.name")
    port = service.get("port", 443)
    if not isinstance(port, int) or not 0 < port < 65536:
        errors.invalid("spec.service.port", port, "must be between 1 and 65535, inclusive")
    if insecure and ca_bundle:
        errors.invalid("spec.insecureSkipTLSVerify", insecure,
                       "may not be true if caBundle is present")
