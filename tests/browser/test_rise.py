"""A teacher presents lesson 2 as live slides (RISE for JupyterLab, jupyterlab-rise): the lesson opens in slide
mode with one reveal.js slide per `slide` cell of its metadata, the setup and live-figure cells run from the
slides (Shift+Enter), and moving a slider on the live figure's slide redraws the figure."""
import json
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import NOTEBOOKS, SHOTS
from .test_lessons_in_browser import _canvas_images, _shutdown_kernels

LESSON = "02_inside_batchnorm.ipynb"


def _kernel(lab_url):
    with urllib.request.urlopen(f"{lab_url}/api/kernels") as r:
        kernels = json.load(r)
    assert len(kernels) == 1, f"expected the slide show's one kernel, found {len(kernels)}"
    return kernels[0]


def _run_active_cell(page, lab_url, timeout=120):
    """Shift+Enter on the slide's active cell, then wait until the kernel has run it and is idle again."""
    before = _kernel(lab_url)["last_activity"]
    page.click(".jp-Cell.jp-mod-active .jp-InputPrompt")
    page.keyboard.press("Shift+Enter")
    deadline = time.time() + timeout
    while time.time() < deadline:
        k = _kernel(lab_url)
        if k["last_activity"] != before and k["execution_state"] == "idle":
            return
        time.sleep(0.3)
    pytest.fail(f"the cell did not finish in {timeout} s")


def _open_slide_of(page, lab_url, cell_index):
    page.goto(f"{lab_url}/rise/notebooks/{LESSON}?activeCellIndex={cell_index}")
    page.wait_for_selector(".reveal .slides section.present", timeout=60_000)
    page.wait_for_selector(".jp-Cell.jp-mod-active", timeout=60_000)
    page.wait_for_function("() => document.querySelector('.jp-Cell.jp-mod-active .jp-InputPrompt') !== null",
                           timeout=60_000)
    deadline = time.time() + 60
    while _kernel_count(lab_url) == 0 or _kernel(lab_url)["execution_state"] != "idle":
        assert time.time() < deadline, "the slide show's kernel did not start"
        time.sleep(0.3)


def _drag_slider_and_check_redraw(page):
    """Drag the live slide's first slider with the mouse (in slide mode the arrow keys turn the slides), and wait
    until a figure on the slide shows something else."""
    page.wait_for_function("() => document.querySelectorAll('.jupyter-matplotlib-figure canvas').length > 0",
                           timeout=60_000)
    page.wait_for_timeout(1500)   # the first frames
    before = _canvas_images(page)
    handle = page.locator(".reveal section.present .widget-slider .noUi-handle").first
    value = handle.get_attribute("aria-valuenow")
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 80, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    assert handle.get_attribute("aria-valuenow") != value, "the slider did not move"
    try:
        page.wait_for_function("""(before) => Array.from(document.querySelectorAll(
                '.jupyter-matplotlib-figure canvas')).some((c, i) => {
                    try { return c.toDataURL() !== before[i]; } catch (e) { return false; } })""",
                               arg=before, timeout=30_000)
    except Exception:
        page.screenshot(path=str(SHOTS / "FAILED_rise_slider.png"), full_page=False)
        pytest.fail("moving the slider in slide mode did not redraw the figure within 30 s")
    page.wait_for_timeout(1500)


def _kernel_count(lab_url):
    with urllib.request.urlopen(f"{lab_url}/api/kernels") as r:
        return len(json.load(r))


def test_lesson_in_rise_slide_mode_and_its_slider(browser, lab_url):
    nb = json.loads((NOTEBOOKS / LESSON).read_text())
    cells = nb["cells"]
    setup = next(i for i, c in enumerate(cells) if "".join(c["source"]).startswith("# setup"))
    live = next(i for i, c in enumerate(cells) if "".join(c["source"]).startswith("# live"))
    slides = sum(c["metadata"].get("slideshow", {}).get("slide_type") == "slide" for c in cells)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        _open_slide_of(page, lab_url, setup)
        shown = page.evaluate("() => document.querySelectorAll('.reveal .slides > section').length")
        assert shown == slides, f"{shown} slides in RISE, {slides} `slide` cells in the lesson's metadata"
        _run_active_cell(page, lab_url)
        _open_slide_of(page, lab_url, live)      # the live figure's own slide, same kernel
        title = page.evaluate("() => document.querySelector('.reveal .slides section.present').innerText")
        assert "# live" in title, f"the live figure is not on the slide shown: {title[:200]!r}"
        _run_active_cell(page, lab_url)
        page.wait_for_selector(".reveal section.present .widget-slider", timeout=60_000)
        _drag_slider_and_check_redraw(page)
        assert page.evaluate("() => document.querySelector('.reveal .slides section.present').innerText") \
            .find("# live") >= 0, "the slide changed while the slider moved"
        page.screenshot(path=str(SHOTS / f"rise_{Path(LESSON).stem}.png"), full_page=False)
    finally:
        page.close()
        _shutdown_kernels(lab_url)
