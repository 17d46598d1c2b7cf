"""The API server's HTTP face: the HTTPS transport, routing, the handler chain (`dispatch`) and
its `messages`, discovery, OpenAPI, tables, protobuf bodies, watch streams and the streaming
proxies to kubelets.
"""
