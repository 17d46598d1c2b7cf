"""A CRI endpoint to test or measure against: nodelab's runtime (or containerd) started alone
inside a network namespace of its own, with a registry on loopback there.

Used by the runtime's behaviour tests (`tests/runtime/`), the security tests and the pod
start-up benchmark (`benchmarks/runtime/pod_start_latency.py`), so the same harness drives
both runtimes: `endpoint.nodelab_endpoint(tmp, registry)` or
`containerd.containerd_endpoint(tmp, registry)`, each a context manager that removes every
namespace, mount, cgroup and process it made; `registry.local_registry(tmp)` and
`registry.push_busybox(...)` give it images. It needs root.
"""
