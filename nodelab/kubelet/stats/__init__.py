"""What the kubelet measures and serves: `/stats/summary` (`summary.py`), `/metrics/resource`
(`resource_metrics.py`), `/metrics` (`kubelet_metrics.py`), from samples `sources.py` reads."""
