"""A class on the real JupyterHub of deploy/jupyterhub: three students log in at once, each server pulls the
lessons with nbgitpuller, each runs lesson 2 to completion in a kernel of their own, with the lesson's stored
numbers and no error; each student's files are their own. Timings go to artifacts/hub/timings.json."""
import json
import re
import threading
import time
import urllib.error
from pathlib import Path

import nbformat
import psutil
import pytest

from .conftest import ROOT, sizing
from .student import Student

STUDENTS = ["ada", "grace", "alan"]
LESSON = "02_inside_batchnorm.ipynb"
LESSON_PATH = f"bn-teach/notebooks/{LESSON}"
ARTIFACTS = ROOT / "artifacts" / "hub"


def _stdout(outputs):
    return "".join(o["text"] for o in outputs if o["output_type"] == "stream" and o["name"] == "stdout")


def _server_pss_mib(name):
    """PSS of a student's single-user server process, and of it with its kernels (their descendants)."""
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any("jupyterhub-singleuser" in a for a in p.info["cmdline"] or []) \
                    and p.environ().get("JUPYTERHUB_USER") == name:
                alone = p.memory_full_info().pss
                tree = alone + sum(c.memory_full_info().pss for c in p.children(recursive=True))
                return alone / 2**20, tree / 2**20
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return None, None


def _class_session(student, hub, results, barrier):
    """One student's whole session; anything that goes wrong is stored and re-raised by the test."""
    try:
        barrier.wait(timeout=60)
        results["landing"] = student.login()
        results["first_page"] = student.open_server()
        results["pull"] = student.git_pull(hub["repo"], "main", "bn-teach")
        student.start_kernel(LESSON_PATH)
        nb = nbformat.reads(json.dumps(student.api(f"contents/{LESSON_PATH}")["content"]), as_version=4)
        results["cells"] = []
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.source.strip():
                results["cells"].append((cell, student.execute(cell.source)))
        student.times["done"] = time.perf_counter()
        # a file of their own, written by their kernel in their lesson folder
        results["cwd"] = _stdout(student.execute(
            f"import os; open('answers.txt', 'w').write('answers of {student.name}'); print(os.getcwd())")).strip()
        results["pss"] = _server_pss_mib(student.name)
    except BaseException as e:   # noqa: BLE001 (re-raised in the test's thread)
        results["error"] = e
    finally:
        student.close()


def test_three_students_run_a_lesson_at_once(hub):
    students = [Student(hub["url"], name) for name in STUDENTS]
    results = {s.name: {} for s in students}
    barrier = threading.Barrier(len(students))
    threads = [threading.Thread(target=_class_session, args=(s, hub, results[s.name], barrier)) for s in students]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    for s in students:
        if "error" in results[s.name]:
            raise AssertionError(f"{s.name}: {results[s.name]['error']!r}\nhub log tail:\n"
                                 f"{hub['log'].read_text()[-3000:]}") from results[s.name]["error"]

    stored = nbformat.read(ROOT / "notebooks" / LESSON, as_version=4)
    stored_stdout = [_stdout(c.outputs) for c in stored.cells if c.cell_type == "code" and c.source.strip()]
    timings = {}
    limits = sizing.constants()
    for s in students:
        r = results[s.name]
        # logging in starts the server and lands on the one link's page: nbgitpuller, then the lesson index
        assert "/git-pull?" in r["first_page"] and "00_index.ipynb" in r["first_page"], r["first_page"]
        assert r["pull"][-1]["phase"] == "finished", r["pull"][-3:]
        errors = [(c.source[:60], o) for c, outs in r["cells"] for o in outs
                  if o["output_type"] == "error" or (o.get("name") == "stderr" and "Error" in o["text"])]
        assert not errors, f"{s.name}: {errors[:2]}"
        assert [_stdout(outs) for _, outs in r["cells"]] == stored_stdout, f"{s.name}: printed numbers differ"
        assert any("image/png" in o.get("data", {}) or "application/vnd.jupyter.widget-view+json" in o.get("data", {})
                   for _, outs in r["cells"] for o in outs), f"{s.name}: no figure"
        home = hub["homes"] / s.name
        assert Path(r["cwd"]) == home / "bn-teach" / "notebooks", r["cwd"]
        assert (home / "bn-teach" / "notebooks" / "answers.txt").read_text() == f"answers of {s.name}"
        mine = s.api("contents/bn-teach/notebooks/answers.txt")
        assert mine["content"] == f"answers of {s.name}"
        server_mib, with_kernel_mib = r["pss"]
        assert with_kernel_mib is not None and with_kernel_mib < sizing.mib(limits["MEM_LIMIT"]), r["pss"]
        t = s.times
        timings[s.name] = {"login_to_server_s": round(t["server_ready"] - t["login"], 2),
                           "login_to_lessons_pulled_s": round(t["pulled"] - t["login"], 2),
                           "login_to_first_output_s": round(t["first_output"] - t["login"], 2),
                           "login_to_lesson_done_s": round(t["done"] - t["login"], 2),
                           "server_pss_mib": round(server_mib), "server_and_kernel_pss_mib": round(with_kernel_mib)}
    # each student's server refuses another student: the hub's OAuth hand-off answers 403
    intruder = students[0]
    for path in ("api/contents/bn-teach/notebooks/answers.txt", "lab"):
        with pytest.raises(urllib.error.HTTPError) as denied:
            intruder.http.open(f"{hub['url']}/user/{STUDENTS[1]}/{path}")
        denied.value.close()   # an HTTPError holds its response's socket open
        assert denied.value.code == 403, path
    # the idle culler runs as a hub service and may list the users' activity (its role's scopes are enough)
    log = hub["log"].read_text()
    assert re.search(r" 200 GET /hub/api/users\S* \(idle-culler@", log), "the idle culler is not reading the hub"
    assert "idle-culler" not in "".join(line for line in log.splitlines() if " 403 " in line)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=1))
    print(f"\n{len(STUDENTS)} students at once, {LESSON}:")
    for name, t in timings.items():
        print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in t.items()))
