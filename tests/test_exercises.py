"""The exercise notebooks with the solutions filled in: executed top to bottom, every check passes, and the solved
notebooks then pass strict nbval. (The committed notebooks, with their unsolved stubs, are checked by the plain
nbval run over notebooks/.)"""
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = sorted((ROOT / "notebooks" / "exercises").glob("E*.ipynb"))


def _solved(path):
    """The notebook with its exercise cell replaced by the solution named in the cell's metadata."""
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "exercise" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name}: expected one cell tagged 'exercise'"
    cells[0].source = (ROOT / "solutions" / cells[0].metadata["solution"]).read_text().strip()
    return nb


def _text(cell):
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)


def test_there_are_six_exercises_each_with_a_solution():
    assert [p.stem for p in EXERCISES] == ["E1_forward", "E2_running_stats", "E3_backward", "E4_train_step",
                                           "E5_fold_batchnorm", "E6_gradient_check"]
    for path in EXERCISES:
        _solved(path)


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_unsolved_notebook_says_not_implemented(path):
    nb = nbformat.read(path, as_version=4)
    checks = [c for c in nb.cells if c.cell_type == "code" and "check_" in c.source and "import" not in c.source]
    assert checks and all("not implemented yet" in _text(c) for c in checks)


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_solved_notebook_passes_its_check_and_strict_nbval(path, tmp_path):
    nb = _solved(path)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    checks = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("check_")]
    assert checks, "no check cell"
    for cell in checks:
        text = _text(cell)
        assert "✓ all" in text and "✗" not in text, text
    solved = tmp_path / path.name
    nbformat.write(nb, solved)
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "no:cacheprovider",
                          "-q", "-o", "addopts=", "--rootdir", str(tmp_path), str(solved)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
