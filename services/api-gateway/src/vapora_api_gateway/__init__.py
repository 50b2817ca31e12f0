"""api-gateway: the public REST, WebSocket and SSE API of Vapora, and the ``vapora`` CLI."""
