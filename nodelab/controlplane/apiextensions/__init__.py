"""apiextensions.k8s.io: CustomResourceDefinitions and the custom resources they define
(upstream's apiextensions-apiserver, inside the one API server as kube-apiserver embeds it).

- `definitions`: the CRD's own defaulting, validation (names, group, scope, versions, a
  structural `openAPIV3Schema` per version) and what nodelab refuses by name;
- `structural`: upstream's structural-schema rules and the schema keywords served;
- `naming`: the naming and establishing controllers (`status.acceptedNames`, the
  `NamesAccepted` and `Established` conditions, stored versions), as pure functions;
- `catalog`: the custom resource types an Established CRD serves, found beside the built-in
  table (`resources.py`) by routing, discovery, OpenAPI and tables;
- `custom_objects`: a custom object's way into storage: pruning of unknown fields, defaults,
  validation against the version's schema (`schema_checks`), the status and scale
  subresources;
- `columns`: `additionalPrinterColumns` as Table columns (`kubectl get`);
- `lifecycle`: the controllers that run in the server's loop: status of each CRD, and the
  `customresourcecleanup.apiextensions.k8s.io` finalizer that deletes a CRD's objects.
"""

GROUP = "apiextensions.k8s.io"
CRD_KEY = f"{GROUP}/customresourcedefinitions"
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
