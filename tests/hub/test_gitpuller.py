"""The one link to hand out is an nbgitpuller link: pulling the repository puts the lessons in a student's home,
and pulling again (the teacher pushed a fix) keeps what the student changed. nbgitpuller's own Python API, on a
local repository (no network)."""
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import _need, _need_git, git

LESSON = "notebooks/02_inside_batchnorm.ipynb"
OTHER = "notebooks/01_normalizing_inputs.ipynb"


def _pull(upstream, home):
    from nbgitpuller.pull import GitPuller
    return list(GitPuller(upstream.as_uri(), str(home / "bn-teach"), branch="main").pull())


@pytest.fixture()
def upstream(lessons_repo, tmp_path):
    _need_git()
    _need(importlib.util.find_spec("nbgitpuller") is not None, "nbgitpuller is not installed")
    repo = tmp_path / "teacher"
    git("clone", "-q", str(lessons_repo), str(repo), cwd=tmp_path)
    return repo


def _edit_first_markdown(path, text):
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    cell["source"] = [text]
    path.write_text(json.dumps(nb, indent=1) + "\n")


def test_first_pull_puts_every_lesson_in_place(upstream, tmp_path):
    home = tmp_path / "home"
    _pull(upstream, home)
    lessons = sorted(p.relative_to(upstream).as_posix() for p in (upstream / "notebooks").rglob("*.ipynb"))
    assert lessons and LESSON in lessons
    for rel in lessons:
        assert (home / "bn-teach" / rel).read_bytes() == (upstream / rel).read_bytes(), rel


def test_second_pull_keeps_the_students_edits_and_brings_the_teachers(upstream, tmp_path):
    home = tmp_path / "home"
    _pull(upstream, home)
    mine = home / "bn-teach"
    # the student writes in lesson 2, adds a file of their own, and deletes lesson 1 by mistake
    _edit_first_markdown(mine / LESSON, "# my notes on lesson 2\n")
    (mine / "notebooks" / "my_answers.txt").write_text("gamma = 0 kills the signal")
    (mine / OTHER).unlink()
    # the teacher fixes lesson 2 (same cell: a conflict) and adds a new file, and pushes
    _edit_first_markdown(upstream / LESSON, "# Inside batch normalization (revised)\n")
    (upstream / "notebooks" / "HOMEWORK.md").write_text("Do exercise 1.\n")
    git("add", "-A", cwd=upstream)
    git("commit", "-q", "-m", "teacher's fix", cwd=upstream)

    _pull(upstream, home)
    assert "# my notes on lesson 2" in (mine / LESSON).read_text()           # a conflict: the student wins
    assert "(revised)" not in (mine / LESSON).read_text()
    assert (mine / "notebooks" / "my_answers.txt").read_text() == "gamma = 0 kills the signal"
    assert (mine / "notebooks" / "HOMEWORK.md").read_text() == "Do exercise 1.\n"   # the teacher's new file
    assert (mine / OTHER).read_bytes() == (upstream / OTHER).read_bytes()   # a deleted lesson comes back


def test_the_gitpuller_command_pulls_too(upstream, tmp_path):
    """The command-line form (`gitpuller URL BRANCH DIR`), for a teacher preparing a home by hand."""
    gitpuller = shutil.which("gitpuller", path=str(Path(sys.executable).parent))
    assert gitpuller, "nbgitpuller's gitpuller command is missing"
    target = tmp_path / "by-hand"
    subprocess.run([gitpuller, upstream.as_uri(), "main", str(target)], check=True, capture_output=True)
    assert (target / LESSON).read_bytes() == (upstream / LESSON).read_bytes()
