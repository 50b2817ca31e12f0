from vapora_core.lifecycle import run
from vapora_mcp_gateway.app import McpApp
from vapora_mcp_gateway.settings import McpSettings

settings = McpSettings()
run(McpApp(settings), settings)
