"""Generated protobuf and gRPC stubs of the Agent Registry contracts; do not edit."""
