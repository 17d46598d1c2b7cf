"""A metrics server, as kubernetes-sigs/metrics-server works: scrape every kubelet's
`/metrics/resource` every `--metric-resolution`, keep the last two points of each node and
container, and serve `metrics.k8s.io/v1beta1` NodeMetrics and PodMetrics behind an APIService.

- `decode.py`: the Prometheus text of `/metrics/resource` to a batch of points (pure);
- `storage.py`: the last and previous point of each node and container, and the usage
  between them (window, timestamp, CPU rate, working set), as upstream's storage (pure);
- `quantity.py`: Kubernetes quantities and Go durations as upstream prints them (pure);
- `selectors.py`: label and field selectors on the listed objects (pure);
- `api.py`: the metrics.k8s.io documents and discovery (pure);
- `scraper.py`: the scrape loop (the kubelets over HTTPS with the pod's service account);
- `server.py`: the HTTPS API: the front proxy's identity from its client certificate and the
  `X-Remote-*` headers, authorization delegated with SubjectAccessReviews.
"""
