"""Agent Registry server: the agents, sessions and routing of a multi-agent orchestrator, over gRPC."""
