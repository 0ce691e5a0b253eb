"""A class on one server: K students run a lesson at once, each in a real kernel, as a hub user would.

    python benchmarks/bench_classroom.py [--lesson 03] [--students 4] [--baseline REF] [--no-sizing]
    python benchmarks/bench_classroom.py --no-classroom [--only 04]      # the sizing table only
    python benchmarks/bench_classroom.py --write-teaching                # measure, then rewrite TEACHING.md's tables

Every student is a separate process that executes the lesson with nbclient in a fresh kernel, in a hub user's
environment: OPENBLAS_*, OMP_*, MKL_* and BN_TEACH_* removed (nothing set by tasks.py). For each student it
measures the kernel's wall-clock time, the CPU seconds of the kernel and everything it starts (its own and its
reaped children's, from getrusage after the workers are shut down), and the peak PSS of the kernel and all its
descendants (sampled every 0.25 s; PSS, not RSS, since spawned workers share pages).

Printed, in one run:
- sizing: each lesson alone (K = 1): seconds, CPU seconds, peak MiB per student (TEACHING.md's table);
- lesson 3 (or --lesson) alone and with K students at once: the time for all K to finish, against the CPU-bound
  ideal K x (CPU seconds of the student alone) / cores. Target (issue 14): ratio <= 1.25; peak <= 250 MiB;
- with --baseline REF (a git commit, e.g. the one before issue 14): the same lesson alone with that version of
  bn_teach (its CPU seconds and time beside today's: one student must be no slower and use no more CPU).
--write-teaching measures the sizing table only: every lesson alone --runs times (default 3) and once more with
BN_TEACH_WORKERS=1, then writes TEACHING.md's tables of "A class on one server" (per lesson; students per server,
derived by deploy/sizing.py) between their markers, and prints the hub's numbers (BN_TEACH_WORKERS=1) beside
the constants of deploy/jupyterhub/jupyterhub_config.py.
The machine's load average is printed at the start and the end (other users of a shared machine show there).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HUB_STRIP = re.compile(r"^(OPENBLAS_|OMP_|MKL_|BN_TEACH_)")
FINAL = """
import bn_teach.parallel as _p, resource as _r, json as _j
if hasattr(_p, "shutdown"):
    _p.shutdown()
elif getattr(_p, "_POOL", None) is not None:
    _p._POOL.shutdown(wait=True)
_s, _c = _r.getrusage(_r.RUSAGE_SELF), _r.getrusage(_r.RUSAGE_CHILDREN)
print("BENCH" + _j.dumps(dict(cpu=_s.ru_utime + _s.ru_stime + _c.ru_utime + _c.ru_stime, module=_p.__file__)))
"""


def hub_env(extra_path=None):
    """This process's environment as a hub user's kernel would see it: no BLAS, OpenMP or bn-teach settings."""
    env = {k: v for k, v in os.environ.items() if not HUB_STRIP.match(k)}
    env.pop("PYTHONPATH", None)
    if extra_path:
        env["PYTHONPATH"] = str(extra_path)
    return env


def student(path):
    """Run one lesson in a fresh kernel (the student's process); print its measurements as JSON."""
    import nbformat
    import psutil
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=900,
                            resources={"metadata": {"path": str(Path(path).parent)}})
    peak, done = [0], threading.Event()

    def sample(pid):
        kernel = psutil.Process(pid)
        while not done.is_set():
            total = 0
            try:
                for p in [kernel] + kernel.children(recursive=True):
                    try:
                        total += p.memory_full_info().pss
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        pass
            except psutil.NoSuchProcess:
                break
            peak[0] = max(peak[0], total)
            done.wait(0.25)

    with client.setup_kernel():
        start = time.time()
        sampler = threading.Thread(target=sample, args=(client.km.provisioner.process.pid,), daemon=True)
        sampler.start()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        end = time.time()
        probe = nbformat.v4.new_code_cell(FINAL)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
        done.set()
        sampler.join()
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
    usage = json.loads(text.split("BENCH", 1)[1])
    print(json.dumps(dict(start=start, end=end, cpu=usage["cpu"], peak_mib=peak[0] / 2 ** 20,
                          module=usage["module"])))


def classroom(lesson, k, env):
    """K students at once: (seconds until all finish, [per-student measurements])."""
    procs = [subprocess.Popen([sys.executable, __file__, "--student", str(lesson)], env=env,
                              stdout=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(k)]
    results = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode:
            raise SystemExit(f"a student's run of {lesson.name} failed")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return max(r["end"] for r in results) - min(r["start"] for r in results), results


def busy_cpu_seconds():
    """CPU seconds the whole machine has spent busy since boot (all users; Linux /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def lesson_path(key):
    matches = sorted((ROOT / "notebooks").glob(f"{key}*.ipynb"))
    if not matches:
        raise SystemExit(f"no lesson matches {key!r}")
    return matches[0]


def lessons(only=None):
    """Every lesson notebook (not the index), or those whose name starts with `only`."""
    return [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
            if not p.name.startswith("00") and (not only or p.name.startswith(only))]


def lesson_title(path):
    """"4. The black cats" from the notebook's first heading."""
    import nbformat

    first = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0]
    return first.lstrip("# ").split(":")[0].strip()


def write_teaching(rows):
    """Write the per-lesson table and the students-per-server table into TEACHING.md between their markers, from
    rows of (lesson path, [CPU s], [peak MiB], measurement with BN_TEACH_WORKERS=1); print the hub's numbers."""
    sys.path.insert(0, str(ROOT / "deploy"))
    import sizing

    table = sizing.lesson_table([(lesson_title(path), cpu, peak, [one["peak_mib"]]) for path, cpu, peak, one in rows])
    block = "\n".join([sizing.GENERATED[0], table, "", sizing.class_table(sizing.parse_lesson_table(table)),
                       sizing.GENERATED[1]])
    teaching = ROOT / "TEACHING.md"
    text = teaching.read_text()
    start, end = text.index(sizing.GENERATED[0]), text.index(sizing.GENERATED[1]) + len(sizing.GENERATED[1])
    teaching.write_text(text[:start] + block + text[end:])
    print(f"\nwrote {teaching.name}:\n{block}")
    hub = sizing.constants()
    heavy = max(rows, key=lambda r: r[3]["peak_mib"])
    busy = max(rows, key=lambda r: r[3]["cpu"])
    print(f"\nthe hub's setting (BN_TEACH_WORKERS=1): largest peak {heavy[3]['peak_mib']:.0f} MiB ({heavy[0].name}), "
          f"most CPU {busy[3]['cpu']:.1f} s ({busy[0].name}); deploy/jupyterhub/jupyterhub_config.py has "
          f"MEM_LESSON_PEAK_MIB = {hub['MEM_LESSON_PEAK_MIB']}, CPU_SECONDS_LESSON = {hub['CPU_SECONDS_LESSON']} "
          "(from deploy/measure_student.py; update them, then `python deploy/sizing.py --write-teaching`)")


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="03", help="lesson for the K-student run (default 03)")
    parser.add_argument("--students", type=int, default=4, help="K (default 4)")
    parser.add_argument("--baseline", help="a git commit: also run the lesson alone with its bn_teach")
    parser.add_argument("--no-sizing", action="store_true", help="skip every lesson alone (the sizing table)")
    parser.add_argument("--no-classroom", action="store_true", help="skip the K-student run (sizing table only)")
    parser.add_argument("--workers", help="BN_TEACH_WORKERS for every kernel, as a teacher may set on a hub")
    parser.add_argument("--only", help="lessons for the sizing table (e.g. 04); default: all")
    parser.add_argument("--runs", type=int, help="runs of each lesson alone (default 1; 3 with --write-teaching)")
    parser.add_argument("--write-teaching", action="store_true",
                        help="measure the sizing table only and write it into TEACHING.md")
    parser.add_argument("--student", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write_teaching and (args.only or args.no_sizing or args.workers):
        parser.error("--write-teaching measures every lesson with the default settings: leave out --only, "
                     "--no-sizing and --workers")
    if args.student:
        return student(args.student)

    sys.path.insert(0, str(ROOT))
    warnings.simplefilter("ignore")  # bn_teach's note on the BLAS kernel: this process computes nothing
    from bn_teach.parallel import available_cpus

    cores = available_cpus()
    env = hub_env()
    setting = "no OPENBLAS_/OMP_/MKL_/BN_TEACH_ variables"
    if args.workers:
        env["BN_TEACH_WORKERS"] = args.workers
        setting = f"BN_TEACH_WORKERS={args.workers}, no other OPENBLAS_/OMP_/MKL_/BN_TEACH_ variables"
    print(f"{load()} at start; {cores} cores; hub environment ({setting})")
    runs = args.runs or (3 if args.write_teaching else 1)
    targets = []
    if not args.no_sizing:
        print(f"\nEach lesson alone (K = 1): per student\n{'lesson':40} {'seconds':>8} {'CPU s':>8} {'peak MiB':>9}")
        rows = []
        for path in lessons(args.only):
            measured = [classroom(path, 1, env) for _ in range(runs)]
            for seconds, (r,) in measured:
                print(f"{path.name:40} {seconds:8.1f} {r['cpu']:8.1f} {r['peak_mib']:9.0f}", flush=True)
                targets.append(r["peak_mib"] <= 250)
            if args.write_teaching:
                _, (one,) = classroom(path, 1, dict(env, BN_TEACH_WORKERS="1"))
                print(f"{path.name:40} {'':8} {one['cpu']:8.1f} {one['peak_mib']:9.0f}   with BN_TEACH_WORKERS=1")
                rows.append((path, [r["cpu"] for _, (r,) in measured], [r["peak_mib"] for _, (r,) in measured],
                             one))
        if args.write_teaching:
            write_teaching(rows)
    if args.no_classroom or args.write_teaching:
        if targets:
            print(f"every lesson's peak <= 250 MiB: {'met' if all(targets) else 'MISSED'}")
        print(f"{load()} at the end")
        return
    lesson = lesson_path(args.lesson)
    one_s, (one,) = classroom(lesson, 1, env)
    busy = busy_cpu_seconds()
    k_s, many = classroom(lesson, args.students, env)
    busy = busy_cpu_seconds() - busy if busy is not None else None
    ideal = args.students * one["cpu"] / cores
    ratio = k_s / ideal
    mean_cpu = sum(r["cpu"] for r in many) / len(many)
    peak = max(r["peak_mib"] for r in many + [one])
    print(f"\n{lesson.name}: one student alone and {args.students} at once on {cores} cores")
    print(f"  K = 1: {one_s:6.1f} s, {one['cpu']:6.1f} CPU s, peak {one['peak_mib']:5.0f} MiB")
    print(f"  K = {args.students}: {k_s:6.1f} s until all finish, {mean_cpu:6.1f} CPU s per student, "
          f"peak {max(r['peak_mib'] for r in many):5.0f} MiB per student")
    print(f"  CPU-bound ideal {args.students} x {one['cpu']:.1f} / {cores} = {ideal:.1f} s; "
          f"ratio {ratio:.2f} (target <= 1.25: {'met' if ratio <= 1.25 else 'MISSED'})")
    ours = sum(r["cpu"] for r in many)
    print(f"  the students got {ours / (k_s * cores):.0%} of the cores' time while they ran")
    if busy is not None:
        others = max(0.0, busy - ours)  # what other users of the machine took meanwhile
        left = cores - others / k_s
        print(f"  other processes (other users, the students' drivers) took {others / k_s:.2f} cores meanwhile; "
              f"ideal on the {left:.2f} cores left "
              f"{args.students * one['cpu'] / left:.1f} s, ratio {k_s * left / (args.students * one['cpu']):.2f}")
    print(f"  peak memory per student {peak:.0f} MiB (target <= 250: {'met' if peak <= 250 else 'MISSED'})")
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            archive = subprocess.run(["git", "archive", args.baseline], cwd=ROOT, capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
            base_s, (base,) = classroom(lesson, 1, hub_env(extra_path=tmp))
        assert base["module"].startswith(tmp), base["module"]
        print(f"  baseline {args.baseline[:10]} alone: {base_s:6.1f} s, {base['cpu']:6.1f} CPU s, peak "
              f"{base['peak_mib']:5.0f} MiB -> today / baseline: time {one_s / base_s:.2f}, "
              f"CPU {one['cpu'] / base['cpu']:.2f}")
    if targets:
        print(f"  every lesson's peak <= 250 MiB: {'met' if all(targets) else 'MISSED'}")
    print(f"{load()} at the end")


if __name__ == "__main__":
    main()
