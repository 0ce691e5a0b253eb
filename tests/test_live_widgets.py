"""Live figures: a drag draws only the newest value; the output carries a picture for readers without a kernel."""
import asyncio
import base64
import threading

import ipywidgets as widgets
import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bn_teach.widgets import Live  # noqa: E402


def live(calls):
    fig, ax = plt.subplots()
    line, = ax.plot([0, 1], [0, 0])

    def update(value):
        calls.append(value)
        line.set_ydata([value, value])

    return Live(fig, update, value=widgets.IntSlider(value=0, min=0, max=100))


@pytest.mark.parametrize("coalesce", [True, False])
def test_a_drag_from_the_browser_draws_the_newest_value_and_skips_stale_ones(coalesce):
    calls = []
    view = live(calls)
    view.coalesce = coalesce
    slider = view.controls["value"]

    async def drag():
        await asyncio.sleep(0.05)  # the first draw is long past
        for value in range(1, 9):
            slider.set_state({"value": value})  # what a message from the browser does
        await asyncio.sleep(0.2)

    runner = threading.Thread(target=asyncio.run, args=(drag(),))  # a loop of its own, as in a kernel
    runner.start()
    runner.join()
    assert calls[0] == 0 and calls[-1] == 8  # the first state, and the last step is shown
    assert len(calls) - 1 == (2 if coalesce else 8)  # the first step at once, then only the newest


def test_values_set_from_python_are_drawn_at_once():
    calls = []
    view = live(calls)
    view.set(value=5)
    view.set(value=6)
    assert calls == [0, 5, 6]


def test_a_live_figure_carries_a_picture_beside_its_widget_view():
    view = live([])
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and bundle["text/plain"].startswith("Live(")
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
