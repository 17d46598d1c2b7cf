"""The container runtime: a CRI v1 gRPC server on runc."""
