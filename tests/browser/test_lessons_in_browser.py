"""Every lesson, opened in JupyterLab in headless Chromium: all cells run without an error, and in every
interactive lesson moving a slider redraws the figure. The most interactive lessons also run as Voila apps."""
import json
import re
from pathlib import Path

import pytest

from .conftest import NOTEBOOKS, SHOTS

LESSONS = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
APPS = ["02_inside_batchnorm.ipynb", "04_black_cats_covariate_shift.ipynb"]


def _is_interactive(name):
    nb = json.loads((NOTEBOOKS / name).read_text())
    return any("Live(" in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


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
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("""(before) => {
        const now = Array.from(document.querySelectorAll('.jupyter-matplotlib-figure canvas'))
            .map(c => { try { return c.toDataURL(); } catch (e) { return ''; } });
        return now.some((img, i) => img !== before[i]);
    }""", arg=before, timeout=30_000)
    page.wait_for_timeout(1500)  # the remaining key presses' frames, before the screenshot


def _errors(page):
    return page.evaluate("""() => Array.from(document.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], .jp-OutputArea-output .jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'))
        .map(e => e.innerText).filter(t => /Error|Traceback/.test(t))""")


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_runs_in_jupyterlab(browser, lab_url, name):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(f"{lab_url}/lab/tree/notebooks/{name}")
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        page.wait_for_function("() => document.body.innerText.includes('Idle')", timeout=60_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('editmenu:clear-all'); return 1; }")
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); return 1; }")
        # every code cell executed: no prompt left empty or showing [*]
        page.wait_for_function("""() => {
            const prompts = Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt'));
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.innerText));
        }""", timeout=240_000)
        page.wait_for_function("() => document.body.innerText.includes('Idle')", timeout=60_000)
        errors = _errors(page)
        assert not errors, f"{name}: error output in the browser: {errors[:2]}"
        if _is_interactive(name):
            _move_slider_and_check_redraw(page, name)
        page.screenshot(path=str(SHOTS / f"lab_{Path(name).stem}.png"), full_page=False)
    finally:
        page.close()


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
