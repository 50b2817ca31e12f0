"""Tool results as the gateway returns them: text parts joined, and cut to a size limit.

A result whose text and structured content together exceed ``limit`` UTF-8 bytes keeps the
first ``limit`` bytes of its text (cut on a character boundary) followed by a marker saying how
long it was; its structured content is dropped (half a JSON document is not JSON). The caller
sees ``truncated = true``. The call log never holds a result, only its error text.
"""

from __future__ import annotations

import json

from mcp import types as mcp_types

from vapora_core.store_guard import scrub

TRUNCATED_MARKER = "\n[truncated by mcp-gateway: the result had {size} bytes, the limit is {limit}]"


def result_text(result: mcp_types.CallToolResult) -> tuple[str, str]:
    """(text parts joined, structured content as JSON). A tool's text is the outside world's: a NUL
    or a lone surrogate in it (which protobuf and the store cannot carry) becomes U+FFFD."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, mcp_types.TextContent):
            parts.append(scrub(block.text))
        else:
            mime = getattr(block, "mime_type", "") or ""
            parts.append(f"[{block.type}{' ' + mime if mime else ''}]")
    structured = json.dumps(result.structured_content) if result.structured_content is not None else ""
    return "\n".join(parts), structured


def cut(text: str, structured: str, limit: int) -> tuple[str, str, bool]:
    """(text, structured, truncated) within ``limit`` bytes."""
    data = text.encode("utf-8")
    size = len(data) + len(structured.encode("utf-8"))
    if size <= limit:
        return text, structured, False
    kept = data[:limit].decode("utf-8", errors="ignore")
    return kept + TRUNCATED_MARKER.format(size=size, limit=limit), "", True
