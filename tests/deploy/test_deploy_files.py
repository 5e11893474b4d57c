"""The deployment files, checked without a container engine: they parse, they set only
variables the services accept (and every required one), their commands exist, their probes and
selectors line up, and the Dockerfile passes hadolint."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from clochette.cli import build_parser
from services.auth.platform.config import AuthSettings
from services.notifier.settings import NotifierSettings
from shared.settings import DEFAULT_METRICS_PORTS, Settings
from shared.topics import (
    DEAD_LETTER_TOPIC,
    DEFAULT_PARTITIONS,
    PLATFORM_TOPICS,
    SMS_REQUESTED_TOPIC,
    USER_EVENTS_TOPIC,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S_BASE = DEPLOY / "k8s" / "base"
REQUIRED = {"CLOCHETTE_ENV", "DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"}
# Each service's own key and database role; the one-shot jobs run as the administrator.
OWN_KEY = {"auth": "AUTH_SECRET_KEY", "notifier": "NOTIFIER_SECRET_KEY"}
OWN_ROLE = {"auth": "clochette_auth", "notifier": "clochette_notifier"}
OVERLAY = DEPLOY / "k8s" / "overlays" / "production"
ACCEPTED = {
    field.alias
    for model in (Settings, AuthSettings, NotifierSettings)
    for field in model.model_fields.values()
    if field.alias
} | {f"AUTH_{name.upper()}" for name in AuthSettings.model_fields}


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return document


def clochette_services(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in document["services"].items()
        if "clochette" in str(service.get("image", ""))
    }


def k8s_documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S_BASE / "kustomization.yaml").read_text())
    documents: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        documents += load_all(K8S_BASE / resource)
    return documents


def env_file_keys(path: Path) -> set[str]:
    return {
        line.split("=", 1)[0]
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }


def assert_cli_accepts(args: list[str]) -> None:
    build_parser().parse_args(args)


def test_compose_sets_only_accepted_variables_and_all_required_ones() -> None:
    services = clochette_services(compose())
    assert set(services) == {"migrate", "db-roles", "topics", "auth", "notifier"}
    for name, service in services.items():
        environment = service["environment"]
        assert set(environment) <= ACCEPTED, f"{name}: {set(environment) - ACCEPTED}"
        assert set(environment) >= REQUIRED, f"{name} lacks {REQUIRED - set(environment)}"
        assert environment["CLOCHETTE_ENV"] == "production"
        assert "CLOCHETTE_SECRET_KEY" not in environment, "production has no shared key"
        assert_cli_accepts(service["command"])


def test_compose_gives_each_service_its_own_key_and_database_role() -> None:
    services = clochette_services(compose())
    for name in ("auth", "notifier"):
        environment = services[name]["environment"]
        other = "notifier" if name == "auth" else "auth"
        assert OWN_KEY[name] in environment
        assert OWN_KEY[other] not in environment, f"{name} must not get {OWN_KEY[other]}"
        assert environment["DATABASE_URL"].startswith(f"postgresql://{OWN_ROLE[name]}:")
    for job in ("migrate", "db-roles", "topics"):
        assert not set(OWN_KEY.values()) & set(services[job]["environment"]), job
    roles = services["db-roles"]
    assert roles["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert set(roles["secrets"]) == set(compose()["secrets"])


def test_compose_kafka_requires_sasl_and_only_auth_writes_its_topics() -> None:
    document = compose()
    kafka = document["services"]["kafka"]["environment"]
    assert "PLAINTEXT://" not in kafka["KAFKA_LISTENERS"].replace("SASL_PLAINTEXT://", "")
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert kafka["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    jaas = kafka["KAFKA_LISTENER_NAME_SASL__PLAINTEXT_PLAIN_SASL_JAAS_CONFIG"]
    for user in ("admin", "auth", "notifier"):
        assert f'user_{user}="${{KAFKA_{user.upper()}_PASSWORD:?' in jaas
    services = clochette_services(document)
    for name, service in services.items():
        kafka_variables = {
            k: v for k, v in service["environment"].items() if k.startswith("KAFKA_")
        }
        settings = Settings(**kafka_variables)  # the services accept the combination
        assert settings.kafka_security_protocol == "SASL_PLAINTEXT", name
    assert services["auth"]["environment"]["KAFKA_SASL_USERNAME"] == "auth"
    assert services["notifier"]["environment"]["KAFKA_SASL_USERNAME"] == "notifier"
    acls = "\n".join(document["services"]["kafka-acls"]["command"])
    writers = {
        topic: {
            line.split("User:")[1].split()[0]
            for line in acls.splitlines()
            if "--operation Write" in line and f"--topic {topic}" in line
        }
        for topic in (USER_EVENTS_TOPIC, SMS_REQUESTED_TOPIC, DEAD_LETTER_TOPIC)
    }
    assert writers == {
        USER_EVENTS_TOPIC: {"auth"},
        SMS_REQUESTED_TOPIC: {"auth"},
        DEAD_LETTER_TOPIC: {"notifier"},
    }
    for topic in (*PLATFORM_TOPICS, USER_EVENTS_TOPIC):
        assert any(
            "User:notifier --operation Read" in line and f"--topic {topic} " in line + " "
            for line in acls.splitlines()
        ), topic
    assert "User:notifier --operation Read --group clochette-notifier" in acls
    for name in ("auth", "notifier"):
        depends = document["services"][name]["depends_on"]
        assert depends["kafka-acls"]["condition"] == "service_completed_successfully"


def test_compose_runs_migrations_and_topics_before_the_services() -> None:
    services = compose()["services"]
    for name in ("auth", "notifier"):
        depends = services[name]["depends_on"]
        assert depends["db-roles"]["condition"] == "service_completed_successfully"
        assert depends["topics"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["migrate"]
    assert services["topics"]["command"][0] == "topics"
    assert services["notifier"]["deploy"]["replicas"] == 2
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for name in ("postgres", "kafka", "auth", "notifier"):
        assert "healthcheck" in services[name], name


def test_compose_secrets_come_from_the_env_file_described_in_the_example() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    example = env_file_keys(DEPLOY / ".env.example")
    assert example == {
        "POSTGRES_PASSWORD",
        "AUTH_DB_PASSWORD",
        "NOTIFIER_DB_PASSWORD",
        "AUTH_SECRET_KEY",
        "NOTIFIER_SECRET_KEY",
        "KAFKA_ADMIN_PASSWORD",
        "KAFKA_AUTH_PASSWORD",
        "KAFKA_NOTIFIER_PASSWORD",
    }
    for key in example:
        assert f"${{{key}:?" in text, f"{key} must be required, not silently empty"


def test_k8s_environment_is_accepted_and_complete() -> None:
    kustomization = yaml.safe_load((K8S_BASE / "kustomization.yaml").read_text())
    literals = kustomization["configMapGenerator"][0]["literals"]
    config = {item.split("=", 1)[0] for item in literals}
    assert not {"CLOCHETTE_SECRET_KEY", *OWN_KEY.values()} & config
    for name in ("auth", "notifier"):
        secrets = env_file_keys(OVERLAY / f"{name}-secrets.env.example")
        assert secrets == {
            "DATABASE_URL",
            OWN_KEY[name],
            "KAFKA_SASL_USERNAME",
            "KAFKA_SASL_PASSWORD",
        }
        kafka = {k: "x" for k in secrets if k.startswith("KAFKA_")}
        kafka |= {k: v for k, v in (i.split("=", 1) for i in literals) if k.startswith("KAFKA_")}
        assert Settings.model_validate(kafka).kafka_security_protocol == "SASL_SSL"
        assert (config | secrets) <= ACCEPTED, (config | secrets) - ACCEPTED
        assert (config | secrets) >= REQUIRED
        url = (OVERLAY / f"{name}-secrets.env.example").read_text()
        assert f"postgresql://{OWN_ROLE[name]}:" in url
    assert env_file_keys(OVERLAY / "migrate-secrets.env.example") == {
        "DATABASE_URL",
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD",
    }
    assert env_file_keys(OVERLAY / "db-roles.env.example") == {
        "AUTH_DB_PASSWORD",
        "NOTIFIER_DB_PASSWORD",
    }
    generated = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())["secretGenerator"]
    for generator in generated:
        for env in generator["envs"]:
            assert (OVERLAY / f"{env}.example").exists(), env


def _pod_specs() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (doc, doc["spec"]["template"]["spec"])
        for doc in k8s_documents()
        if doc["kind"] in {"Deployment", "Job"}
    ]


def test_k8s_workloads_are_hardened_and_run_real_commands() -> None:
    for workload, pod in _pod_specs():
        assert pod["securityContext"]["runAsNonRoot"] is True, workload["metadata"]["name"]
        for container in pod.get("initContainers", []) + pod["containers"]:
            assert_cli_accepts(container["args"])
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
            own = {
                "clochette-auth": "clochette-auth-secrets",
                "clochette-notifier": "clochette-notifier-secrets",
                "clochette-migrate": "clochette-migrate-secrets",
            }[workload["metadata"]["name"]]
            assert refs == {"clochette-config", own}
            assert "memory" in container["resources"]["limits"]


def test_k8s_probes_use_the_health_routes() -> None:
    for workload, pod in _pod_specs():
        if workload["kind"] != "Deployment":
            continue
        container = pod["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"


def test_k8s_selectors_line_up() -> None:
    documents = k8s_documents()
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    for doc in documents:
        if doc["kind"] == "Service":
            selector = doc["spec"]["selector"]
        elif doc["kind"] == "PodDisruptionBudget":
            selector = doc["spec"]["selector"]["matchLabels"]
        else:
            continue
        target = deployments[doc["metadata"]["name"]]
        labels = target["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), doc["metadata"]["name"]


def test_notifier_scaling_is_bounded_by_the_partitions() -> None:
    (hpa,) = [d for d in k8s_documents() if d["kind"] == "HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "clochette-notifier"
    assert hpa["spec"]["maxReplicas"] <= DEFAULT_PARTITIONS


def test_database_network_policy_admits_exactly_the_clochette_pods() -> None:
    policies = [d for d in k8s_documents() if d["kind"] == "NetworkPolicy"]
    database = next(p for p in policies if p["metadata"]["name"].startswith("clochette-database"))
    allowed = database["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
    clients = {
        workload["metadata"]["name"]
        for workload, _ in _pod_specs()
        if allowed.items() <= workload["spec"]["template"]["metadata"]["labels"].items()
    }
    assert clients == {"clochette-auth", "clochette-notifier", "clochette-migrate"}


def test_overlay_references_exist() -> None:
    overlay = DEPLOY / "k8s" / "overlays" / "production"
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (overlay / resource / "kustomization.yaml").exists()
    names = {d["metadata"]["name"] for d in k8s_documents()}
    for replica in kustomization["replicas"]:
        assert replica["name"] in names


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run(
        [hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_non_root_without_dev_extra() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2
    assert "USER 10001" in text
    assert "[dev]" not in text
    assert 'ENTRYPOINT ["clochette"]' in text


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.yaml")), ids=lambda p: p.name)
def test_every_yaml_file_parses(path: Path) -> None:
    assert load_all(path)


def test_auth_trusts_the_proxy_in_front_of_it_in_compose_and_kubernetes() -> None:
    """Behind a reverse proxy or an ingress every client otherwise has the proxy's address, and
    the login throttle would treat them all as one."""
    auth = compose()["services"]["auth"]["environment"]["AUTH_TRUSTED_PROXIES"]
    default = auth.removeprefix("${AUTH_TRUSTED_PROXIES:-").removesuffix("}")
    assert AuthSettings(trusted_proxies=default).trusted_proxies
    kustomization = yaml.safe_load((K8S_BASE / "kustomization.yaml").read_text())
    literals = dict(
        item.split("=", 1) for item in kustomization["configMapGenerator"][0]["literals"]
    )
    assert AuthSettings(trusted_proxies=literals["AUTH_TRUSTED_PROXIES"]).trusted_proxies


def test_prometheus_scrapes_the_metrics_listeners_not_the_public_ports() -> None:
    ports = {"auth": DEFAULT_METRICS_PORTS["auth"], "notifier": DEFAULT_METRICS_PORTS["notifier"]}
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in scrape["scrape_configs"]}
    assert jobs["clochette-auth"]["static_configs"][0]["targets"] == [f"auth:{ports['auth']}"]
    assert jobs["clochette-notifier"]["dns_sd_configs"][0]["port"] == ports["notifier"]
    kustomization = yaml.safe_load((K8S_BASE / "kustomization.yaml").read_text())
    config = dict(item.split("=", 1) for item in kustomization["configMapGenerator"][0]["literals"])
    assert config["AUTH_METRICS_PORT"] == str(ports["auth"])
    assert config["NOTIFIER_METRICS_PORT"] == str(ports["notifier"])
    for workload, pod in _pod_specs():
        if workload["kind"] != "Deployment":
            continue
        service = workload["metadata"]["name"].removeprefix("clochette-")
        annotations = workload["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(ports[service])
        declared = {p["containerPort"] for p in pod["containers"][0]["ports"]}
        assert ports[service] in declared
    for name, service in clochette_services(compose()).items():
        published = " ".join(str(p) for p in service.get("ports", []))
        assert not {"9101", "9102"} & set(published.replace(":", " ").split()), name
