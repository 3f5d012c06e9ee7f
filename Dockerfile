# Agent Registry: the gRPC server with the embedded JSON registry and SQLite session store.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY generated ./generated
COPY registry_server ./registry_server
COPY clients ./clients
RUN pip install . \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin registry \
 && mkdir -p /data \
 && chown registry /data
COPY data/default_registry.yaml /app/default_registry.yaml

ENV AGENT_REGISTRY_HOST=0.0.0.0 \
    AGENT_REGISTRY_PORT=8003 \
    AGENT_REGISTRY_DATA_DIR=/data \
    AGENT_REGISTRY_DEFAULTS_FILE=/app/default_registry.yaml

USER registry
EXPOSE 8003
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["python", "-m", "registry_server.healthcheck"]
CMD ["python", "-m", "registry_server"]
