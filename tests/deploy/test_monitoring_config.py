"""Alert rules pass promtool (syntax and unit tests of when they fire); dashboards are
well-formed Grafana JSON whose every panel has a query."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from deploy_support import MONITORING, require_tool

RULES = MONITORING / "rules" / "vapora-alerts.yml"
DASHBOARDS = sorted((MONITORING / "dashboards").glob("*.json"))


def test_promtool_check_rules_accepts_the_alert_rules() -> None:
    promtool = require_tool("promtool", "apt-get install prometheus")
    proc = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 7 rules found" in proc.stdout


def test_promtool_check_rules_rejects_a_broken_rule(tmp_path: Path) -> None:
    promtool = require_tool("promtool", "apt-get install prometheus")
    bad = tmp_path / "bad.yml"
    assert "(vapora_llm_budget_utilization) > 0.8" in RULES.read_text()
    bad.write_text(
        RULES.read_text().replace("(vapora_llm_budget_utilization) > 0.8", "(vapora_llm_budget_utilization) > > 0.8")
    )
    proc = subprocess.run([promtool, "check", "rules", str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0


def test_alerts_fire_when_they_should_and_stay_quiet_otherwise() -> None:
    """promtool's rule unit tests (tests/deploy/alerts_test.yml) against synthetic series."""
    promtool = require_tool("promtool", "apt-get install prometheus")
    test_file = Path(__file__).with_name("alerts_test.yml")
    proc = subprocess.run(
        [promtool, "test", "rules", test_file.name], capture_output=True, text=True, timeout=60, cwd=test_file.parent
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_four_dashboards_exist_and_every_panel_has_a_query() -> None:
    titles = set()
    for path in DASHBOARDS:
        dash = json.loads(path.read_text())
        titles.add(dash["title"])
        assert dash["uid"] == path.stem
        assert dash["panels"], path.name
        for panel in dash["panels"]:
            assert panel["datasource"]["uid"] == "prometheus", (path.name, panel["title"])
            assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"]), (path.name, panel["title"])
    assert titles == {"Vapora / Overview", "Vapora / Agents", "Vapora / LLM routing", "Vapora / Messaging"}
