"""A container's environment, as the kubelet computes it: `variables.py` (upstream's
makeEnvironmentVariables), `expansion.py` (`$(VAR)` references), `service_env.py` (the
service variables).
"""
