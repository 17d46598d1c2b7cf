"""The CRI gRPC services (`runtime.v1.RuntimeService` and `ImageService`): each call checked,
carried out by the lifecycle modules, and answered as CRI messages.
"""
