"""Live figures for the lessons: controls (ipywidgets) that redraw one matplotlib figure in place.

The pattern (it passes strict nbval and redraws fastest, see the developers' notes):

    %matplotlib widget
    fig, ax = new_figure()                  # created under plt.ioff(): nothing is auto-displayed
    line, = ax.plot(...)
    def update(batch_size, gamma):          # moves artists (set_data, set_height, ...); no figure is rebuilt
        line.set_data(...)
        return "optional message shown above the figure"
    Live(fig, update, batch_size=IntSlider(...), gamma=FloatSlider(...))   # last line of the cell

An update that raises ValueError (an impossible setting, e.g. batch size 1 in training mode) does not print a
traceback: its message is shown in red above the figure, and the figure says so too: its titles and texts are
cleared and a notice covers it until a possible setting is chosen (no stale numbers over an empty plot).

Dragging a slider sends a value per step; drawing each in turn would leave the figure behind the mouse. A value
that comes from the browser while the figure was just redrawn waits a moment (COALESCE_SECONDS) for newer ones
and only the newest is drawn; a single step is drawn at once. Values set from Python are drawn at once, always.

A Live's output also carries a PNG of the figure as first shown (`image/png` beside the widget view): JupyterLab
and Voila show the widget, static renderers (nbconvert, nbviewer, GitHub, `python3 tasks.py html`) the picture.
"""
import asyncio
import base64
import html
import io
import time
import weakref

import ipywidgets as widgets

_LIVE = weakref.WeakSet()


class Live(widgets.VBox):
    """A row of controls, a message line, and a figure that `update(**values)` redraws on every change."""

    coalesce = True  # skip stale values during a drag (the drag benchmark turns it off to compare)
    COALESCE_SECONDS = 0.02  # long enough for the values already waiting in the kernel's queue to arrive

    def __init__(self, fig, update, layout_columns=3, **controls):
        self.fig, self.update_fn, self.controls = fig, update, controls
        self.message = widgets.HTML(value="")
        self.last_error = None
        self._pending, self._last_refresh = False, 0.0
        self._hidden, self._titles = [], []  # texts hidden and titles blanked while an update is refused
        self._notice = fig.text(0.5, 0.5, "", ha="center", va="center", fontsize=14, color="#D55E00", zorder=10,
                                bbox=dict(facecolor="white", edgecolor="#D55E00", boxstyle="round"), visible=False)
        items = list(controls.values())
        rows = [widgets.HBox(items[i:i + layout_columns]) for i in range(0, len(items), layout_columns)]
        for w in items:
            w.continuous_update = getattr(w, "continuous_update", True)
            w.observe(self._on_change, names="value")
        children = rows + [self.message]
        canvas = getattr(fig, "canvas", None)
        if isinstance(canvas, widgets.DOMWidget):  # ipympl: the figure is a widget of its own
            canvas.header_visible = False
            canvas.toolbar_visible = False
            canvas.footer_visible = False
            children.append(canvas)
        super().__init__(children=children)
        _LIVE.add(self)
        self.refresh()
        self._freeze_layout()

    def _freeze_layout(self):
        """Lay the figure out once, for its first state, then keep that layout: constrained layout measures every
        text box on every draw, about half of a redraw's time, and a slider move does not change the layout."""
        from matplotlib.layout_engine import ConstrainedLayoutEngine

        engine = self.fig.get_layout_engine()
        if isinstance(engine, ConstrainedLayoutEngine):
            engine.execute(self.fig)
            self.fig.set_layout_engine("none")

    def _repr_mimebundle_(self, **kwargs):
        """The widget view, and a picture of the figure's current state for readers without a kernel."""
        data = super()._repr_mimebundle_(**kwargs)
        if data is not None:
            data["image/png"] = self.png()
        return data

    def png(self):
        """The figure as it is now, as base64-encoded PNG."""
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png")
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    def values(self):
        """The current value of every control, by name."""
        return {name: w.value for name, w in self.controls.items()}

    def _on_change(self, change):
        # a value from the browser (ipywidgets holds a property lock while it applies one): maybe part of a drag
        from_browser = bool(getattr(change.get("owner"), "_property_lock", None))
        if not (self.coalesce and from_browser):
            self.refresh()
            return
        if self._pending:  # a redraw is already due: it will draw this value or a newer one
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (not in a kernel): draw now
            self.refresh()
            return
        if time.perf_counter() - self._last_refresh > self.COALESCE_SECONDS:
            self.refresh()  # the first step of a drag, or a single step: at once
            return
        self._pending = True  # values arriving right after a redraw: wait for the newest
        loop.call_later(self.COALESCE_SECONDS, self._draw_pending)

    def _draw_pending(self):
        self._pending = False
        self.refresh()

    def refresh(self):
        """Run the update with the controls' values and redraw; a ValueError becomes the message."""
        try:
            note = self.update_fn(**self.values())
            self._refused(None)
            self.last_error = None
            self.message.value = f"<span>{html.escape(note)}</span>" if note else ""
        except ValueError as exc:
            self.last_error = exc
            self._refused(exc)
            self.message.value = f"<span style='color:#D55E00'><b>Not possible:</b> {html.escape(str(exc))}</span>"
        self.fig.canvas.draw_idle()
        self._last_refresh = time.perf_counter()

    def _refused(self, exc):
        """Show (exc: a ValueError) or remove (None) the figure's refusal notice: while a setting is refused, every
        axes' title and text is blanked, so no number of the previous setting stays on screen."""
        if exc is None:
            for t in self._hidden:
                t.set_visible(True)
            for ax, title in self._titles:
                if not ax.get_title():  # a title the update does not set itself
                    ax.set_title(title)
            self._hidden.clear()
            self._titles.clear()
            self._notice.set_visible(False)
            return
        for ax in self.fig.axes:
            if ax.get_title():
                self._titles.append((ax, ax.get_title()))
                ax.set_title("")
            for t in ax.texts:
                if t.get_visible():
                    t.set_visible(False)
                    self._hidden.append(t)
        self._notice.set_text("Not possible at this setting:\nsee the message above the figure")
        self._notice.set_visible(True)

    def set(self, **values):
        """Set several controls at once (one redraw per control, as a student moving them would)."""
        for name, value in values.items():
            self.controls[name].value = value

    def _apply(self, w, value):
        if w.value == value:
            self.refresh()  # no change event: redraw anyway, so every probe costs one update
        else:
            w.value = value

    def time_updates(self, repeats=3):
        """Worst time in ms of update + full synchronous redraw, over each control's min, middle and max.

        Each setting is timed `repeats` times and its best time kept (what the code costs, without the pauses a
        shared machine adds at random); the worst setting is returned. Controls are restored afterwards.
        Used by the widget benchmark, never by a timed test.
        """
        worst = 0.0
        start_values = self.values()
        for name, w in self.controls.items():
            for value in _probe_values(w):
                best = float("inf")
                for _ in range(repeats):
                    t = time.perf_counter()
                    self._apply(w, value)
                    self.fig.canvas.draw()
                    best = min(best, (time.perf_counter() - t) * 1000)
                worst = max(worst, best)
            w.value = start_values[name]
        return worst

    def sweep(self):
        """Set every control to each of its probe values (min, middle, max) and return the messages produced.

        Anything but a ValueError propagates, so a test can assert that no setting gives a traceback.
        """
        messages = []
        start_values = self.values()
        for name, w in self.controls.items():
            for value in _probe_values(w):
                self._apply(w, value)
                self.fig.canvas.draw()
                messages.append((name, value, self.last_error))
            w.value = start_values[name]
        return messages


def _probe_values(w):
    """Extreme and middle values of a control: what a student is most likely to try."""
    if hasattr(w, "options") and w.options:
        opts = [o[1] if isinstance(o, tuple) else o for o in w.options]
        return list(dict.fromkeys([opts[0], opts[len(opts) // 2], opts[-1]]))
    if isinstance(w, (widgets.Checkbox, widgets.ToggleButton)):
        return [not w.value, w.value]
    if hasattr(w, "min") and hasattr(w, "max"):
        if isinstance(w, (widgets.FloatLogSlider,)):
            return [w.base ** w.min, w.base ** ((w.min + w.max) / 2), w.base ** w.max]
        mid = (w.min + w.max) / 2
        mid = type(w.value)(round(mid / w.step) * w.step) if getattr(w, "step", None) else mid
        return list(dict.fromkeys([w.min, mid, w.max]))
    return [w.value]


def every_setting(live, every_option=True):
    """Every combination of the controls' probe values (min, middle, max; with every_option, all the options of a
    menu or selection slider): a list of {control: value} dicts, for tests that check a figure at each setting."""
    import itertools

    names = list(live.controls)
    values = [list(_options(w)) if every_option and _options(w) else _probe_values(w) for w in live.controls.values()]
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def _options(w):
    opts = getattr(w, "options", None) or ()
    return [o[1] if isinstance(o, tuple) else o for o in opts]


def live_figures():
    """Every Live created in this process that is still alive (for the benchmark)."""
    return list(_LIVE)
