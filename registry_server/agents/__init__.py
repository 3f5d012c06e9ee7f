"""Agent runtimes: in-process factories hosted in worker processes, ADK agents, remote agents."""
