"""Validation of networking.k8s.io objects: NetworkPolicies, Ingresses and IngressClasses."""
