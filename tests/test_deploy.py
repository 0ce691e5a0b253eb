"""The class deployments agree with each other and with what CI tests: the Zero to JupyterHub values (which
cannot run here) carry the hub config's measured per-student constants, the user image is built from the
environment.yml that CI's environment mirrors, and TEACHING.md's sizing table is the one deploy/sizing.py derives."""
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
Z2JH = ROOT / "deploy" / "z2jh" / "config.yaml"

spec = importlib.util.spec_from_file_location("bn_teach_sizing", ROOT / "deploy" / "sizing.py")
sizing = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sizing)
HUB = sizing.constants()


@pytest.fixture(scope="module")
def values():
    return yaml.safe_load(Z2JH.read_text())


def test_per_student_limits_are_the_hub_configs(values):
    user = values["singleuser"]
    assert user["cpu"] == {"guarantee": HUB["CPU_GUARANTEE"], "limit": HUB["CPU_LIMIT"]}
    assert sizing.mib(user["memory"]["guarantee"]) == sizing.mib(HUB["MEM_GUARANTEE"])
    assert sizing.mib(user["memory"]["limit"]) == sizing.mib(HUB["MEM_LIMIT"])
    assert values["cull"] == {"enabled": True, "timeout": HUB["CULL_IDLE_SECONDS"],
                              "every": HUB["CULL_EVERY_SECONDS"]}
    threads = str(int(HUB["CPU_LIMIT"]))
    for key in ("BN_TEACH_WORKERS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        assert user["extraEnv"][key] == threads, key
    assert user["defaultUrl"] == f"/lab/tree/{HUB['LESSONS_DIR']}/notebooks/00_index.ipynb"   # FIRST_PAGE
    pull = user["lifecycleHooks"]["postStart"]["exec"]["command"]
    assert pull[0] == "gitpuller" and pull[-1] == HUB["LESSONS_DIR"]


def test_limits_hold_the_measured_student():
    """Guarantee: a server and one kernel at lesson 3's peak; limit above it; CPU limit one whole core."""
    need = HUB["MEM_SERVER_MIB"] + HUB["MEM_LESSON_PEAK_MIB"]
    assert need <= sizing.mib(HUB["MEM_GUARANTEE"]) < sizing.mib(HUB["MEM_LIMIT"])
    assert 0 < HUB["CPU_GUARANTEE"] <= HUB["CPU_LIMIT"] and float(HUB["CPU_LIMIT"]).is_integer()


def test_the_user_image_is_built_from_the_environment_ci_mirrors(values):
    text = Z2JH.read_text()
    assert re.search(r"repo2docker .*--target-repo-dir /srv/bn-teach", text), "the image build command"
    assert "environment.yml" in text
    # repo2docker reads binder/ or .binder/ first, and other files beside environment.yml change what it builds
    for shadow in ["binder", ".binder", "requirements.txt", "Pipfile", "setup.py", "apt.txt", "postBuild",
                   "Dockerfile", "runtime.txt"]:
        assert not (ROOT / shadow).exists(), f"{shadow} would change the image repo2docker builds"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = " ".join(d if isinstance(d, str) else " ".join(d.get("pip", [])) for d in env["dependencies"])
    for needed in ("jupyterhub", "nbgitpuller", "jupyterlab-rise", "jupyterlab=4", "ipywidgets=8", "-e ."):
        assert needed in names, f"environment.yml lacks {needed}: the user image would too"


def test_teaching_sizing_table_is_derived_from_the_measured_numbers():
    teaching = (ROOT / "TEACHING.md").read_text()
    assert sizing.table() in teaching, "TEACHING.md's sizing table differs from `python deploy/sizing.py`"


def test_sizing_binds_on_the_tighter_budget():
    c = dict(HUB, CPU_GUARANTEE=0.5, MEM_GUARANTEE="1G")
    assert sizing.students_per_node(4, 16, c) == (7, 7, 15)     # (4 - 0.5) / 0.5 = 7 by CPU, (16 - 1) / 1 by memory
    assert sizing.students_per_node(16, 8, c)[0] == 7            # memory binds


def test_teaching_class_table_is_derived_from_its_lesson_table():
    """`bench_classroom.py --write-teaching` writes both tables of "A class on one server"; a hand edit of one must
    not leave the other behind."""
    teaching = (ROOT / "TEACHING.md").read_text()
    block = teaching[teaching.index(sizing.GENERATED[0]):teaching.index(sizing.GENERATED[1])]
    rows = sizing.parse_lesson_table(block)
    lessons = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if not p.name.startswith("00"))
    assert [title.split(".")[0] for title, *_ in rows] == [str(int(p.name[:2])) for p in lessons]
    assert sizing.class_table(rows) in block
