"""JupyterHub for a class on one server: every student gets JupyterLab on the bn-teach lessons.

    jupyterhub -f deploy/jupyterhub/jupyterhub_config.py        # a real class (see deploy/jupyterhub/README.md)
    python3 tasks.py hub                                         # try it locally (jupyterhub_config_local.py)

Run the hub from the environment bn-teach is installed in (`python3 tasks.py setup`, or the conda environment of
environment.yml): each student's server is that environment's `jupyterhub-singleuser`, so `import bn_teach` works
in every kernel. On first login a student's server pulls the lessons into ~/bn-teach with nbgitpuller (the same
link the teacher hands out, see TEACHING.md) and opens JupyterLab on the lesson index.

What a real deployment must set itself (this file does not guess them): an authenticator (your school's OAuth,
LDAP, ...), a spawner that runs each student as their own user with enforced limits (systemdspawner on one
server; KubeSpawner on Kubernetes, deploy/z2jh/config.yaml), TLS in front of the proxy, and BN_TEACH_REPO.

Settings from the environment:
    BN_TEACH_REPO     git URL the lessons are pulled from (default: the URL this clone was cloned from)
    BN_TEACH_BRANCH   branch to pull (default: the remote's default branch)
    BN_TEACH_TEACHER  comma-separated admin users (default: teacher)
    BN_TEACH_HUB_URL  where the hub listens (default: http://127.0.0.1:8000; put TLS in front of it)
    BN_TEACH_MAX_STUDENTS  servers running at once (default: what deploy/sizing.py finds this machine holds)
"""
import importlib.util
import os
import platform
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

c = get_config()  # noqa: F821 (injected by JupyterHub's config loader)

ROOT = Path(__file__).resolve().parents[2]

# ---- Per-student limits -------------------------------------------------------------------------------------------
# Measured with deploy/measure_student.py: one kernel running a lesson as a hub user (BN_TEACH_WORKERS=1), on the
# 2-core development machine, three runs each (a machine shared with other work): lesson 3 peaks at 211-214 MiB
# (the most memory) and takes 16.7-17.4 CPU-seconds; lesson 4 167-169 MiB and 19.2-19.9 CPU-seconds (the most
# CPU); lesson 7 188-191 MiB, 7.4-8.4 CPU-seconds. The other lessons, once each by benchmarks/bench_classroom.py
# --write-teaching with BN_TEACH_WORKERS=1 (TEACHING.md's table): 97-153 MiB, at most 16.3 CPU-seconds. A student's
# jupyterhub-singleuser process adds MEM_SERVER_MIB (PSS, measured by tests/hub/test_hub.py: 129 MiB in each of
# three servers; 221 MiB with lesson 2's kernel). Re-measure when a lesson changes:
#   python deploy/measure_student.py --repeat 3     (every lesson; prints the largest peak and the most CPU)
MEM_LESSON_PEAK_MIB = 212      # peak PSS of a kernel running the most memory-hungry lesson (3: 209-212)
MEM_SERVER_MIB = 129           # PSS of a student's jupyterhub-singleuser process itself
CPU_SECONDS_LESSON = 17.1      # CPU-seconds of the heaviest lesson top to bottom (lesson 4: 16.9-17.1, three runs)
# guarantee: the server and one kernel at the heaviest lesson's peak (129 + 212 = 341 MiB), rounded up; limit: room
# for a second open lesson (129 + 2 x 212 = 553 MiB)
MEM_GUARANTEE = "384M"
MEM_LIMIT = "768M"
CPU_GUARANTEE = 0.5            # a whole class running lesson 4 at once still finishes within 17.1 / 0.5 = 34 s
CPU_LIMIT = 1.0                # one core: BN_TEACH_WORKERS=1 and one BLAS thread, no oversubscription
CULL_IDLE_SECONDS = 3600       # stop a server after an hour without activity (a class period plus a break)
CULL_EVERY_SECONDS = 300       # how often the culler looks

LESSONS_DIR = "bn-teach"       # where the lessons land in each student's home
FIRST_PAGE = f"lab/tree/{LESSONS_DIR}/notebooks/00_index.ipynb"


def _origin_url():
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "remote", "get-url", "origin"], capture_output=True,
                             text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def pull_link_path(repo, branch=None):
    """The nbgitpuller path (relative to a student's server) that clones or updates the lessons, then opens
    JupyterLab on the index. The link handed out is https://HUB/hub/user-redirect/ + this path."""
    query = {"repo": repo, "urlpath": FIRST_PAGE, "targetpath": LESSONS_DIR}
    if branch:
        query["branch"] = branch
    return "git-pull?" + urlencode(query)


def _students_here():
    """Servers this machine holds at once (deploy/sizing.py: the table in TEACHING.md, for this machine)."""
    spec = importlib.util.spec_from_file_location("bn_teach_sizing", ROOT / "deploy" / "sizing.py")
    sizing = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sizing)
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return max(1, sizing.students_per_node(os.cpu_count() or 1, mem_gib)[0])


REPO = os.environ.get("BN_TEACH_REPO") or _origin_url()
BRANCH = os.environ.get("BN_TEACH_BRANCH") or None

# ---- The hub ------------------------------------------------------------------------------------------------------
c.JupyterHub.bind_url = os.environ.get("BN_TEACH_HUB_URL", "http://127.0.0.1:8000")
c.Authenticator.admin_users = {u.strip() for u in os.environ.get("BN_TEACH_TEACHER", "teacher").split(",")
                               if u.strip()}
c.JupyterHub.active_server_limit = int(os.environ.get("BN_TEACH_MAX_STUDENTS") or _students_here())
c.JupyterHub.concurrent_spawn_limit = 10   # a class logging in at once queues instead of overloading the server

# ---- Every student's server ---------------------------------------------------------------------------------------
c.Spawner.cmd = [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]   # this environment, bn-teach in it
c.Spawner.default_url = "/" + (pull_link_path(REPO, BRANCH) if REPO else FIRST_PAGE)
c.Spawner.mem_guarantee = MEM_GUARANTEE
c.Spawner.mem_limit = MEM_LIMIT
c.Spawner.cpu_guarantee = CPU_GUARANTEE
c.Spawner.cpu_limit = CPU_LIMIT
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120
threads = str(max(1, int(CPU_LIMIT)))
c.Spawner.environment = {
    "BN_TEACH_WORKERS": threads,        # lessons' grids run in the kernel, not on every core of the server
    "OPENBLAS_NUM_THREADS": threads,    # OpenBLAS threads busy-wait: more threads than CPUs is much slower
    "OMP_NUM_THREADS": threads,
    "MKL_NUM_THREADS": threads,
}
if platform.machine().lower() in ("x86_64", "amd64"):
    c.Spawner.environment["OPENBLAS_CORETYPE"] = "Haswell"   # the kernel the stored outputs were computed with

# ---- Idle culling: jupyterhub-idle-culler as a hub-managed service -----------------------------------------------
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={CULL_IDLE_SECONDS}",
                f"--cull-every={CULL_EVERY_SECONDS}"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
