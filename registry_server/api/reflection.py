"""Server reflection under both names clients use: grpc.reflection.v1 and the older v1alpha.

grpcio-reflection implements v1alpha only. The v1 messages are the same on the wire (same fields, same
numbers), so the v1 service is the same servicer behind the v1 method name.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from grpc import aio
from grpc_reflection.v1alpha import reflection
from grpc_reflection.v1alpha import reflection_pb2 as wire

V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"
V1ALPHA_SERVICE_NAME: str = reflection.SERVICE_NAME


def enable_reflection(service_names: Sequence[str], server: aio.Server) -> None:
    """Serves reflection v1 and v1alpha, listing `service_names` and both reflection services."""
    names = (*service_names, V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME)
    servicer = reflection.aio.ReflectionServicer(names)
    reflection.enable_server_reflection(names, server)
    v1 = grpc.method_handlers_generic_handler(
        V1_SERVICE_NAME,
        {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo,
                request_deserializer=wire.ServerReflectionRequest.FromString,
                response_serializer=wire.ServerReflectionResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((v1,))
