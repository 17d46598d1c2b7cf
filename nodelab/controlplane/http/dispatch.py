"""From an authenticated request to a response: the API server's handler chain as data.

`Api.handle(request)` returns a `Response`: a JSON object with a status code, a stream of
bytes (watch, logs), or a `Tunnel` (exec/attach/portforward: the connection is handed to the
proxy in `streaming.py`); both are plain data in `messages.py`. The HTTP transport (`server.py`)
only reads requests and writes these.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

import yaml

from nodelab.controlplane import errors
from nodelab.controlplane.apiextensions import CRD_KEY, custom_objects
from nodelab.controlplane.auth.access import (
    Identity,
    authenticate_token,
    authorize,
    authorize_path,
    impersonate,
)
from nodelab.controlplane.auth.tokens import TokenIssuer, openid_configuration
from nodelab.controlplane.http import (
    aggregation,
    discovery,
    health,
    openapi,
    openapi_proto,
    protobuf,
    routing,
    streaming,
    tables,
    watch,
)
from nodelab.controlplane.http.availability import AvailabilityChecker
from nodelab.controlplane.http.messages import Request, Response
from nodelab.controlplane.registry import (
    deletion,
    eviction,
    managedfields,
    rest,
    reviews,
    subresources,
    write_options,
)
from nodelab.controlplane.resources import ResourceType
from nodelab.controlplane.storage.selectors import matcher, parse_fields, parse_labels
from nodelab.kube.objects import Object

CONNECT_SUBRESOURCES = ("exec", "attach", "portforward", "proxy")
log = logging.getLogger("nodelab.controlplane")


PUBLIC = (*health.ENDPOINTS, "/version")


class Api:
    def __init__(self, registry: rest.Registry, issuer: TokenIssuer, address: str) -> None:
        self.registry = registry
        self.issuer = issuer
        self.address = address
        self.admin_token = ""  # the static admin token, for TokenReview (set by the server)
        self.aggregator = AvailabilityChecker(registry)  # its client is set by the server
        self.openapi = openapi.Published()
        self.stopping = threading.Event()
        self.started = threading.Event()  # the post-start hooks (bootstrap) ran once
        self.on_namespace_created: Callable[[str], None] = lambda name: None

    def _authenticate_token(self, token: str, audiences: list[str]
                            ) -> tuple[Identity | None, list[str]]:
        return authenticate_token(token, self.admin_token, self.issuer, self.registry.store,
                                  audiences)

    def handle(self, request: Request) -> Response:
        accept = request.headers.get("accept", "")
        try:
            return protobuf.negotiated(self._handle(request), accept)
        except errors.Panicked as exc:
            log.error("apiserver panic'd serving %s %s: %s", request.method, request.target,
                      exc.why)
            return Response(500, raw=f"{errors.PANIC_TEXT}\n".encode(),
                            content_type="text/plain; charset=utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})
        except errors.ApiError as exc:
            retry_after = int(exc.details.get("retryAfterSeconds") or 0)
            return protobuf.negotiated(Response(
                exc.code, exc.status(),
                headers={"Retry-After": str(retry_after)} if retry_after else {}), accept)
        except Exception as exc:  # noqa: BLE001 - a bug: answer 500 and keep serving
            log.exception("internal error serving %s %s", request.method, request.target)
            error = errors.ApiError(500, "InternalError", f"Internal error occurred: {exc!r}")
            return protobuf.negotiated(Response(500, error.status()), accept)

    def _handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if request.identity is None and path not in PUBLIC:
            raise errors.unauthorized()  # a single check's path (`/readyz/etcd`) is not public
        if request.identity is not None:
            request.identity = impersonate(request.identity, request.headers,
                                           self.registry.store)
            apiservice = aggregation.apiservice_for(self.registry.store, path)
            if apiservice is not None:
                return aggregation.authorize_and_forward(
                    self.registry.store, self.aggregator.client, apiservice, path, request,
                    request.identity)
            if routing.parse(path, self.registry.catalog.lookup) is None and path not in PUBLIC:
                authorize_path(request.identity, routing.path_verb(request.method), path,
                               self.registry.store)
        health_path = health.split(path)
        if health_path is not None:
            return self._health(health_path, request)
        fixed = self._non_resource(path, request)
        if fixed is not None:
            return fixed
        route = routing.parse(path, self.registry.catalog.lookup)
        if route is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested "
                                  "resource", {})
        assert request.identity is not None
        return self._resource(route, request, request.identity)

    def _health(self, health_path: tuple[str, str], request: Request) -> Response:
        """`/healthz`, `/livez`, `/readyz` and their checks (`health.py`)."""
        endpoint, check_path = health_path
        checks = health.checks_for(endpoint, self.registry.store.health_error,
                                   self.started.is_set, self.stopping.is_set)
        found = health.answer(endpoint, check_path, request.query_lists, checks)
        if found is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested "
                                  "resource", {})
        if found.code != 200:
            log.warning("%s check failed: %s", endpoint.lstrip("/"),
                        "; ".join(health.failures(checks)))
        return Response(found.code, raw=found.text.encode(),
                        content_type="text/plain; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})

    def _aggregated_versions(self) -> list[discovery.Aggregated]:
        found = []
        for obj in self.registry.store.select(aggregation.APISERVICES)[0]:
            spec = obj.get("spec") or {}
            if not spec.get("service"):
                continue
            group, version_ = str(spec.get("group", "")), str(spec.get("version", ""))
            found.append(discovery.Aggregated(
                group, version_, int(spec.get("groupPriorityMinimum") or 0),
                int(spec.get("versionPriority") or 0),
                self.aggregator.discovery.get((group, version_))))
        return found

    def _non_resource(self, path: str, request: Request) -> Response | None:
        if path == "/version":
            return Response(200, discovery.version())
        if path == "/.well-known/openid-configuration":
            return Response(200, openid_configuration())
        if path == "/openid/v1/jwks":
            return Response(200, raw=json.dumps(self.issuer.jwks()).encode(),
                            content_type="application/jwk-set+json")
        if path in ("/api", "/apis") and discovery.wants_aggregated(
                request.headers.get("accept", "")):
            catalog = self.registry.catalog
            return Response(200, discovery.aggregated(path == "/api",
                                                      self._aggregated_versions(),
                                                      catalog.served(), catalog.groups()),
                            content_type=discovery.AGGREGATED_V2)
        if path == "/api":
            return Response(200, discovery.api_versions(self.address))
        if path == "/apis":
            return Response(200, discovery.api_groups(self._aggregated_versions(),
                                                      self.registry.catalog.groups()))
        custom = self.registry.catalog.custom()
        mark = self.registry.store.last_write(CRD_KEY)
        if path == "/openapi/v2" and any(t in request.headers.get("accept", "")
                                         for t in openapi_proto.ACCEPTED):
            return Response(200, raw=self.openapi.swagger_protobuf(custom, mark),
                            content_type=openapi_proto.CONTENT_TYPE)
        if path.startswith("/openapi/"):
            document = self.openapi.document(path, custom, mark)
            if document is None:
                raise errors.ApiError(404, "NotFound", f"no OpenAPI document at {path}")
            return Response(200, document)
        parts = [p for p in path.split("/") if p]
        if len(parts) == 2 and parts[0] == "api":
            found = discovery.resource_list("", parts[1])
        elif len(parts) == 2 and parts[0] == "apis":
            found = discovery.api_group(parts[1], self._aggregated_versions(),
                                        self.registry.catalog.groups())
        elif len(parts) == 3 and parts[0] == "apis":
            found = discovery.resource_list(parts[1], parts[2],
                                            self.registry.catalog.served())
        else:
            return None
        if found is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested "
                                  "resource", {})
        return Response(200, found)

    def _body(self, request: Request) -> Object:
        if not request.body:
            return {}
        try:
            content_type = request.headers.get("content-type", "application/json")
            if "protobuf" in content_type:
                return protobuf.decode(request.body)
            if "cbor" in content_type:
                raise errors.ApiError(
                    415, "UnsupportedMediaType",
                    'the body of the request was in an unknown format - accepted media types '
                    'include: application/json, application/yaml')
            if "yaml" in content_type:
                parsed = yaml.safe_load(request.body)
            else:
                parsed = json.loads(request.body)
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(f"error decoding request body: {exc}") from exc
        if not isinstance(parsed, dict):
            raise errors.bad_request("the request body must be an object")
        return parsed

    def _resource(self, route: routing.ResourceRequest, request: Request,
                  identity: Identity) -> Response:
        response = self._serve_resource(route, request, identity)
        warning = route.resource.deprecated or custom_objects.deprecation_warning(route.resource)
        if warning:  # a deprecated API (a built-in one, a custom resource's version): said on
            # every answer
            said = response.headers.get("Warning")
            response.headers["Warning"] = ", ".join(
                [*([said] if said else []), f"299 - {json.dumps(warning)}"])
        return response

    def _serve_resource(self, route: routing.ResourceRequest, request: Request,
                        identity: Identity) -> Response:
        rt, name, sub = route.resource, route.name, route.subresource
        namespace = route.namespace
        query, method = request.query, request.method
        registry = self.registry
        ns = namespace or ""
        verb = routing.request_verb(method, name, query, route.watch_prefix)
        if method in ("POST", "PUT", "PATCH") and not query.get("fieldManager"):
            query["fieldManager"] = managedfields.manager_from_user_agent(
                request.headers.get("user-agent", ""))
        if verb not in rt.verbs and not sub:
            raise errors.method_not_allowed(f"{verb} is not supported on {rt.plural}")
        if sub and sub not in rt.subresources and not (rt.plural == "namespaces"
                                                        and sub == "finalize"):
            raise errors.ApiError(404, "NotFound", f"{rt.plural}/{sub} not found")
        body = self._body(request) if method in ("POST", "PUT", "DELETE") else None
        # Connecting to a pod (exec, attach, port-forward, proxy) is `create` on the
        # subresource, whatever the method: an upgrade is not a read (upstream, 1.30+).
        authorize(identity, "create" if sub in CONNECT_SUBRESOURCES else verb, rt, ns,
                  name or routing.selector_name(verb, query), sub, registry.store, body,
                  node_selector=routing.selector_value(verb, query, "spec.nodeName"))
        if sub not in (*CONNECT_SUBRESOURCES, "log"):  # those are connects, not writes
            write_options.validate(verb, request.query_lists, rest.PATCH_TYPES.get(
                request.headers.get("content-type", "").split(";")[0].strip()) == "apply")
        accept = request.headers.get("accept", "")

        def encode(obj: Object) -> Object:
            if tables.wants_table(accept):
                return tables.table(rt, [obj],
                                    str((obj.get("metadata") or {}).get("resourceVersion", "")),
                                    query.get("includeObject", "Metadata"))
            return obj

        if sub == "proxy":
            return streaming.node_proxy(registry, name, route.proxy_path, request.target,
                                        method, request.body)
        if sub in ("log", "exec", "attach", "portforward"):
            return streaming.respond(registry, sub, ns, name, request.target, request.headers,
                                     request.query_lists, method)
        if sub == "binding":
            return Response(201, subresources.bind(registry, rt, ns, name, body or {}))
        if rt.plural == "selfsubjectreviews":
            return Response(201, reviews.self_subject_review(identity))
        if rt.plural == "selfsubjectaccessreviews":
            return Response(201, reviews.self_subject_access_review(identity, body or {},
                                                                    registry.store))
        if rt.plural == "tokenreviews":
            return Response(201, reviews.token_review(body or {}, self._authenticate_token))
        if rt.plural == "subjectaccessreviews":
            return Response(201, reviews.subject_access_review(body or {}, registry.store))
        if rt.plural == "selfsubjectrulesreviews":
            return Response(201, reviews.self_subject_rules_review(identity, body or {},
                                                                   registry.store))
        if rt.plural == "bindings":
            pods = routing.lookup("", "v1", "pods")
            assert pods is not None
            target = str(((body or {}).get("metadata") or {}).get("name", ""))
            return Response(201, subresources.bind(registry, pods, ns, target, body or {}))
        if sub == "eviction":
            answer = eviction.evict(registry, rt, ns, name, body or {}, query)
            return Response(int(answer["code"]), answer)
        if sub == "token":
            return Response(201, subresources.request_token(registry, self.issuer, ns, name,
                                                             body or {}))
        if sub == "scale":
            if method == "GET":
                return Response(200, subresources.get_scale(registry, rt, ns, name))
            if method == "PUT":
                return Response(200, subresources.set_scale(registry, rt, ns, name, body or {},
                                                            query))
            if method == "PATCH":
                kind = rest.PATCH_TYPES.get(request.headers.get("content-type", "").split(";")[0],
                                            "merge")
                return Response(200, subresources.patch_scale(
                    registry, rt, ns, name, kind, json.loads(request.body or b"{}"), query))
            raise errors.method_not_allowed(f"{method} is not supported on {rt.plural}/scale")
        if sub == "finalize":
            sub = ""
        if verb == "watch":
            frame, content_type = protobuf.watch_framing(accept, rt.group_version, rt.kind)
            return Response(200, stream=watch.stream(
                registry.store, rt, namespace if rt.namespaced else None, query, encode,
                lambda: self.stopping.is_set() or request.gone(), frame),
                content_type=content_type)
        if verb == "list" and _plain_list(rt, query, accept):
            keep = matcher(parse_labels(query.get("labelSelector", "")),
                           parse_fields(query.get("fieldSelector", ""), rt.storage_key))
            bodies, revision = registry.store.select_raw(
                rt.storage_key, namespace if rt.namespaced else None, keep)
            head = json.dumps({"kind": f"{rt.kind}List", "apiVersion": rt.group_version,
                               "metadata": {"resourceVersion": str(revision)}})
            raw = f'{head[:-1]},"items":[{",".join(bodies)}]}}'.encode()
            return Response(200, raw=raw)
        if verb == "list":
            listed = registry.collection(rt, namespace if rt.namespaced else None, query)
            if tables.wants_table(accept):
                items = [rest.to_wire(rt, i) for i in listed["items"]]
                return Response(200, tables.table(rt, items,
                                                  listed["metadata"]["resourceVersion"],
                                                  query.get("includeObject", "Metadata"),
                                                  listed["metadata"].get("continue", "")))
            return Response(200, listed)
        if verb == "get":
            return Response(200, encode(registry.get(rt, ns, name)))
        if verb == "create":
            outcome = registry.create(rt, ns, body or {}, query, requester=identity)
            if rt.storage_key == "core/namespaces" and not query.get("dryRun"):
                self.on_namespace_created(outcome.obj["metadata"]["name"])
            self._definitions_changed(rt)
            return _outcome(201, outcome)
        if verb == "update":
            outcome = registry.update(rt, ns, name, body or {}, query, sub, requester=identity)
            self._definitions_changed(rt)
            return _outcome(200, outcome)
        if verb == "patch":
            outcome = registry.patch(rt, ns, name, request.headers.get("content-type", ""),
                                     request.body, query, sub, requester=identity)
            self._definitions_changed(rt)
            return _outcome(201 if outcome.created else 200, outcome)
        if verb in ("delete", "deletecollection"):
            options = deletion.delete_options(body, query, request.query_lists.get("dryRun"))
            warnings = deletion.default_propagation(rt, options)
            if verb == "delete":
                deleted = deletion.delete(registry, rt, ns, name, options, query)
            else:
                deleted = deletion.delete_collection(
                    registry, rt, namespace if rt.namespaced else None, options, query)
            self._definitions_changed(rt)
            return _outcome(200, rest.Outcome(deleted, warnings))
        raise errors.method_not_allowed(f"{method} is not supported")


    def _definitions_changed(self, rt: ResourceType) -> None:
        """After a CRD write, the CRD controllers run at once (they also run every second),
        so a new CRD is Established, and a deleted one's objects go, without a wait."""
        if rt.storage_key == CRD_KEY:
            deletion.finalize_definitions(self.registry)
            self.registry.catalog.custom()  # built now, not by the next request


def _plain_list(rt: ResourceType, query: dict[str, str], accept: str) -> bool:
    """A list the stored JSON can answer as it is: no paging, table, protobuf or conversion."""
    return (not tables.wants_table(accept) and not protobuf.wanted(accept)
            and rt.group != "events.k8s.io" and rt.custom is None  # (stored at any version)
            and not any(query.get(k) for k in ("limit", "continue")))


def _outcome(code: int, outcome: rest.Outcome) -> Response:
    headers = {}
    if outcome.warnings:
        headers["Warning"] = ", ".join(f'299 - {json.dumps(w)}' for w in outcome.warnings)
    return Response(code, outcome.obj, headers=headers)
