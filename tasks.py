"""bn-teach tasks: one command to set up and open the lessons, one to run every test.

    python3 tasks.py lab      # create .venv, install bn-teach with its lesson and test dependencies, open JupyterLab
    python3 tasks.py test     # the same set-up, then every test: pytest on tests/ and strict nbval on every lesson
    python3 tasks.py html     # render every lesson (stored outputs) to static HTML pages in site/
    python3 tasks.py bench    # the benchmarks under benchmarks/
    python3 tasks.py voila NOTEBOOK   # one lesson as a standalone app (e.g. notebooks/02_inside_batchnorm.ipynb)
    python3 tasks.py lock     # upgrade .venv to the newest allowed versions and write them to constraints.txt
    python3 tasks.py kernel   # install the Jupyter kernel "Python (bn-teach)" (stored digits from any Jupyter)
    python3 tasks.py hub      # a local JupyterHub serving the lessons (http://127.0.0.1:8000; log in as teacher)
    python3 tasks.py slides   # every lesson as an offline reveal.js slide deck in site/slides/

Only the Python standard library is used here, so it runs on a fresh machine (Linux, macOS or Windows).
"""
import hashlib
import os
import platform
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".bn-teach-installed"
LOCK = ROOT / "constraints.txt"
EXTRAS = "lab,test,hub"  # what `setup` installs beside the package: the lessons, the tests, a class hub
# the packages whose versions the stored outputs depend on (tests/test_lock.py compares them with the lock)
OUTPUT_PACKAGES = ("numpy", "matplotlib", "ipywidgets", "ipympl")


def lesson_env(**extra):
    """The environment every task runs in. The lessons' stored outputs were computed with OpenBLAS's Haswell
    kernels (NumPy's wheels); other kernels (e.g. AVX-512 ones, chosen automatically on newer CPUs) round sums in
    another order, and a training run amplifies the last digit into a different printed accuracy. Pinning the
    kernel on x86-64 makes every run, here and in CI, reproduce the stored outputs digit for digit."""
    env = dict(os.environ, **extra)
    if platform.machine().lower() in ("x86_64", "amd64"):
        env.setdefault("OPENBLAS_CORETYPE", "Haswell")
    return env


def run(*cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    kw.setdefault("env", lesson_env())
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, **kw).returncode


def setup():
    """Create .venv and install the package (editable) with its extras, at the versions in constraints.txt (those
    the stored outputs were computed with); skipped when nothing changed."""
    sources = (ROOT / "pyproject.toml").read_bytes() + (LOCK.read_bytes() if LOCK.exists() else b"")
    want = hashlib.sha256(sources).hexdigest()
    if STAMP.exists() and STAMP.read_text() == want and PY.exists():
        return 0
    if not PY.exists() and run(sys.executable, "-m", "venv", VENV):
        return 1
    if run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip"):
        return 1
    if run(PY, "-m", "pip", "install", "--quiet", *lock_args(), "-e", f".[{EXTRAS}]"):
        return 1
    STAMP.write_text(want)
    return 0


def lock_args():
    """pip's arguments that apply the lock: only for the Python version it was made with (another Python may
    need other versions: then the newest allowed ones are installed, and the stored digits may differ)."""
    if not LOCK.exists():
        return []
    made_with = next((line.split()[-1] for line in LOCK.read_text().splitlines()
                      if line.startswith("# python ")), None)
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if made_with != here:
        print(f"note: constraints.txt is for Python {made_with}, this is Python {here}: installing the newest "
              "allowed versions; lesson numbers may differ from the stored outputs in their last digits")
        return []
    return ["-c", LOCK]


def lock(*args):
    """Upgrade .venv to the newest versions pyproject.toml allows and write them all to constraints.txt. Then
    re-execute the notebooks, so that their stored outputs come from the versions in the lock.
    `lock --keep` writes the versions installed now, without upgrading."""
    if setup():
        return 1
    if "--keep" not in args and run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "-e", f".[{EXTRAS}]"):
        return 1
    frozen = subprocess.run([str(PY), "-m", "pip", "freeze", "--exclude-editable"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout
    blas = subprocess.run([str(PY), "-c", "from threadpoolctl import threadpool_info as i; import numpy; "
                           "print(' '.join(f\"{b['internal_api']} {b['version']} {b.get('architecture')}\" for b in i() "
                           "if b['user_api'] == 'blas'))"], capture_output=True, text=True, env=lesson_env())
    header = ["# The versions the lessons' stored outputs were computed with; `python3 tasks.py setup` (and so CI)",
              "# installs them, a plain `pip install bn-teach` does not. Refresh: `python3 tasks.py lock`, then",
              "# re-execute the notebooks. tests/test_lock.py checks the installed versions against this file.",
              f"# python {sys.version_info.major}.{sys.version_info.minor}",
              f"# blas {blas.stdout.strip() or 'unknown'}"]
    LOCK.write_text("\n".join(header) + "\n" + frozen)
    print(f"wrote {LOCK.name}: {len(frozen.splitlines())} packages")
    return setup()


def kernel(*args):
    """Install a Jupyter kernel "Python (bn-teach)" for this environment that pins OpenBLAS's kernel (see
    lesson_env): a lesson run with it in any Jupyter (a hub, conda) gives the stored digits. Extra arguments go to
    `ipykernel install` (default: --user; e.g. --sys-prefix for a hub's shared environment)."""
    if setup():
        return 1
    pins = [a for k, v in lesson_env().items() if k == "OPENBLAS_CORETYPE" for a in ("--env", k, v)]
    return run(PY, "-m", "ipykernel", "install", *(args or ["--user"]), "--name", "bn-teach",
               "--display-name", "Python (bn-teach)", *pins)


def lab(*args):
    return setup() or run(PY, "-m", "jupyter", "lab", "--notebook-dir", ROOT / "notebooks", *args)


def test(*args):
    return setup() or run(PY, "-m", "pytest", *args, env=lesson_env(MPLBACKEND="Agg"))


def html(*args):
    """Static pages of the lessons as stored (no kernel needed to read them), with an index page."""
    return setup() or run(PY, ROOT / "scripts" / "render_html.py", *args)


def voila(notebook="notebooks/02_inside_batchnorm.ipynb", *args):
    return setup() or run(PY, "-m", "voila", notebook, *args)


def node_tools():
    """The npm packages of package.json (the hub's proxy, reveal.js and MathJax for offline decks), once."""
    modules = ROOT / "node_modules"
    if (modules / ".bin" / "configurable-http-proxy").exists() and (modules / "reveal.js").exists():
        return 0
    return run("npm", "ci", "--no-audit", "--no-fund")


def hub(*args):
    """JupyterHub on 127.0.0.1:8000 with deploy/jupyterhub/jupyterhub_config_local.py; lessons pulled from this
    clone (BN_TEACH_REPO overrides). Ctrl-C stops the hub and every student's server."""
    if setup() or node_tools():
        return 1
    env = lesson_env()
    env.setdefault("BN_TEACH_REPO", str(ROOT))
    print("JupyterHub at http://127.0.0.1:8000 - log in as 'teacher' (admin, any password) or any student name")
    cmd = [str(PY), "-m", "jupyterhub", "-f", str(ROOT / "deploy" / "jupyterhub" / "jupyterhub_config_local.py"),
           *args]
    print("+", " ".join(cmd), flush=True)
    hub_proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        return hub_proc.wait()
    except KeyboardInterrupt:   # let the hub stop the students' servers and its proxy, however long that takes
        try:
            return hub_proc.wait(timeout=2)   # Ctrl-C in a terminal reaches the hub itself
        except subprocess.TimeoutExpired:
            hub_proc.send_signal(signal.SIGINT)
            return hub_proc.wait()


def slides(*args):
    """Offline reveal.js decks of every lesson (stored outputs) in site/slides/."""
    return setup() or node_tools() or run(PY, ROOT / "scripts" / "render_slides.py", *args)


def bench(*args):
    if setup():
        return 1
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        if run(PY, script, *args):
            return 1
    return 0


TASKS = {"setup": setup, "lab": lab, "test": test, "html": html, "voila": voila, "bench": bench, "lock": lock,
         "kernel": kernel, "hub": hub, "slides": slides}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(__doc__)
        sys.exit(2)
    sys.exit(TASKS[sys.argv[1]](*sys.argv[2:]))
