"""The example Pods of the Kubernetes documentation, run on a real lab (issue #18).

Each test takes one example of kubernetes/website (`content/en/examples/<path>`), applies it
with real kubectl to a one-node lab and asserts the effect the docs page describes (the
`printenv` output of the environment pages, the `id` of the security-context page, the
QoS page's qosClass, the probe page's restarts and events), or the 422 naming the field
where nodelab refuses it (docs/pod-fields.md).

The manifests are written here, not copied: the examples' own files stay upstream (the
project does not vendor another repository's files). Each test's docstring cites its source
as `<path>@<commit>` (the commit the example was read at) and the page whose text gives the
expected effect; `scripts/docs-examples-drift <website checkout>` lists the cited examples
that changed upstream since. What the manifests change, and only that:

- images: the lab's `busybox` stands in for busybox, debian, agnhost and node-hello; the
  lab's `web` (busybox httpd on 8080) for nginx, hello-app, goproxy and redis. Where the
  docs rely on what the original image does (nginx serving /usr/share/nginx/html on port
  80, agnhost's `liveness` server, `stress`), the command does the same with busybox;
- names: pods the docs give one name (`dapi-test-pod`, `nginx`) get one name each;
- nothing needing the internet (the init container fetches from the lab registry).

Pod affinity and topology spread run on a two-node lab of their own (test_scheduling.py); the
other modules share one one-node lab (conftest.py). Left out: the gRPC probe (no etcd image;
tests/kubelet covers gRPC probes); PersistentVolumes (tests/lab/test_persistent_volumes.py
runs the docs' task); AppArmor/SELinux (refused by field).
"""
