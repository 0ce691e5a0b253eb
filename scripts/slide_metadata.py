"""Give every lesson the slide metadata that RISE (live slides in JupyterLab) and `tasks.py slides` use.

    python scripts/slide_metadata.py            # set it in notebooks/[0-9][0-9]_*.ipynb (idempotent)
    python scripts/slide_metadata.py --check    # exit 1 if a lesson's metadata differs from the rule

The rule, from each cell's content only (so re-running it after a lesson changes gives the same answer):
- the first cell (the lesson's `# title`)                  -> slide       (the title slide)
- a markdown cell opening with a `## ` heading             -> slide       (one idea per slide)
- a live-figure code cell (it opens with `# live:`)         -> slide       (the live figure on its own slide,
  its `*Figure (live)...` caption stays on it, and the cell after them starts a new slide)
- any other code cell, unless right after a heading        -> subslide  (the next step of the same idea)
- every other cell                                          -> -          (continues the current slide)
Only `metadata.slideshow` changes; sources and outputs stay as they are (strict nbval ignores metadata).
"""
import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def lessons():
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def is_live(cell):
    """A live figure: the lessons open such a cell with a `# live: ...` comment (it shows sliders and a figure)."""
    return cell.cell_type == "code" and cell.source.lstrip().startswith("# live")


def is_heading(cell):
    return cell.cell_type == "markdown" and cell.source.lstrip().startswith(("# ", "## "))


def is_caption(cell):
    return cell.cell_type == "markdown" and cell.source.lstrip().startswith("*Figure")


def slide_types(cells):
    types = []
    after_live = False   # the previous cells are a live figure (and its caption): the next cell starts a slide
    for i, cell in enumerate(cells):
        previous = cells[i - 1] if i else cell
        if i == 0 or is_live(cell) or (cell.cell_type == "markdown" and cell.source.lstrip().startswith("## ")):
            kind = "slide"
        elif after_live and not is_caption(cell):
            kind = "slide"
        elif cell.cell_type == "code" and not is_heading(previous):
            kind = "subslide"
        else:
            kind = "-"
        types.append(kind)
        after_live = is_live(cell) or (after_live and is_caption(cell))
    return types


def apply(path, write=True):
    """Set the rule's slide types in one notebook; returns True if anything changed."""
    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell, kind in zip(nb.cells, slide_types(nb.cells)):
        if cell.metadata.get("slideshow") != {"slide_type": kind}:
            cell.metadata["slideshow"] = {"slide_type": kind}
            changed = True
    if changed and write:
        nbformat.write(nb, path)
    return changed


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report lessons that differ from the rule; no writes")
    args = parser.parse_args()
    differ = [p.name for p in lessons() if apply(p, write=not args.check)]
    print(("differ from the rule: " if args.check else "updated: ") + (", ".join(differ) or "none"))
    sys.exit(1 if args.check and differ else 0)
