"""Every lesson, opened in JupyterLab in headless Chromium: all cells run without an error, and in every
interactive lesson moving a slider redraws the figure. The most interactive lessons also run as Voila apps."""
import json
import re
import urllib.request
from pathlib import Path

import pytest

from .conftest import NOTEBOOKS, SHOTS

LESSONS = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
APPS = ["02_inside_batchnorm.ipynb", "04_black_cats_covariate_shift.ipynb"]


def _is_interactive(name):
    """A lesson builds a live figure: a code cell calls Live(...) itself, or its stored output is a Live (what a
    lesson's explorer function returns, e.g. `rotation_explorer()`)."""
    nb = json.loads((NOTEBOOKS / name).read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    return any(re.search(r"\bLive\(|_explorer\(", "".join(c["source"])) for c in code) or any(
        "".join(o.get("data", {}).get("text/plain", "")).startswith("Live(") for c in code for o in c["outputs"])


def _canvas_images(page):
    """What every ipympl figure currently shows (its canvas as a data URL)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.jupyter-matplotlib-figure canvas'))
        .map(c => { try { return c.toDataURL(); } catch (e) { return ''; } })""")


def _move_slider_and_check_redraw(page, name, slider_index=0):
    sliders = page.locator(".widget-slider .noUi-handle")
    assert sliders.count() > 0, f"{name}: no slider rendered"
    page.wait_for_function("() => document.querySelectorAll('.jupyter-matplotlib-figure canvas').length > 0",
                           timeout=60_000)
    page.wait_for_timeout(1500)  # let the first frames arrive
    before = _canvas_images(page)
    handle = sliders.nth(slider_index)
    handle.scroll_into_view_if_needed()
    handle.focus()
    now, top = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
    at_max = now is not None and now == top
    for _ in range(5):  # away from the end the slider starts at
        page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
    try:
        page.wait_for_function("""(before) => {
            const now = Array.from(document.querySelectorAll('.jupyter-matplotlib-figure canvas'))
                .map(c => { try { return c.toDataURL(); } catch (e) { return ''; } });
            return now.some((img, i) => img !== before[i]);
        }""", arg=before, timeout=30_000)
    except Exception:
        page.screenshot(path=str(SHOTS / f"FAILED_slider_{Path(name).stem}.png"), full_page=True)
        pytest.fail(f"{name}: moving slider {slider_index} did not change any figure within 30 s")
    page.wait_for_timeout(1500)  # the remaining key presses' frames, before the screenshot


def _walk_extremes(page, name):
    """In every live figure, move each slider to its maximum, one after the other (so the last shot has every
    slider at its maximum), then each to its minimum, last slider first; after every move wait for the figure to
    redraw (unless the setting was already refused) and save a screenshot of the live figure
    (artifacts/screenshots/extreme_<lesson>_<figure>_<max|min><slider>.png) to look at."""
    outputs = page.locator(".jp-OutputArea-output:has(.jupyter-matplotlib-figure)")
    for k in range(outputs.count()):
        out = outputs.nth(k)
        handles = out.locator(".noUi-handle")
        for key, end in (("End", "max"), ("Home", "min")):
            order = range(handles.count()) if end == "max" else reversed(range(handles.count()))
            for i in order:
                handle = handles.nth(i)
                handle.scroll_into_view_if_needed()
                at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute(f"aria-value{end}")
                at_end = at_end or "Not possible:" in out.inner_text()  # a refused setting stays as it is
                before = out.locator("canvas").first.evaluate("c => c.toDataURL()")
                handle.focus()
                page.keyboard.press(key)
                if not at_end:
                    out.locator("canvas").first.evaluate(
                        """(c, before) => new Promise((resolve, reject) => {
                            const t0 = Date.now();
                            const poll = () => c.toDataURL() !== before ? resolve(true)
                                : Date.now() - t0 > 30000 ? reject(new Error('no redraw')) : setTimeout(poll, 200);
                            poll(); })""", before)
                page.wait_for_timeout(800)  # the frame after the first changed pixels
                text = out.inner_text()
                assert "Traceback" not in text and "Error" not in text, f"{name}: {text[:300]}"
                out.screenshot(path=str(SHOTS / f"extreme_{Path(name).stem}_{k}_{end}{i}.png"))


# What the open notebook's model says: all code cells executed and the kernel idle (`done`), and the text of any
# error or traceback output.
_MODEL_STATE = """(() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const cells = panel.content.model.cells;
    let done = panel.sessionContext.session.kernel.status === 'idle';
    const errors = [];
    for (let i = 0; i < cells.length; i++) {
        const cell = cells.get(i);
        if (cell.type !== 'code' || !cell.sharedModel.source.trim()) continue;
        if (!cell.executionCount) done = false;
        for (const out of cell.outputs.toJSON()) {
            const text = out.output_type === 'error' ? out.ename + ': ' + out.evalue
                : (out.name === 'stderr' ? [].concat(out.text).join('') : '');
            if (/Error|Traceback/.test(text)) errors.push('cell ' + i + ': ' + text.slice(0, 300));
        }
    }
    return {done, errors};
})()"""


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_runs_in_jupyterlab(browser, lab_url, name):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(f"{lab_url}/lab/tree/notebooks/{name}?reset")  # ?reset: no tabs restored from earlier tests
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        page.wait_for_function("() => document.body.innerText.includes('Idle')", timeout=60_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('editmenu:clear-all'); return 1; }")
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); return 1; }")
        # every code cell executed, read from the notebook model (long notebooks are virtualized in the DOM)
        try:
            page.wait_for_function(f"() => {_MODEL_STATE}.done", timeout=600_000)
        except Exception:
            page.screenshot(path=str(SHOTS / f"FAILED_lab_{Path(name).stem}.png"), full_page=False)
            pytest.fail(f"{name}: cells did not finish running in 600 s: {page.evaluate(_MODEL_STATE)}")
        errors = page.evaluate(_MODEL_STATE)["errors"]
        assert not errors, f"{name}: error output in the browser: {errors[:2]}"
        if _is_interactive(name):
            _move_slider_and_check_redraw(page, name)
        page.screenshot(path=str(SHOTS / f"lab_{Path(name).stem}.png"), full_page=False)
        if _is_interactive(name):
            _walk_extremes(page, name)
    finally:
        page.close()
        _shutdown_kernels(lab_url)


def _shutdown_kernels(lab_url):
    """Stop every kernel the test started (JupyterLab keeps them running after the page closes)."""
    with urllib.request.urlopen(f"{lab_url}/api/kernels") as r:
        kernels = json.load(r)
    for kernel in kernels:
        urllib.request.urlopen(urllib.request.Request(f"{lab_url}/api/kernels/{kernel['id']}", method="DELETE"))


@pytest.mark.parametrize("name", [n for n in APPS if n in LESSONS])
def test_lesson_runs_as_voila_app(browser, voila_server, name):
    url = voila_server(f"notebooks/{name}")
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(url, timeout=240_000)
        page.wait_for_selector(".widget-slider", timeout=240_000)
        text = page.inner_text("body")
        assert not re.search(r"Traceback|Error displaying widget", text), f"{name}: error in Voila"
        _move_slider_and_check_redraw(page, name)
        page.screenshot(path=str(SHOTS / f"voila_{Path(name).stem}.png"), full_page=False)
    finally:
        page.close()


# Corner pixel (RGBA) of every figure: ipympl canvases and static PNG outputs.
_FIGURE_CORNERS = """() => {
    const corner = (source, w, h) => {
        const c = document.createElement('canvas');
        c.width = w; c.height = h;
        const ctx = c.getContext('2d');
        ctx.drawImage(source, 0, 0);
        return Array.from(ctx.getImageData(3, 3, 1, 1).data);
    };
    const canvases = Array.from(document.querySelectorAll('.jupyter-matplotlib-figure canvas'))
        .filter(c => c.width > 50 && c.height > 50)
        .map(c => Array.from(c.getContext('2d').getImageData(3, 3, 1, 1).data))
        .filter(px => px[3] > 0);   // skip ipympl's transparent overlay canvas
    const images = Array.from(document.querySelectorAll('.jp-OutputArea-output img'))
        .filter(img => img.complete && img.naturalWidth > 50)
        .map(img => corner(img, img.naturalWidth, img.naturalHeight));
    return {canvases, images};
}"""


def test_figures_stay_legible_in_the_dark_theme(browser, lab_url):
    """Under JupyterLab Dark, every figure keeps its opaque white background (dark text on white), so no axis
    label or tick disappears into the dark page."""
    name = "02_inside_batchnorm.ipynb"
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(f"{lab_url}/lab/tree/notebooks/{name}?reset")
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        page.wait_for_function("() => document.body.innerText.includes('Idle')", timeout=60_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('apputils:change-theme', "
                      "{theme: 'JupyterLab Dark'}); return 1; }")
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=60_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); return 1; }")
        page.wait_for_function(f"() => {_MODEL_STATE}.done", timeout=240_000)
        page.wait_for_function("() => document.querySelectorAll('.jupyter-matplotlib-figure canvas').length > 0",
                               timeout=60_000)
        page.wait_for_timeout(2000)
        background = page.evaluate("() => getComputedStyle(document.querySelector('.jp-Notebook')).backgroundColor")
        rgb = [int(v) for v in re.findall(r"\d+", background)[:3]]
        assert sum(rgb) < 3 * 100, f"the page is not dark: {background}"
        corners = page.evaluate(_FIGURE_CORNERS)
        assert corners["canvases"] and corners["images"], corners
        for px in corners["canvases"] + corners["images"]:
            assert px[3] == 255 and min(px[:3]) >= 240, f"a figure without an opaque light background: {px}"
        page.locator(".jupyter-matplotlib-figure").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"dark_{Path(name).stem}.png"), full_page=False)
    finally:
        page.evaluate("() => { window.jupyterapp.commands.execute('apputils:change-theme', "
                      "{theme: 'JupyterLab Light'}); return 1; }")
        page.wait_for_timeout(1000)
        page.close()
        _shutdown_kernels(lab_url)
