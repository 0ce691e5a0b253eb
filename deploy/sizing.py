"""How many students fit on one server (or one Kubernetes node), from the measured per-student numbers in
deploy/jupyterhub/jupyterhub_config.py.

    python deploy/sizing.py          # the sizing table of TEACHING.md (a test checks they agree)

A node holds as many students as both of its budgets allow, after a reserve for the system (and the hub):
- CPU: every student's CPU guarantee. CPU_GUARANTEE is chosen so that when the whole class runs the heaviest lesson
  (CPU_SECONDS_LESSON of CPU) at the same moment, it finishes within CPU_SECONDS_LESSON / CPU_GUARANTEE s.
- memory: every student's memory guarantee (their server plus one kernel at the heaviest lesson's peak, rounded up).
"""
import ast
import math
import re
from pathlib import Path

HUB_CONFIG = Path(__file__).resolve().parent / "jupyterhub" / "jupyterhub_config.py"
RESERVE_CORES = 0.5      # the OS, the hub and the proxy (or Kubernetes' own pods)
RESERVE_GIB = 1.0
NODES = [(2, 8), (4, 16), (8, 32), (16, 64), (32, 128)]   # (cores, GiB): common server / cloud node sizes


def constants(path=HUB_CONFIG):
    """The upper-case literal constants of the hub config (read, not executed)."""
    out = {}
    for node in ast.parse(Path(path).read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id.isupper():
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


def mib(size):
    """JupyterHub's byte specification ('384M', '1G', '1.5G', or bytes) in MiB."""
    number, unit = re.fullmatch(r"([\d.]+)([KMGT]?)", str(size)).groups()
    return float(number) * {"K": 2**-10, "": 2**-20, "M": 1, "G": 2**10, "T": 2**20}[unit]


def students_per_node(cores, mem_gib, c=None):
    c = c or constants()
    by_cpu = math.floor((cores - RESERVE_CORES) / c["CPU_GUARANTEE"] + 1e-9)
    by_mem = math.floor((mem_gib - RESERVE_GIB) * 1024 / mib(c["MEM_GUARANTEE"]) + 1e-9)
    return max(0, min(by_cpu, by_mem)), by_cpu, by_mem


def table(c=None):
    c = c or constants()
    wait = c["CPU_SECONDS_LESSON"] / c["CPU_GUARANTEE"]
    lines = [f"| node (cores, memory) | students | limited by | heaviest lesson, whole class at once |",
             "|---|---|---|---|"]
    for cores, gib in NODES:
        n, by_cpu, by_mem = students_per_node(cores, gib, c)
        lines.append(f"| {cores} cores, {gib} GiB | {n} | {'CPU' if by_cpu <= by_mem else 'memory'} "
                     f"| ≤ {wait:.0f} s |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
