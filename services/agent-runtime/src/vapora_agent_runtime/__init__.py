"""agent-runtime: hosts the agents of config/agents/*.toml and executes their jobs via llm-router."""
