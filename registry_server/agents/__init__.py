"""Agent runtimes beyond in-process factories (A2A), their health probes and circuit breakers."""
