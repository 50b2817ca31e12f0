"""Arguments against a tool's schema: one validator per schema, a replaced schema judged afresh."""

from __future__ import annotations

import pytest

from vapora_core.errors import InvalidArgument
from vapora_mcp_gateway.arguments import check_arguments
from vapora_mcp_gateway.models import ToolInfo


def test_each_schema_judges_its_own_calls_after_a_catalogue_replaced_it() -> None:
    old = ToolInfo(server="files", name="read", input_schema={"type": "object"})
    new = ToolInfo(
        server="files",
        name="read",
        input_schema={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    )
    for _ in range(2):  # the second time from the kept validators
        check_arguments(old, {})
        with pytest.raises(InvalidArgument, match="'path' is a required property"):
            check_arguments(new, {})
        with pytest.raises(InvalidArgument, match="at 'path': 7 is not of type 'string'"):
            check_arguments(new, {"path": 7})
        check_arguments(new, {"path": "a.txt"})
