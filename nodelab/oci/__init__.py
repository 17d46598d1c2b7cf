"""OCI images and the distribution API: build, push and pull images as plain data."""
