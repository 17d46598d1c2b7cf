"""Ingress and IngressClass validation (networking.k8s.io/v1), as upstream's
pkg/apis/networking/validation: an Ingress needs rules or a default backend; hosts are DNS
names (a leading `*.` wildcard allowed), never IP addresses; each HTTP path has a pathType
(Exact and Prefix paths are absolute and clean) and one backend, a Service (name and port
name or number) or a resource; TLS hosts and secret names are DNS subdomains; the class
annotation must agree with `ingressClassName`. An IngressClass names its controller as a
domain-prefixed path (immutable) and its parameters by kind, name and scope.
"""

from __future__ import annotations

import re
from typing import Any

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.kube.addresses import VALID_IP, parse_ip
from nodelab.kube.objects import Object

CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
INVALID_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
INVALID_SUFFIXES = ("/..", "/.")
_WILDCARD = re.compile(r"^\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
WILDCARD_MSG = ("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS "
                "subdomain, which must consist of lower case alphanumeric characters, '-' or '.' "
                "and end with an alphanumeric character (e.g. '*.example.com', regex used for "
                r"validation is '\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?"
                r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
_HTTP_PATH = re.compile(r"^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$")
CONTROLLER_MAX = 250
SCOPES = ("Cluster", "Namespace")


def _sloppy_ip(text: str) -> bool:
    """Go's ParseIPSloppy: an IP address, IPv4 parts with leading zeros too."""
    if parse_ip(text) is not None:
        return True
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


def _host(errors: FieldErrors, path: str, host: str) -> bool:
    """A rule's or a TLS entry's host; True when it is a wildcard."""
    if "*" in host:
        if len(host) > 253:
            errors.invalid(path, host, "must be no more than 253 characters")
        elif not _WILDCARD.match(host):
            errors.invalid(path, host, WILDCARD_MSG)
        return True
    errors.dns1123_subdomain(path, host)
    return False


def _backend(errors: FieldErrors, path: str, backend: Any) -> None:
    backend = backend if isinstance(backend, dict) else {}
    resource, service = backend.get("resource"), backend.get("service")
    if resource is not None and service is not None:
        errors.invalid(path, "", "cannot set both resource and service backends")
    elif resource is not None:
        _typed_reference(errors, f"{path}.resource", resource)
    elif service is not None:
        service = service if isinstance(service, dict) else {}
        name = service.get("name") or ""
        if not name:
            errors.required(f"{path}.service.name")
        else:
            errors.dns1035_label(f"{path}.service.name", name)
        port = service.get("port")
        port = port if isinstance(port, dict) else {}
        port_name, number = port.get("name") or "", port.get("number") or 0
        if port_name and number:
            errors.invalid(path, "", "cannot set both port name & port number")
        elif port_name:
            errors.port_name(f"{path}.service.port.name", port_name)
        elif number:
            errors.port(f"{path}.service.port.number", number)
        else:
            errors.required(path, "port name or number is required")
    else:
        errors.invalid(path, "", "resource or service backend is required")


def _reference_names(errors: FieldErrors, path: str, reference: Object) -> None:
    group = reference.get("apiGroup")
    if group is not None:
        errors.dns1123_subdomain(f"{path}.apiGroup", group)
    for key in ("kind", "name"):
        value = reference.get(key) or ""
        if not value:
            errors.required(f"{path}.{key}")
        else:
            errors.path_segment_name(f"{path}.{key}", value)


def _typed_reference(errors: FieldErrors, path: str, reference: Any) -> None:
    _reference_names(errors, path, reference if isinstance(reference, dict) else {})


def _http_path(errors: FieldErrors, path: str, entry: Any) -> None:
    entry = entry if isinstance(entry, dict) else {}
    kind, text = entry.get("pathType"), str(entry.get("path") or "")
    if kind is None:
        errors.required(f"{path}.pathType", "pathType must be specified")
        return
    if kind in ("Exact", "Prefix"):
        if not text.startswith("/"):
            errors.invalid(f"{path}.path", text, "must be an absolute path")
        for sequence in INVALID_SEQUENCES if text else ():
            if sequence in text:
                errors.invalid(f"{path}.path", text, f"must not contain '{sequence}'")
        for suffix in INVALID_SUFFIXES if text else ():
            if text.endswith(suffix):
                errors.invalid(f"{path}.path", text, f"cannot end with '{suffix}'")
    elif kind == "ImplementationSpecific":
        if text and not text.startswith("/"):
            errors.invalid(f"{path}.path", text, "must be an absolute path")
    else:
        errors.unsupported(f"{path}.pathType", kind, list(PATH_TYPES))
    _backend(errors, f"{path}.backend", entry.get("backend"))


def _rules(errors: FieldErrors, rules: list[Any]) -> None:
    for i, rule in enumerate(rules):
        rule = rule if isinstance(rule, dict) else {}
        where = f"spec.rules[{i}]"
        host = rule.get("host") or ""
        if host and _sloppy_ip(host):
            errors.invalid(f"{where}.host", host, "must be a DNS name, not an IP address")
        if host:
            _host(errors, f"{where}.host", host)
        http = rule.get("http")
        if http is not None:
            paths = (http if isinstance(http, dict) else {}).get("paths") or []
            if not paths:
                errors.required(f"{where}.http.paths")
            for j, entry in enumerate(paths):
                _http_path(errors, f"{where}.http.paths[{j}]", entry)


def _spec(errors: FieldErrors, spec: Object) -> None:
    rules = spec.get("rules") or []
    default = spec.get("defaultBackend")
    if not rules and default is None:
        errors.invalid("spec", rules or None, "either `defaultBackend` or `rules` must be "
                       "specified")
    if default is not None:
        _backend(errors, "spec.defaultBackend", default)
    _rules(errors, rules)
    for i, tls in enumerate(spec.get("tls") or []):
        tls = tls if isinstance(tls, dict) else {}
        for j, host in enumerate(tls.get("hosts") or []):
            _host(errors, f"spec.tls[{i}].hosts[{j}]", str(host))
        if tls.get("secretName"):
            errors.dns1123_subdomain(f"spec.tls[{i}].secretName", tls["secretName"])
    if spec.get("ingressClassName") is not None:
        errors.dns1123_subdomain("spec.ingressClassName", spec["ingressClassName"])


def _spec_of(obj: Object) -> Object:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _load_balancer(errors: FieldErrors, status: Object, old_status: Object) -> None:
    old_ips = {str(e.get("ip")) for e in (old_status.get("loadBalancer") or {}).get(
        "ingress") or [] if isinstance(e, dict) and e.get("ip")}
    for i, entry in enumerate((status.get("loadBalancer") or {}).get("ingress") or []):
        entry = entry if isinstance(entry, dict) else {}
        where = f"status.loadBalancer.ingress[{i}]"
        ip, hostname = entry.get("ip") or "", entry.get("hostname") or ""
        if ip and ip not in old_ips and not _sloppy_ip(str(ip)):
            errors.invalid(f"{where}.ip", ip, VALID_IP)
        if hostname:
            errors.dns1123_subdomain(f"{where}.hostname", hostname)
            if _sloppy_ip(str(hostname)):
                errors.invalid(f"{where}.hostname", hostname,
                               "must be a DNS name, not an IP address")


def validate_ingress(errors: FieldErrors, obj: Object) -> None:
    spec = _spec_of(obj)
    _spec(errors, spec)
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    annotated, named = annotations.get(CLASS_ANNOTATION), spec.get("ingressClassName")
    if annotated is not None and named is not None and annotated != named:
        errors.invalid(f"annotations.{CLASS_ANNOTATION}", annotated,
                       "must match `ingressClassName` when both are specified")


def validate_ingress_update(errors: FieldErrors, obj: Object, old: Object) -> None:
    """An update (upstream's ValidateIngressUpdate) and the status a controller writes
    (ValidateIngressStatusUpdate: load balancer IPs and hostnames)."""
    spec = _spec_of(obj)
    _spec(errors, spec)
    _load_balancer(errors, obj.get("status") or {}, old.get("status") or {})


def _parameters(errors: FieldErrors, parameters: Any) -> None:
    if parameters is None:
        return
    parameters = parameters if isinstance(parameters, dict) else {}
    path = "spec.parameters"
    _reference_names(errors, path, parameters)
    scope = parameters.get("scope")
    if scope is None:
        errors.required(f"{path}.scope")
        return
    if scope not in SCOPES:
        errors.unsupported(f"{path}.scope", scope, list(SCOPES))
        return
    namespace = parameters.get("namespace")
    if scope == "Namespace":
        if namespace is None:
            errors.required(f"{path}.namespace", "`parameters.scope` is set to 'Namespace'")
        else:
            errors.dns1123_label(f"{path}.namespace", namespace)
    elif namespace is not None:
        errors.forbidden(f"{path}.namespace", "`parameters.scope` is set to 'Cluster'")


def validate_ingressclass(errors: FieldErrors, obj: Object, old: Object | None) -> None:
    spec = _spec_of(obj)
    controller = str(spec.get("controller") or "")
    if old is not None and controller != str((old.get("spec") or {}).get("controller") or ""):
        errors.invalid("spec.controller", controller, "field is immutable")
    if not controller:
        errors.required("spec.controller")
    else:
        if len(controller) > CONTROLLER_MAX:
            errors.too_long("spec.controller", CONTROLLER_MAX)
        domain, _, rest = controller.partition("/")
        if not domain or not rest:
            errors.invalid("spec.controller", controller,
                           'must be a domain-prefixed path (such as "acme.io/foo")')
        else:
            errors.dns1123_subdomain("spec.controller", domain)
            if not _HTTP_PATH.match(rest):
                errors.invalid("spec.controller", rest, "Invalid path (regex used for "
                               r"validation is '[A-Za-z0-9/\-._~%!$&'()*+,;=:]+')")
    _parameters(errors, spec.get("parameters"))
