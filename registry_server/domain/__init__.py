"""Plain types and errors shared by every layer; nothing here knows gRPC or protobuf."""
