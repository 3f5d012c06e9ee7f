"""Agent runtimes: factories in worker processes, ADK agents, remote A2A agents and their health."""
