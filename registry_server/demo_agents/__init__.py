"""Demo agents that answer from small local data, so the service answers real questions offline."""
