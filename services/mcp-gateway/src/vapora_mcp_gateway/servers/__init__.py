"""MCP servers shipped with the gateway, each started over stdio from config/mcp.toml.

- ``workspace``: files of one directory tree (list, read, search, write notes), sandboxed to a root.
- ``sysinfo``:   harmless facts about the server process and the clock.
"""
