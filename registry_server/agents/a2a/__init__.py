"""Remote agents over the A2A protocol, through a2a-sdk: cards, capabilities, invocation."""
