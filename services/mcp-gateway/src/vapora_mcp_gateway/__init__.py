"""mcp-gateway: how agents reach external tools over MCP, with a call log per workspace."""
