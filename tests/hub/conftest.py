"""Fixtures for the classroom tests: a git repository of the lessons (what an nbgitpuller link points at) and a
real JupyterHub (deploy/jupyterhub/jupyterhub_config_local.py) on free local ports.

The lessons repository is made from this working tree (every tracked file, as it is now), so the hub serves the
lessons under test, not the last commit. In CI (CI set) a missing JupyterHub, proxy or git is an error, not a skip.
"""
import importlib.util
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.conftest import _free_port, _need, _stop, _wait_http  # noqa: F401 (_need: for the tests)

ROOT = Path(__file__).resolve().parents[2]
HUB_CONFIG = ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py"
LOCAL_CONFIG = HUB_CONFIG.with_name("jupyterhub_config_local.py")
PROXY = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
SINGLEUSER = Path(sys.executable).with_name("jupyterhub-singleuser")


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sizing = _load(ROOT / "deploy" / "sizing.py", "bn_teach_sizing")   # the hub config's constants, and the sizing


def git(*args, cwd):
    return subprocess.run(["git", "-c", "user.name=bn-teach", "-c", "user.email=dev@bn-teach.invalid", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout


def _need_git():
    _need(shutil.which("git") is not None, "git is not installed")


@pytest.fixture(scope="session")
def lessons_repo(tmp_path_factory):
    """A git repository (branch main) holding this working tree's tracked files: the teacher's repository."""
    _need_git()
    repo = tmp_path_factory.mktemp("upstream") / "bn-teach"
    tracked = git("ls-files", "-z", cwd=ROOT).split("\0")
    for rel in filter(None, tracked):
        src = ROOT / rel
        if src.is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / rel)
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "lessons", cwd=repo)
    return repo


@pytest.fixture(scope="module")
def hub(lessons_repo, tmp_path_factory):
    """A running JupyterHub: yields a dict with its url, the admin service's token and the students' homes."""
    try:
        import jupyterhub  # noqa: F401
        import jupyterhub_idle_culler  # noqa: F401
        import nbgitpuller  # noqa: F401
    except ImportError as e:
        _need(False, f"{e.name} is not installed (pip install -e '.[hub]')")
    _need(SINGLEUSER.exists(), f"no {SINGLEUSER}")
    _need(PROXY.exists(), f"no {PROXY} (npm ci)")
    work = tmp_path_factory.mktemp("hub")
    port, hub_port, proxy_port = _free_port(), _free_port(), _free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ, BN_TEACH_HUB_URL=f"http://127.0.0.1:{port}", BN_TEACH_HUB_STATE=str(work / "state"),
               BN_TEACH_HUB_HOMES=str(work / "homes"), BN_TEACH_HUB_API_TOKEN=token,
               BN_TEACH_HUB_PORTS=f"{hub_port},{proxy_port}", BN_TEACH_REPO=lessons_repo.as_uri(),
               BN_TEACH_BRANCH="main", BN_TEACH_MAX_STUDENTS="10", PYTHONUNBUFFERED="1")
    (work / "homes").mkdir()
    log_path = work / "hub.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(LOCAL_CONFIG)], cwd=work, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_http(f"http://127.0.0.1:{port}/hub/login", proc, timeout=120)
    except Exception:
        proc.kill()
        raise RuntimeError(f"JupyterHub did not start:\n{log_path.read_text()[-3000:]}")
    yield {"url": f"http://127.0.0.1:{port}", "token": token, "homes": work / "homes", "log": log_path,
           "repo": lessons_repo.as_uri(), "proc": proc}
    _stop(proc)   # the hub stops every student's server and the proxy on SIGTERM
    log.close()
