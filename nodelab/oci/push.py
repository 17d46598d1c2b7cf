"""Pushing a built image to a registry: blobs first (skipping those it has), then the manifest."""

from __future__ import annotations

from nodelab.oci.distribution import RegistryClient
from nodelab.oci.image import BuiltImage


def push_image(client: RegistryClient, repository: str, tag: str, image: BuiltImage) -> str:
    """Push `image` as `repository:tag`; returns the manifest digest."""
    for blob in image.blobs():
        client.push_blob(repository, blob.data)
    return client.put_manifest(repository, tag, image.manifest.data, image.manifest.media_type)
