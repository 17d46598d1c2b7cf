"""Controllers of the embedded control plane: node IPAM, EndpointSlices, node lifecycle,
ReplicaSets, Deployments, garbage collection and namespace deletion.

Each controller is a pure plan (`*_plan.py`: what the objects should become, given what they
are) and a thin loop that watches the API server (`kube.restclient`) and applies the plan
with patches, as upstream controllers do through client-go.
"""
