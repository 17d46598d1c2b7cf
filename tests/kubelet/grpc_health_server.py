"""A real `grpc.health.v1.Health` server for the grpc probe test (run as a script).

`python grpc_health_server.py ADDRESS:PORT STATUS_FILE` serves `Check` over grpcio (no
grpcio-health-checking in the venv, so the two tiny messages are encoded by hand:
HealthCheckRequest {1: service}, HealthCheckResponse {1: status enum}). Every Check reads
STATUS_FILE, a JSON map service -> SERVING | NOT_SERVING, so the test flips the answer by
rewriting the file; a service missing from it is NOT_FOUND, as grpc's own health server does.
Prints `listening` once the port is bound. The test runs it inside the pod's network namespace
(`nsenter --net=/proc/<container pid>/ns/net`) and ends it by its PID.
"""

from __future__ import annotations

import json
import sys
import threading
from concurrent import futures
from pathlib import Path

import grpc

STATUS = {"UNKNOWN": 0, "SERVING": 1, "NOT_SERVING": 2}


def service_name(request: bytes) -> str:
    """Field 1 (a string) of a HealthCheckRequest; empty when absent."""
    if len(request) >= 2 and request[0] == 0x0A:
        return request[2:2 + request[1]].decode()
    return ""


def main(address: str, status_file: Path) -> None:
    def check(request: bytes, context: grpc.ServicerContext) -> bytes:
        wanted = json.loads(status_file.read_text())
        service = service_name(request)
        if service not in wanted:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {service!r}")
        return bytes([0x08, STATUS[wanted[service]]])

    handler = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
        "Check": grpc.unary_unary_rpc_method_handler(
            check, request_deserializer=lambda b: b, response_serializer=lambda b: b)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    if server.add_insecure_port(address) == 0:
        raise SystemExit(f"cannot listen on {address}")
    server.start()
    print("listening", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
