"""The pieces of the Kubernetes API's vocabulary that the add-ons share with the agents.

The add-ons run in an image with only the standard library (`nodelab/lab/addons/image.py`
copies each module they import), so what they share with the agents lives here, in modules
that import nothing but the standard library (an import-linter contract keeps it that way):
`times.py` (Kubernetes timestamps: `metav1.Time` and `MicroTime`, CRI nanoseconds,
kubectl's ages; the one time module), `events.py` (the core/v1 Event client-go's recorder
makes), `expiring.py` (the cache of review answers both the kubelet's and metrics-server's
webhook authorizers keep) and `labels.py` (label and field selectors: the requirement, the
grammar; the API server, the agents and metrics-server match with it) and `go_quote.py` (Go's
`%q`, for the error texts upstream formats with it: the API server's and metrics-server's
403s). `nodelab.kube.events` and the kubelet's events build on `events.py`.
"""
