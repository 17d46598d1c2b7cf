"""Kubernetes protobuf and the JSON objects nodelab keeps: `protojson` reads upstream's
generated messages (`nodelab/kube/proto/`) as JSON, `jsonproto` fills them from JSON."""
