"""CEL validation rules of CRD schemas (`x-kubernetes-validations`), as upstream's
apiextensions-apiserver `schema/cel` runs them, on Google's cel-cpp (`cel_expr_python`):

- `decltypes`: the CEL type of a schema node and a custom object's value in that shape;
- `environment`: the checking environment of a node (its declared types as protobuf messages)
  and the shared runtime environment;
- `library`: the Kubernetes library as one extension (lists, regex, sets), with
  `net_library` (IP, CIDR), `quantity_library` and `url_library`, their types as protobuf
  messages (`opaque`), and what is refused;
- `rules`: the checks and compilation when a CRD is written;
- `validator`: evaluating the rules on a custom object (create, update, status).
"""
