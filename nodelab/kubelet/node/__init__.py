"""This node as the API sees it: the Node object from machine facts, registration, heartbeats (the
Lease) and the node conditions.
"""
