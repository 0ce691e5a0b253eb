"""environment.yml (conda, Binder) and pyproject.toml (pip) must install the same packages."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement):
    """Package name of a requirement such as 'numpy>=1.24' or 'ipywidgets=8', normalized."""
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pyproject_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return {_name(r) for r in reqs}


def conda_requirements(env):
    """Every requirement environment.yml installs: conda's, and its pip section's (but not `-e .`)."""
    reqs = [d for d in env["dependencies"] if isinstance(d, str)]
    for section in (d for d in env["dependencies"] if isinstance(d, dict)):
        reqs += [r for r in section.get("pip", []) if not r.startswith("-")]
    return reqs


def conda_packages():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = {_name(d) for d in conda_requirements(env)}
    return names - {"python", "pip"}, env


def test_environment_and_pyproject_name_the_same_packages():
    conda, _ = conda_packages()
    pip = pyproject_packages()
    assert conda == pip, f"only in environment.yml: {sorted(conda - pip)}; only in pyproject: {sorted(pip - conda)}"


def test_environment_installs_the_local_package_and_pins_the_classroom_stack():
    _, env = conda_packages()
    pip_section = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_section and "-e ." in pip_section[0]["pip"], "Binder must install bn_teach itself"
    deps = [d for d in env["dependencies"] if isinstance(d, str)]
    # Binder: JupyterLab 4 with ipywidgets 8 on both kernel and browser side (see docs/classroom pitfalls)
    assert "python=3.11" in deps and "jupyterlab=4" in deps and "ipywidgets=8" in deps


def test_minimum_versions_agree():
    _, env = conda_packages()
    conda = {_name(d): d for d in conda_requirements(env)}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    for req in reqs:
        m = re.search(r">=\s*([\d.]+)", req)
        spec = conda[_name(req)]
        if m and ">=" in spec:
            assert spec.split(">=")[1].strip() == m.group(1), f"{req} vs {spec}"
