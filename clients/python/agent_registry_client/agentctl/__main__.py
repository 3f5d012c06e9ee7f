"""`python -m agent_registry_client.agentctl`."""

from agent_registry_client.agentctl.main import main

main()
