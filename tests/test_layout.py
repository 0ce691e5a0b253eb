"""The package's two tiers: a core, and one module per lesson that imports the core and never another lesson."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "bn_teach"
LESSONS = sorted(p for p in (PKG / "lessons").glob("l[0-9][0-9]_*.py"))
CORE = sorted(p for p in PKG.glob("*.py") if p.name != "__init__.py")


def imported_modules(path):
    """(module, names) for every import in a file, relative imports resolved to bn_teach.* names."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names = [alias.name for alias in node.names]
            if node.module is None:  # `from . import x`: each name is a module
                out += [(f"{module}.{n}", []) for n in names]
            else:
                out.append((module, names))
    return out


def test_every_lesson_notebook_has_its_module():
    numbers = sorted(p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if p.name[:2] != "00")
    assert numbers == [p.name[1:3] for p in LESSONS]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_a_lesson_imports_the_core_never_another_lesson(path):
    for module, names in imported_modules(path):
        assert not module.startswith("bn_teach.lessons"), f"{path.name} imports {module}"
        assert not module.startswith("bn_teach.exercises"), f"{path.name} imports {module}"


@pytest.mark.parametrize("path", LESSONS + sorted((PKG / "exercises").glob("*.py")), ids=lambda p: p.stem)
def test_lessons_and_exercises_use_only_public_names_of_the_core(path):
    for module, names in imported_modules(path):
        if module.startswith("bn_teach.") and module.count(".") == 1:  # a core module
            assert not [n for n in names if n.startswith("_")], f"{path.name} imports private {names} of {module}"
    assert not re.search(r"\b(layers|network|training|plots|widgets|parallel|runs)\._[a-z]", path.read_text())


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.stem)
def test_the_core_does_not_depend_on_lessons_or_exercises(path):
    for module, _ in imported_modules(path):
        assert not module.startswith(("bn_teach.lessons", "bn_teach.exercises")), f"{path.name} imports {module}"


def test_one_meaning_per_public_name():
    """No public module-level name is defined in two modules of the package (re-exports are imports, not counted)."""
    seen = {}
    for path in CORE + LESSONS + sorted((PKG / "exercises").glob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        tree = ast.parse(path.read_text())
        defined = set()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Assign):
                defined |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        for name in defined:
            if not name.startswith("_") and name not in ("main", "seed_sweep"):  # seed_sweep: one per lesson, by design
                seen.setdefault(name, []).append(module)
    clashes = {name: mods for name, mods in seen.items() if len(mods) > 1}
    assert not clashes, f"names defined in more than one module: {clashes}"
