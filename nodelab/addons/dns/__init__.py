"""Cluster DNS: the Kubernetes DNS-Based Service Discovery specification, served from the lab.

`records.py` computes the zone from Services and EndpointSlices (pure, table-tested);
`server.py` answers queries from it over UDP and TCP with dnslib and keeps it current with two
reflectors; `python -m nodelab.addons.dns` runs it in the lab's `coredns` Deployment.
"""
