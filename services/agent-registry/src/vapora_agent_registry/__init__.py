"""agent-registry: who is registered, who is alive, who takes which task type."""
