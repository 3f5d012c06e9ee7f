# Agent Registry: the gRPC server with the embedded JSON registry and SQLite session store.
# tests/test_install.py performs this file's pip steps and its CMD in a clean venv outside the source tree.

# Stage 1: build the two wheels (the client carries the generated stubs; the server depends on it).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY data/default_registry.yaml ./data/default_registry.yaml
COPY generated ./generated
COPY registry_server ./registry_server
COPY clients/python ./clients/python
RUN pip wheel --no-deps --wheel-dir /wheels ./clients/python .

# Stage 2: the runtime holds the installed wheels only, no source tree.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN pip install --find-links /wheels agent-registry 'agent-registry-client[cli]' \
 && rm -rf /wheels \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin registry \
 && mkdir -p /data \
 && chown registry /data

# The demo agents shipped in the package fill a new data dir; mount a volume on /data to keep state.
ENV AGENT_REGISTRY_HOST=0.0.0.0 \
    AGENT_REGISTRY_PORT=8003 \
    AGENT_REGISTRY_DATA_DIR=/data \
    AGENT_REGISTRY_METRICS_PORT=9090 \
    AGENT_REGISTRY_LOG_FORMAT=json

USER registry
WORKDIR /data
EXPOSE 8003 9090
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["python", "-m", "registry_server.healthcheck"]
CMD ["agent-registry"]
