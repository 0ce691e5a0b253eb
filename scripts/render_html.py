"""Render every lesson and exercise, with its stored outputs and widget state, to static HTML in site/.

    python scripts/render_html.py [--out site]

Nothing is executed: the pages show exactly what the committed notebooks store (a clean top-to-bottom run).
"""
import argparse
import html
import json
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]


def notebooks():
    """Lessons first (in their numbered order), then exercises."""
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    exercises = sorted((ROOT / "notebooks" / "exercises").glob("*.ipynb"))
    return lessons + exercises


def title(nb, fallback):
    """The lesson's H1 title."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def render(out):
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    links = []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        # a page without a kernel cannot run the live figures: without their saved widget state, nbconvert shows
        # the picture each one stores beside its widget view (bn_teach.widgets.Live) instead of an empty output
        nb.metadata.pop("widgets", None)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title(nb, path.stem)}})
        rel = path.relative_to(ROOT / "notebooks").with_suffix(".html")
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
        links.append((rel.as_posix(), title(nb, path.stem)))
        print(f"wrote {target}")
    items = "\n".join(f'<li><a href="{html.escape(h)}">{html.escape(t)}</a></li>' for h, t in links)
    (out / "index.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>bn-teach lessons</title></head>"
        f"<body><h1>bn-teach: batch normalization you can see and measure</h1><ol>{items}</ol></body></html>",
        encoding="utf-8")
    (out / "pages.json").write_text(json.dumps(links, indent=1))
    return links


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "site")
    render(parser.parse_args().out)
