"""What the API server and the kubelet both know of a Pod (upstream's pkg/api/v1/pod and
pkg/apis/core/v1/helper/qos): its QoS class (`qos`), the objects it refers to (`references`),
the marks of a critical pod (`critical`: the mirror annotation, system-critical priority),
and which of its fields nodelab supports (`fields`, rendered as docs/pod-fields.md by
`fields_doc`)."""
