"""Alerts and the dashboard name metrics the services really export: both services are started
and scraped over HTTP, and every PromQL expression is parsed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from services.auth.app import create_app as create_auth
from services.notifier.app import create_app as create_notifier
from shared.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# PromQL functions, keywords and label names that look like identifiers in an expression.
NOT_METRICS = {
    "sum", "max", "min", "by", "on", "and", "or", "unless", "rate", "increase", "delta",
    "time", "histogram_quantile", "clamp_min", "le", "topic", "partition", "group", "status",
    "route", "event", "stage", "error_class", "instance", "job",
}  # fmt: skip


def alert_expressions() -> dict[str, str]:
    document = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    return {rule["alert"]: rule["expr"] for group in document["groups"] for rule in group["rules"]}


def dashboard_expressions() -> dict[str, str]:
    dashboard = json.loads((DEPLOY / "grafana" / "clochette.json").read_text())
    return {
        f"{panel['title']} [{target['refId']}]": target["expr"]
        for panel in dashboard["panels"]
        for target in panel["targets"]
    }


def metric_names(expression: str) -> set[str]:
    """Identifiers of an expression that are neither PromQL words, labels, strings, ranges nor
    numbers (such as 1e-9)."""
    text = re.sub(r'"[^"]*"', '""', expression)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b\d+(\.\d+)?(e-?\d+)?\b", "", text)
    return set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text)) - NOT_METRICS


async def scrape(app: object) -> set[str]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    names: set[str] = set()
    for family in text_string_to_metric_families(response.text):
        names.add(family.name)
        suffixes = {
            "counter": ["_total"],
            "histogram": ["_bucket", "_sum", "_count"],
        }.get(family.type, [])
        names.update(family.name + suffix for suffix in suffixes)
        names.update(sample.name for sample in family.samples)
    return names


@pytest.fixture
async def exported(database_url: str, kafka_bootstrap: str) -> set[str]:
    settings = Settings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        CLOCHETTE_SECRET_KEY="o" * 48,
        CLOCHETTE_ENV="test",
    )
    names: set[str] = set()
    for factory in (create_auth, create_notifier):
        app = factory(settings)
        async with app.lifespan():
            names |= await scrape(app)
    # Prometheus itself provides `up` for every target.
    return names | {"up"}


@pytest.mark.parametrize("name", sorted(alert_expressions()))
def test_alert_expressions_parse(name: str) -> None:
    promql_parser.parse(alert_expressions()[name])


@pytest.mark.parametrize("name", sorted(dashboard_expressions()))
def test_dashboard_expressions_parse(name: str) -> None:
    promql_parser.parse(dashboard_expressions()[name])


async def test_alerts_and_dashboard_name_exported_metrics(exported: set[str]) -> None:
    used = {
        name: metric_names(expr)
        for name, expr in {**alert_expressions(), **dashboard_expressions()}.items()
    }
    missing = {name: names - exported for name, names in used.items() if names - exported}
    assert not missing, f"metrics not exported by the services: {missing}"
    assert all(used.values()), "every expression names at least one metric"
