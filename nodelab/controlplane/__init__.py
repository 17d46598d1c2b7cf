"""The embedded control plane: API server, scheduler and controllers."""
