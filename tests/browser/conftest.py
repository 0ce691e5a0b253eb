"""Fixtures for the browser tests: a JupyterLab (or Voila) server on 127.0.0.1 and headless Debian Chromium.

The lessons are copied to a temporary folder first, so JupyterLab's autosave never rewrites the committed
notebooks. Screenshots go to artifacts/screenshots/. In CI (CI set in the environment) a missing Chromium or
Playwright is an error, not a skip.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("BN_TEACH_CHROMIUM", "/usr/bin/chromium")
NOTEBOOKS = Path(os.environ.get("BN_TEACH_NOTEBOOKS", ROOT / "notebooks"))  # another folder: for developing the test
SHOTS = ROOT / "artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _need(condition, why):
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"browser test prerequisites missing in CI: {why}")
        pytest.skip(why)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url, proc, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def _start(cmd, url, workdir, log):
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ,
                            JUPYTER_CONFIG_DIR=str(workdir / ".jupyter"), PYTHONUNBUFFERED="1"))
    try:
        _wait_http(url, proc)
    except Exception:
        proc.kill()
        raise
    return proc


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def lesson_copy(tmp_path_factory):
    """A throw-away copy of notebooks/ (JupyterLab autosaves what it runs)."""
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(NOTEBOOKS, work / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = work / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    return work


@pytest.fixture(scope="session")
def browser():
    _need(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "playwright is not installed")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def lab_url(lesson_copy, tmp_path_factory):
    """Base URL of a JupyterLab serving the copied lessons."""
    port = _free_port()
    log = open(tmp_path_factory.mktemp("logs") / "lab.log", "w")
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={lesson_copy}",
           "--LabApp.expose_app_in_browser=True", "--ServerApp.disable_check_xsrf=True", "--allow-root",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    proc = _start(cmd, f"http://127.0.0.1:{port}/lab", lesson_copy, log)
    yield f"http://127.0.0.1:{port}"
    _stop(proc)


@pytest.fixture()
def voila_server(lesson_copy, tmp_path_factory):
    """Start Voila on one notebook: voila_server(relative_path) -> URL."""
    procs = []

    def start(notebook):
        port = _free_port()
        log = open(tmp_path_factory.mktemp("logs") / "voila.log", "w")
        cmd = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"]
        procs.append(_start(cmd, f"http://127.0.0.1:{port}/", lesson_copy, log))
        return f"http://127.0.0.1:{port}/"

    yield start
    for p in procs:
        _stop(p)
