"""The CRI `runtime.v1.ImageService`: PullImage, ImageStatus, ListImages, RemoveImage, ImageFsInfo.

Pulls of the same reference are serialized (a second kubelet pull waits for the first and then
finds the image), different references pull in parallel. RemoveImage of an image a container
still uses is refused, as containerd refuses it; RemoveImage of an unknown image succeeds (it is
idempotent in CRI).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import grpc

from nodelab.cri import api_pb2 as cri
from nodelab.cri import api_pb2_grpc as cri_grpc
from nodelab.errors import NodelabError
from nodelab.oci.reference import ImageReference, InvalidImageReference
from nodelab.runtime.cri import convert
from nodelab.runtime.cri.errors import InvalidArgument, rpc
from nodelab.runtime.images.pull import Credentials, Puller
from nodelab.runtime.images.store import ImageStore
from nodelab.runtime.records import RecordStore


def credentials(auth: Any) -> Credentials:
    """The registry credentials of a CRI AuthConfig: username and password, or `auth`
    (base64 `user:password`); identity and registry tokens are refused, not ignored."""
    tokens = [name for name in ("identity_token", "registry_token") if getattr(auth, name)]
    if tokens:
        raise InvalidArgument(f"PullImage: nodelab's runtime does not support "
                              f"{' or '.join(tokens)} in AuthConfig (give a username and "
                              "password, or auth)")
    if auth.username:
        return Credentials(auth.username, auth.password)
    if auth.auth:
        user, _, password = base64.b64decode(auth.auth).decode().partition(":")
        return Credentials(user, password)
    return Credentials()


class ImageService(cri_grpc.ImageServiceServicer):
    def __init__(self, store: ImageStore, puller: Puller, records: RecordStore) -> None:
        self.store = store
        self.puller = puller
        self.records = records
        self._pull_locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @rpc
    def PullImage(self, request: Any, context: grpc.ServicerContext) -> Any:
        if not request.image.image:
            raise InvalidArgument("PullImage needs an image reference")
        try:
            key = str(ImageReference.parse(request.image.image))
        except InvalidImageReference as exc:
            raise InvalidArgument(str(exc)) from exc
        with self._guard:
            lock = self._pull_locks.setdefault(key, threading.Lock())
        with lock:
            record = self.puller.pull(request.image.image, credentials(request.auth))
        return cri.PullImageResponse(image_ref=record.id)

    @rpc
    def ImageStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.store.find(request.image.image)
        if record is None:
            return cri.ImageStatusResponse()
        response = cri.ImageStatusResponse(image=convert.image_message(record))
        if request.verbose:
            response.info["info"] = json.dumps({"chainIDs": record.chain_ids,
                                                "imageSpec": record.config})
        return response

    @rpc
    def ListImages(self, request: Any, context: grpc.ServicerContext) -> Any:
        wanted = request.filter.image.image if request.HasField("filter") else ""
        images = []
        for record in self.store.list():
            if wanted and self.store.find(wanted) != record:
                continue
            images.append(convert.image_message(record))
        return cri.ListImagesResponse(images=images)

    @rpc
    def RemoveImage(self, request: Any, context: grpc.ServicerContext) -> Any:
        record = self.store.find(request.image.image)
        if record is None:
            return cri.RemoveImageResponse()
        users = [c.id[:12] for c in list(self.records.containers.values())
                 if c.image_id == record.id]
        if users:
            raise NodelabError(
                f"image {request.image.image!r} is in use by container(s) {', '.join(users)}; "
                "remove them first"
            )
        in_use = {chain for c in list(self.records.containers.values()) for chain in c.chain_ids}
        self.store.remove(record, in_use)
        return cri.RemoveImageResponse()

    @rpc
    def ImageFsInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        used, inodes = self.store.usage()
        usage = cri.FilesystemUsage(timestamp=time.time_ns(),
                                    fs_id=cri.FilesystemIdentifier(mountpoint=str(self.store.root)))
        usage.used_bytes.value = used
        usage.inodes_used.value = inodes
        containers_usage = cri.FilesystemUsage(
            timestamp=time.time_ns(),
            fs_id=cri.FilesystemIdentifier(mountpoint=str(self.records.container_root)))
        total = total_inodes = 0
        for record in list(self.records.containers.values()):
            size, count = convert.writable_layer_usage(
                str(self.records.container_dir(record.id) / "upper"))
            total += size
            total_inodes += count
        containers_usage.used_bytes.value = total
        containers_usage.inodes_used.value = total_inodes
        return cri.ImageFsInfoResponse(image_filesystems=[usage],
                                       container_filesystems=[containers_usage])
