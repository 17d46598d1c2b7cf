"""The API server's HTTP face: the HTTPS transport, routing, the handler chain, errors, discovery,
OpenAPI, tables, protobuf bodies and the streaming proxies to kubelets.
"""
