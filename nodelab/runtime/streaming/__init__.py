"""The streaming server behind Exec, Attach and PortForward: WebSocket framing, Kubernetes' stream
channels, and the port-forward relay.
"""
