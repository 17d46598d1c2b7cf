"""X.509 certificates as the Kubernetes API deals in them: who a peer's client certificate
names (`peer_subject.py`: the user and groups the API server's and the kubelet's
authenticators read) and a certificate asked for through the CSR API (`csr.py`: the kubelet's
serving certificate, `join`'s client certificates)."""
