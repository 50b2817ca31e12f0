"""A task's complexity means the same to the API, its OpenAPI document, the router and the docs.

The gateway accepts a closed set (``TaskIn.complexity``); the router's rules may match only
values of that set (``vapora_llm_router.config.COMPLEXITIES``), or a rule could never fire.
"""

from __future__ import annotations

import typing
from pathlib import Path

from vapora_api_gateway.app import ROUTES
from vapora_api_gateway.models import TaskIn
from vapora_api_gateway.openapi import build
from vapora_llm_router.config import COMPLEXITIES, load

ROOT = Path(__file__).resolve().parents[2]


def test_the_api_accepts_exactly_the_complexities_the_router_knows_or_none() -> None:
    accepted = typing.get_args(TaskIn.model_fields["complexity"].annotation)
    assert accepted == ("", *COMPLEXITIES)


def test_the_openapi_document_lists_the_same_complexities() -> None:
    schema = build(ROUTES)["components"]["schemas"]["TaskIn"]["properties"]["complexity"]
    assert schema["enum"] == ["", *COMPLEXITIES]


def test_every_complexity_of_the_repositorys_router_rules_is_one_a_task_can_have() -> None:
    config = ROOT / "config"
    rules = load(config / "router.toml", config / "budget.toml", config / "prices.toml").router.rules
    used = {level for rule in rules for level in rule.complexity}
    assert used, "no rule of config/router.toml matches on complexity: this test checks nothing"
    assert used <= set(COMPLEXITIES)


def flat(doc: str) -> str:
    return " ".join((ROOT / "docs" / doc).read_text().split())


def test_the_docs_name_the_same_complexities() -> None:
    levels = "|".join(COMPLEXITIES)
    assert f"`complexity` (`{levels}`" in flat("api.md")
    assert f"complexity is one of `{levels}`" in flat("llm-router.md")
