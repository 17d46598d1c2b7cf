"""The kubelet server (port 10250): HTTPS with its serving certificate, container logs, and the
exec, attach and port-forward streams it proxies to the runtime (SPDY from kubectl, WebSocket to
the runtime).
"""
