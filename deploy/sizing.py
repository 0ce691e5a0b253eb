"""How many students fit on one server (or one Kubernetes node), from the measured per-student numbers in
deploy/jupyterhub/jupyterhub_config.py.

    python deploy/sizing.py                    # the sizing table of TEACHING.md (a test checks they agree)
    python deploy/sizing.py --write-teaching   # ... written into TEACHING.md

Also the tables of TEACHING.md's "A class on one server" (the lessons' default settings, no hub limits), written by
`python benchmarks/bench_classroom.py --write-teaching` from what it measures: `lesson_table` (per lesson: CPU
seconds and peak MiB per student) and `class_table` (students a server holds, derived from the lesson table; a test
checks that TEACHING.md's is).

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


# ---- A class on one server, default settings (TEACHING.md) -----------------------------------------------------
CLASS_CORES = (2, 4, 8, 16, 32)
CLASS_GIB = (4, 8, 16, 32, 64)
CLASS_SECONDS = 60          # the whole class starts the heaviest lesson at once: its training within a minute
CLASS_MEMORY_SHARE = 0.8    # of the server's memory, for the students' kernels
GENERATED = ("<!-- from here to the end marker: written by `python benchmarks/bench_classroom.py --write-teaching` "
             "-->", "<!-- end of the tables written by bench_classroom.py -->")


def _span(values, digits):
    lo, hi = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
    return lo if lo == hi else f"{lo}–{hi}"


def lesson_table(rows):
    """Markdown: one row per lesson, rows = [(title, [CPU s per run], [peak MiB per run], [peak MiB with
    BN_TEACH_WORKERS=1 per run])], each a range over the runs."""
    lines = ["| lesson | CPU seconds per student | peak MiB per student | peak MiB with `BN_TEACH_WORKERS=1` |",
             "|---|---|---|---|"]
    for title, cpu, peak, peak_one in rows:
        lines.append(f"| {title} | {_span(cpu, 1)} | {_span(peak, 0)} | {_span(peak_one, 0)} |")
    return "\n".join(lines)


def parse_lesson_table(text):
    """The rows of the first `lesson_table` in text, each value the largest of its range: [(title, CPU s, peak MiB,
    peak MiB with BN_TEACH_WORKERS=1)]."""
    lines = text[text.index(lesson_table([]).splitlines()[0]):].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        title, *cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append((title, *(float(c.split("–")[-1]) for c in cells)))
    return rows


def class_table(rows):
    """Markdown: students whose training cells finish within CLASS_SECONDS when all start the heaviest lesson at
    once, on servers of CLASS_CORES x CLASS_GIB with CLASS_MEMORY_SHARE of the memory for kernels, from the
    largest CPU seconds and peaks of `parse_lesson_table` rows; then the formula, with its numbers."""
    cpu = max(r[1] for r in rows)
    peak, peak_one = max(r[2] for r in rows), max(r[3] for r in rows)

    def students(cores, gib, mib):
        return min(math.floor(CLASS_SECONDS * cores / cpu + 1e-9),
                   math.floor(CLASS_MEMORY_SHARE * gib * 1024 / mib + 1e-9))

    lines = ["| cores \\ memory | " + " | ".join(f"{g} GiB" for g in CLASS_GIB) + " |",
             "|---" * (len(CLASS_GIB) + 1) + "|"]
    for cores in CLASS_CORES:
        lines.append(f"| {cores} | " + " | ".join(f"{students(cores, g, peak)} ({students(cores, g, peak_one)})"
                                                 for g in CLASS_GIB) + " |")
    lines += ["", f"Each cell: min({CLASS_SECONDS} s x cores / {cpu:g} CPU s, {CLASS_MEMORY_SHARE * 100:.0f} % of memory / "
                  f"{peak:.0f} MiB), and in brackets the same with `BN_TEACH_WORKERS=1` ({peak_one:.0f} MiB)."]
    return "\n".join(lines)


def write_teaching(path=Path(__file__).resolve().parents[1] / "TEACHING.md"):
    """Replace the hub's sizing table in TEACHING.md (from its header row to the blank line after it) by table()."""
    text = path.read_text()
    start = text.index(table().splitlines()[0])
    end = text.index("\n\n", start)
    path.write_text(text[:start] + table() + text[end:])


if __name__ == "__main__":
    import sys

    if "--write-teaching" in sys.argv[1:]:
        write_teaching()
    print(table())
