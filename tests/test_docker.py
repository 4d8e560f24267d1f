"""The production compose file: the services DESIGN asks for, each with a health check,
and `docker compose config` accepts it wherever a Compose client is installed."""

import shutil
import subprocess
from pathlib import Path

import yaml

DOCKER = Path(__file__).resolve().parents[1] / "docker"
COMPOSE = DOCKER / "compose.yaml"


def _compose():
    return yaml.safe_load(COMPOSE.read_text())


APP = ("web", "worker-small", "worker-large", "beat")
WORKERS = ("worker-small", "worker-large")


def test_services_and_health_checks():
    services = _compose()["services"]
    assert set(services) == {*APP, "postgres", "redis", "minio", "minio-init"}
    for name, svc in services.items():
        if name == "minio-init":  # a one-shot job: it runs to completion, once
            assert svc["restart"] == "no"
            continue
        assert "healthcheck" in svc, f"{name} has no health check"
        assert svc["healthcheck"]["test"], name
    # the app services wait for healthy backing services and a ready bucket
    for name in APP:
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"
        assert deps["minio-init"]["condition"] == "service_completed_successfully"


def test_roles_run_the_right_programs():
    services = _compose()["services"]
    web = services["web"]
    assert web["command"][:3] == ["gunicorn", "-c", "python:zkarena_site.gunicorn_conf"]
    # the web processes add up their request metrics in a per-host tmpfs (docs/operations.md)
    folder = web["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert any(t.split(":")[0] == folder for t in web["tmpfs"])
    assert "SECRET_KEY" in web["environment"]  # the shared environment is merged, not replaced
    queues = []
    for name in WORKERS:
        command = services[name]["command"]
        assert command[:4] == ["celery", "-A", "zkarena_site", "worker"]
        assert "--prefetch-multiplier=1" in command
        queues.append(command[command.index("-Q") + 1])
    # one worker pool per size, so small proofs never wait behind large ones; the small
    # proofs' pool serves the recovery queue first
    assert queues == ["verification.recovery,verification", "verification-large"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "zkarena_site", "beat"]


def test_web_and_workers_share_no_volume_only_the_object_store():
    services = _compose()["services"]
    for name in ("web", *WORKERS):
        assert not services[name].get("volumes"), f"{name} mounts a volume"
        env = services[name]["environment"]
        assert env["STORAGE_BUCKET"] and env["STORAGE_ENDPOINT_URL"] == (
            "${STORAGE_ENDPOINT_URL:-http://minio:9000}"
        )
        for key in ("STORAGE_ACCESS_KEY", "STORAGE_SECRET_KEY"):
            assert ":?" in env[key], f"{key} must fail loudly when unset"
    # the bucket is created private: no anonymous access
    init = " ".join(services["minio-init"]["command"])
    assert 'mc anonymous set none "local/$$STORAGE_BUCKET"' in init
    assert "public" not in init
    documented = (DOCKER / "env.example").read_text()
    for key in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "STORAGE_ACCESS_KEY",
                "STORAGE_SECRET_KEY"):  # fmt: skip
        assert f"{key}=" in documented


def test_secrets_are_required_not_defaulted():
    env = _compose()["services"]["web"]["environment"]
    for key in ("SECRET_KEY", "RECEIPT_SIGNING_KEY"):
        assert ":?" in env[key], f"{key} must fail loudly when unset"
    documented = (DOCKER / "env.example").read_text()
    for key in ("SECRET_KEY", "RECEIPT_SIGNING_KEY", "POSTGRES_PASSWORD", "ALLOWED_HOSTS"):
        assert f"{key}=" in documented


def test_dockerfile_copies_every_package_and_drops_root():
    text = (DOCKER / "Dockerfile").read_text()
    for folder in ("zkproofs", "competitions", "verifier", "monitoring", "platform"):
        assert f"COPY {folder} ./{folder}" in text
    assert "USER zkarena" in text


def _compose_command():
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_validates(tmp_path):
    cmd = _compose_command()
    assert cmd is not None, "no Compose client: `make compose` installs Debian's docker-compose"
    env = tmp_path / ".env"
    env.write_text("SECRET_KEY=x\nRECEIPT_SIGNING_KEY=01\nPOSTGRES_PASSWORD=p\n"
                   "MINIO_ROOT_USER=u\nMINIO_ROOT_PASSWORD=pppppppp\n"
                   "STORAGE_ACCESS_KEY=k\nSTORAGE_SECRET_KEY=s\n")
    out = subprocess.run(
        [*cmd, "-f", str(COMPOSE), "--env-file", str(env), "config", "--quiet"],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stderr
