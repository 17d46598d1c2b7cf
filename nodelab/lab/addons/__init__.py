"""The lab's add-ons as workloads: the add-on image (`image.py`), cluster DNS (`cluster_dns.py`)."""
