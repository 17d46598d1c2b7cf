"""ExecSync, Exec, Attach, PortForward and ReopenContainerLog: talking to running containers.

ExecSync runs to completion inside the RPC (with its timeout); the three streaming RPCs only
register the request with the streaming server and return its one-time URL (see
`runtime/streaming/server.py`).
"""

from __future__ import annotations

from typing import Any

import grpc

from nodelab.cri import api_pb2 as cri
from nodelab.runtime.cri.base import RuntimeServiceBase
from nodelab.runtime.cri.errors import InvalidArgument, Unimplemented, rpc
from nodelab.runtime.monitor import reopen_log
from nodelab.runtime.streaming.server import StreamingServer


class ExecRPCs(RuntimeServiceBase):
    @rpc
    def ReopenContainerLog(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.container(request.container_id)
        if self.containers.live_state(record).state != cri.CONTAINER_RUNNING:
            raise InvalidArgument(f"container {record.id[:12]} is not running; "
                                  "only a running container's log can be reopened")
        reopen_log(self.containers.paths(record.id))
        return cri.ReopenContainerLogResponse()


    @rpc
    def ExecSync(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.container(request.container_id)
        if not request.cmd:
            raise InvalidArgument("ExecSync needs a command")
        if self.containers.live_state(record).state != cri.CONTAINER_RUNNING:
            raise InvalidArgument(f"container {record.id[:12]} is not running")
        out, err, code = self.containers.exec_sync(record, list(request.cmd),
                                                   float(request.timeout))
        return cri.ExecSyncResponse(stdout=out, stderr=err, exit_code=code)

    def _streaming(self) -> StreamingServer:
        if self.streaming is None:
            raise Unimplemented("the streaming server is disabled in this runtime")
        return self.streaming

    @rpc
    def Exec(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.container(request.container_id)
        if not request.cmd:
            raise InvalidArgument("Exec needs a command")
        if not (request.stdin or request.stdout or request.stderr):
            raise InvalidArgument("one of stdin, stdout, or stderr must be set")
        if self.containers.live_state(record).state != cri.CONTAINER_RUNNING:
            raise InvalidArgument(f"container {record.id[:12]} is not running")
        url = self._streaming().register("exec", request)
        return cri.ExecResponse(url=url)

    @rpc
    def Attach(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.container(request.container_id)
        if self.containers.live_state(record).state != cri.CONTAINER_RUNNING:
            raise InvalidArgument(f"container {record.id[:12]} is not running")
        url = self._streaming().register("attach", request)
        return cri.AttachResponse(url=url)

    @rpc
    def PortForward(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.sandbox(request.pod_sandbox_id)
        if not self.pods.ready(record):
            raise InvalidArgument(f"sandbox {record.id[:12]} is not ready")
        url = self._streaming().register("portforward", request)
        return cri.PortForwardResponse(url=url)
