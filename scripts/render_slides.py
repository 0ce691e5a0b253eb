"""Every lesson as an offline reveal.js slide deck, with its stored outputs, in site/slides/.

    python scripts/render_slides.py [--out site/slides]        (python3 tasks.py slides: npm ci first)

The decks follow each cell's slide metadata (scripts/slide_metadata.py sets it). Nothing is executed: every figure
is the one stored in the notebook; a live figure's slide (widgets, no stored picture) says to run the lesson.
reveal.js and MathJax come from npm's packages in node_modules/ (package.json) and are copied beside the decks, so
the folder works offline and from a USB stick; no page loads anything from the network.
"""
import argparse
import html
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from render_html import title  # noqa: E402  (the lesson's H1, as on the static pages)

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / "node_modules"
TEMPLATES = Path(__file__).resolve().parent / "slides_template"
# (source under node_modules, target under the output folder): what the decks load
ASSETS = [("reveal.js/dist", "reveal.js/dist"), ("reveal.js/plugin/notes", "reveal.js/plugin/notes"),
          ("reveal.js/LICENSE", "reveal.js/LICENSE"), ("mathjax/es5/tex-chtml.js", "mathjax/tex-chtml.js"),
          ("mathjax/es5/output/chtml/fonts/woff-v2", "mathjax/output/chtml/fonts/woff-v2"),
          ("mathjax/LICENSE", "mathjax/LICENSE")]


LIVE_NOTE = ("<p><em>Live figure: its sliders and figure appear when the lesson runs, in JupyterLab or in RISE "
             "slide mode (see TEACHING.md, \"Slides\").</em></p>")
WIDGET = "application/vnd.jupyter.widget-view+json"


def mark_live_figures(nb):
    """A live figure stores widgets, not a picture: without a kernel, its slide says where it comes alive."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if WIDGET in output.get("data", {}) and "image/png" not in output["data"]:
                output["data"] = {"text/html": LIVE_NOTE}


def copy_assets(out):
    missing = [src for src, _ in ASSETS if not (MODULES / src).exists()]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)} under {MODULES}: run `npm ci` (python3 tasks.py slides does)")
    for src, dst in ASSETS:
        target = out / dst
        target.parent.mkdir(parents=True, exist_ok=True)
        if (MODULES / src).is_dir():
            shutil.copytree(MODULES / src, target, dirs_exist_ok=True)
        else:
            shutil.copy2(MODULES / src, target)


def render(out):
    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out)
    exporter = SlidesExporter(template_name="bn_teach_slides", extra_template_basedirs=[str(TEMPLATES)],
                              reveal_url_prefix="reveal.js", reveal_scroll=True,
                              reveal_theme="white")   # the themes that load web fonts from the network are out
    decks = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nb.metadata.pop("widgets", None)   # no widget manager offline
        mark_live_figures(nb)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title(nb, path.stem)}})
        target = out / f"{path.stem}.slides.html"
        target.write_text(body, encoding="utf-8")
        decks.append((target.name, title(nb, path.stem)))
        print(f"wrote {target}")
    items = "\n".join(f'<li><a href="{html.escape(h)}">{html.escape(t)}</a></li>' for h, t in decks)
    (out / "index.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>bn-teach slides</title></head>"
        f"<body><h1>bn-teach: lesson slides</h1><ol>{items}</ol>"
        "<p>Arrow keys move between slides; S opens the speaker notes; F is full screen.</p></body></html>",
        encoding="utf-8")
    return decks


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "site" / "slides")
    render(parser.parse_args().out)
