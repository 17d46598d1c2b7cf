"""The kubelet: node registration, heartbeats and the pod lifecycle through CRI."""
