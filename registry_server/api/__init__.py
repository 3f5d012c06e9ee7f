"""gRPC servicers: protobuf <-> domain conversion and error mapping, nothing else."""
