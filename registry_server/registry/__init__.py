"""The agent registry: in-memory state over a durable JSON file, and the factories that build agents."""
