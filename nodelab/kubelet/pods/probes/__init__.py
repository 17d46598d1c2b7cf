"""Startup, liveness and readiness probes: `probes.py` (the handlers and the tracker that says
when a probe is due and what its results mean) and `prober.py` (the worker's probe step).
"""
