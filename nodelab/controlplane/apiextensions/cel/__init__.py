"""CEL validation rules of CRD schemas (`x-kubernetes-validations`), as upstream's
apiextensions-apiserver `schema/cel` runs them, on Google's cel-cpp (`cel_expr_python`):

- `decltypes`: the CEL type of a schema node and a custom object's value in that shape;
- `environment`: the checking environment of a node (its declared types as protobuf messages)
  and the shared runtime environment;
- `library`: the Kubernetes library as one extension (lists, regex, sets), with
  `net_library` (IP, CIDR), `quantity_library` and `url_library`, their types as protobuf
  messages (`opaque`), and what is refused;
- `rules`: the checks and compilation when a CRD is written, with each rule's estimated cost
  (`cost`, cel-go's estimator over cel-cpp's checked AST, the `expr` messages; the
  Kubernetes library's estimates and the schema's sizes in `library_cost`) held to
  upstream's limits (`budget`);
- `validator`: evaluating the rules on a custom object (create, update, status).
"""
