"""`python3 tasks.py html` renders every lesson to a static page that needs no kernel."""
import importlib.util
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def _renderer():
    spec = importlib.util.spec_from_file_location("render_html", ROOT / "scripts" / "render_html.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_lesson_becomes_a_page_with_its_title_and_figures(tmp_path):
    render = _renderer()
    links = render.render(tmp_path)
    lessons = render.notebooks()
    assert len(links) == len(lessons) and (tmp_path / "index.html").exists()
    index = (tmp_path / "index.html").read_text()
    for (href, title), path in zip(links, lessons):
        page = (tmp_path / href).read_text()
        assert title in page and href in index
        assert "Traceback" not in page, f"{path.name}: stored output holds a traceback"
        if path.parent.name != "exercises":
            assert "data:image/png;base64" in page, f"{path.name}: no figure in the static page"
        live, pictures = live_figures(path)
        assert live == pictures, f"{path.name}: {live - pictures} live figure(s) stored without a picture"
        assert page.count("data:image/png;base64") >= images(path), f"{path.name}: a stored figure is not shown"


def widget_outputs(path):
    nb = nbformat.read(path, as_version=4)
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if "data" in o]


def live_figures(path):
    """(live figures, live figures that carry a picture) in a notebook's stored outputs."""
    live = [o for o in widget_outputs(path) if "application/vnd.jupyter.widget-view+json" in o.data
            and o.data.get("text/plain", "").startswith("Live(")]
    return len(live), sum("image/png" in o.data for o in live)


def images(path):
    """Stored outputs that carry a PNG (figures and live figures' pictures): each must appear on the page."""
    return sum("image/png" in o.data for o in widget_outputs(path))
