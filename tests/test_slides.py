"""Slides: every lesson carries slide metadata by the rule of scripts/slide_metadata.py, and `tasks.py slides`
writes offline reveal.js decks that show the stored figures and load nothing from the network."""
import base64
import importlib.util
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
WIDGET = "application/vnd.jupyter.widget-view+json"


def _script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


slide_metadata = _script("slide_metadata")
LESSONS = slide_metadata.lessons()


def _types(nb):
    return [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_carries_the_rules_slide_metadata(path):
    nb = nbformat.read(path, as_version=4)
    types = _types(nb)
    assert types == slide_metadata.slide_types(nb.cells), \
        f"{path.name}: slide metadata differs from the rule: run python scripts/slide_metadata.py"
    assert types[0] == "slide" and nb.cells[0].source.startswith("# "), "the title slide"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            assert types[i] == "slide", f"{path.name}: section {cell.source.splitlines()[0]!r} is not a slide"
        if any(WIDGET in o.get("data", {}) for o in cell.get("outputs", [])):
            # a live figure: on its own slide, with at most its caption, and the next cell starts a new slide
            assert types[i] == "slide", f"{path.name}: live figure in cell {i} does not start a slide"
            following = [t for t, c in zip(types[i + 1:], nb.cells[i + 1:]) if not slide_metadata.is_caption(c)]
            assert not following or following[0] == "slide", f"{path.name}: cell {i} shares its slide"


def test_the_rule_is_idempotent_and_touches_only_metadata(tmp_path):
    for path in LESSONS:
        copy = tmp_path / path.name
        shutil.copy(path, copy)
        before = nbformat.read(copy, as_version=4)
        slide_metadata.apply(copy)
        assert not slide_metadata.apply(copy), f"{path.name}: a second run changed it again"
        after = nbformat.read(copy, as_version=4)
        assert [(c.source, c.get("outputs")) for c in after.cells] == \
               [(c.source, c.get("outputs")) for c in before.cells]


def test_the_rule_on_a_small_notebook():
    cells = [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("# setup\nimport x"),
             nbformat.v4.new_markdown_cell("## An idea"), nbformat.v4.new_code_cell("# compute\n1"),
             nbformat.v4.new_code_cell("# plot\n2"), nbformat.v4.new_markdown_cell("Read the plot."),
             nbformat.v4.new_code_cell("# live: sliders\nexplorer()"),
             nbformat.v4.new_markdown_cell("*Figure (live): ...*"), nbformat.v4.new_markdown_cell("Try this.")]
    assert slide_metadata.slide_types(cells) == ["slide", "-", "slide", "-", "subslide", "-", "slide", "-", "slide"]


# --- the decks -----------------------------------------------------------------------------------------------------
render_slides = _script("render_slides")
NEEDS_NPM = not (render_slides.MODULES / "reveal.js").exists() or not (render_slides.MODULES / "mathjax").exists()


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    if NEEDS_NPM:
        if os.environ.get("CI"):
            pytest.fail("node_modules/ is missing in CI: .ci/run must run npm ci")
        pytest.skip("reveal.js and MathJax are not installed (npm ci)")
    out = tmp_path_factory.mktemp("slides")
    return out, render_slides.render(out)


# what a page loads: scripts, style sheets, images, CSS imports and fonts (hyperlinks in the text are not loads)
_LOADS = re.compile(r"""<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc\s*=\s*["']([^"']+)["']"""
                    r"""|<link\b[^>]*\bhref\s*=\s*["']([^"']+)["']"""
                    r"""|@import\s+(?:url\()?["']?([^"')\s;]+)|url\(\s*["']?([^"')]+)["']?\s*\)"""
                    r"""|\bimport\s[^;]*?\bfrom\s*["']([^"']+)["']""", re.I)


def _loads(page):
    return [next(g for g in m.groups() if g) for m in _LOADS.finditer(page)]


def test_the_load_finder_sees_cdn_references():
    page = ('<script src="https://unpkg.com/reveal.js/dist/reveal.js"></script><link rel="stylesheet" '
            'href="//cdn.example/x.css"><style>@import url("https://fonts.example/f.css");</style>'
            '<script type="module">import mermaid from "https://cdn.example/mermaid.mjs";</script>'
            '<a href="https://arxiv.org/abs/1502.03167">a paper</a>')
    assert _loads(page) == ["https://unpkg.com/reveal.js/dist/reveal.js", "//cdn.example/x.css",
                            "https://fonts.example/f.css", "https://cdn.example/mermaid.mjs"]


def test_every_lesson_becomes_a_deck_that_loads_nothing_from_the_network(decks):
    out, written = decks
    assert [name for name, _ in written] == [f"{p.stem}.slides.html" for p in LESSONS]
    for name, title in written:
        page = (out / name).read_text()
        assert title in page
        loads = _loads(page)
        remote = [u for u in loads if re.match(r"(https?:)?//", u)]
        assert not remote, f"{name} loads from the network: {remote[:3]}"
        assert not re.search(r"unpkg|cdnjs|jsdelivr|require\.js|jquery", page, re.I), name
        local = [u for u in loads if not u.startswith(("data:", "#"))]
        assert "reveal.js/dist/reveal.js" in local and "mathjax/tex-chtml.js" in local, local
        # and what the deck's own style sheets load in turn (a theme's @import of web fonts, say)
        seen, todo = set(), [(out / name).parent / u for u in local]
        while todo:
            path = todo.pop().resolve()
            path = Path(str(path).split("?")[0].split("#")[0])
            assert path.exists(), f"{name}: {path} is not beside the deck"
            if path in seen or path.suffix != ".css":
                continue
            seen.add(path)
            inner = [u for u in _loads(path.read_text()) if not u.startswith(("data:", "#"))]
            remote = [u for u in inner if re.match(r"(https?:)?//", u)]
            assert not remote, f"{name}: {path.relative_to(out)} loads from the network: {remote[:3]}"
            todo += [path.parent / u for u in inner]
        assert seen, f"{name}: no style sheet checked"


def test_decks_show_the_stored_figures(decks):
    out, _ = decks
    for path in LESSONS:
        nb = nbformat.read(path, as_version=4)
        page = (out / f"{path.stem}.slides.html").read_text()
        stored = [o["data"]["image/png"] for c in nb.cells if c.cell_type == "code"
                  for o in c.outputs if "image/png" in o.get("data", {})]
        for png in stored:
            base64.b64decode(png)
            assert png.strip().replace("\n", "") in page.replace("\n", ""), f"{path.name}: a stored figure is missing"
        shown = re.findall(r'<img\b[^>]*\bsrc="data:image/png;base64,', page)
        assert len(shown) == len(stored), f"{path.name}: {len(shown)} figures on slides, {len(stored)} stored"
        # a live figure shows the picture it stores (bn_teach.widgets.Live); one without a picture says to run it
        live = sum(WIDGET in o.get("data", {}) and "image/png" not in o["data"] for c in nb.cells
                   for o in c.get("outputs", []))
        assert page.count("Live figure: its sliders") == live
        sections = page.count("<section")
        assert sections >= sum(t in ("slide", "subslide") for t in _types(nb)), path.name
