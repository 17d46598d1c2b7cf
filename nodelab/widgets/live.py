"""`LiveView`: the machinery every view shares: poll a source, diff, update widgets, stop.

A view is three things kept apart:

- a **source**: a zero-argument callable returning a *snapshot*, plain comparable data read
  from the live system (a `NetworkSnapshot` from netlink, `CgroupStats` from cgroup files, a
  list of Kubernetes object dicts from the API). Sources are the small typed interfaces the
  views for other components plug into; a test can pass a list of objects instead.
- **rendering**: pure functions from a snapshot to HTML/SVG/text (`render_html`,
  `render_text`). That markup is the *static form*.
- **widgets**: an ipywidgets box showing the same rendering, updated while it is shown.

A background thread (one per shown view, a daemon) calls the source every `interval` seconds,
compares the new snapshot with the last one (`changed`, `!=` by default) and, only when it
differs, calls `apply` with every widget of the view under `hold_sync`, so the front end gets
one batched message per widget. The thread never touches an `Output` widget (`with out:` from
a thread sends output to whatever cell happens to be running) and never calls `display`:
it only sets widget traits, which ipykernel sends as comm messages from any thread.

The thread stops on `stop()`, on `stop_all()`, when the `alive` callable returns False (for
a lab view: the lab was taken down; `until_lab_down(lab)` makes one) and at interpreter exit.
When it stops, the status line says why and the last rendering stays.

**Static form.** Displaying a view (`display(view)` or a view as the last expression of a
cell) emits one output whose MIME bundle holds the widget view *and* `text/html` (and
`text/plain`) with the rendering at display time. JupyterLab with the widget manager shows the
live widget; papermill output files, nbconvert and GitHub, which have no widget JavaScript,
show the HTML. `view.static()` gives the current rendering as an `IPython.display.HTML`
object, to display a later state on purpose.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import ipywidgets as widgets

from nodelab.widgets import markup

S = TypeVar("S")

Source = Callable[[], S]
"""A snapshot reader: called from the poller thread; must return comparable plain data."""

Alive = Callable[[], bool]

_running: weakref.WeakSet[LiveView[Any]] = weakref.WeakSet()


class _HasStatus(Protocol):
    @property
    def exists(self) -> bool: ...


class LabLike(Protocol):
    """What `until_lab_down` needs of a lab (`nodelab.lab.Lab` has it)."""

    name: str

    def status(self) -> _HasStatus: ...


def until_lab_down(lab: LabLike) -> Alive:
    """An `alive` check that turns False once `lab` has been taken down."""

    def alive() -> bool:
        try:
            return bool(lab.status().exists)
        except Exception:
            return False

    return alive


class LiveView(Generic[S]):
    """Base of every view: subclasses give `render_html` and may refine the widgets."""

    title = "view"

    def __init__(
        self,
        source: Source[S],
        *,
        interval: float = 1.0,
        alive: Alive | None = None,
        title: str | None = None,
    ) -> None:
        self.source = source
        self.interval = interval
        self.alive = alive
        if title is not None:
            self.title = title
        self.snapshot: S | None = None
        self.updates = 0
        """How many snapshots were applied to the widgets (the first one included)."""
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._widget: widgets.VBox | None = None
        self._status: widgets.HTML | None = None

    # --- for subclasses --------------------------------------------------------------------

    def render_html(self, snapshot: S) -> str:
        raise NotImplementedError

    def render_text(self, snapshot: S) -> str:
        return f"{self.title} ({type(self).__name__})"

    def observe(self, snapshot: S) -> None:
        """Called with every snapshot read, changed or not (to keep a history)."""

    def changed(self, old: S | None, new: S) -> bool:
        return old is None or old != new

    def build_widgets(self) -> list[widgets.DOMWidget]:
        """The widgets under the status line; the default is one HTML widget."""
        self.body = widgets.HTML()
        return [self.body]

    def apply(self, old: S | None, new: S) -> None:
        """Show `new` in the widgets (called under `hold_sync` of every widget)."""
        self.body.value = self.render_html(new)

    # --- the public face -------------------------------------------------------------------

    @property
    def widget(self) -> widgets.VBox:
        if self._widget is None:
            self._status = widgets.HTML()
            self._widget = widgets.VBox([self._status, *self.build_widgets()])
            if self.snapshot is not None:
                self._show(None, self.snapshot)
        return self._widget

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def refresh(self) -> S:
        """Read the source once now and show the result; returns the snapshot."""
        snapshot = self.source()
        with self._lock:
            old, self.snapshot = self.snapshot, snapshot
            self.error = None
            self.observe(snapshot)
            if self.changed(old, snapshot) or self.updates == 0:
                self._show(old, snapshot)
            else:
                self._set_status(self._status_line("live" if self.running else "snapshot"))
        return snapshot

    def start(self) -> LiveView[S]:
        """Start polling in the background (idempotent)."""
        if self.running:
            return self
        if self.snapshot is None:
            self.refresh()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._poll, name=f"nodelab-view-{self.title}", daemon=True
        )
        _running.add(self)
        self._thread.start()
        return self

    def stop(self, reason: str = "stopped") -> None:
        """Stop polling and wait for the poller thread to end."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=max(5.0, 2 * self.interval))
        _running.discard(self)
        self._set_status(self._status_line(reason))

    def static_html(self) -> str:
        """The static form of the current snapshot (read once if none yet)."""
        snapshot = self.snapshot if self.snapshot is not None else self.refresh()
        return self.render_html(snapshot)

    def static(self) -> Any:
        """The static form as an IPython `HTML` display object."""
        return html_display(self.static_html())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        try:
            self.start()
        except Exception as exc:  # show why, instead of a traceback in place of the view
            self.error = f"{type(exc).__name__}: {exc}"
            text = f"{self.title}: cannot read its source: {exc}"
            return {"text/plain": text, "text/html": markup.block(markup.note(text))}
        bundle: dict[str, Any] = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        assert self.snapshot is not None
        bundle["text/html"] = self.static_html() + markup.note(
            f"{self.title}: static form at {time.strftime('%H:%M:%S')} "
            "(the live view needs the widget JavaScript)"
        )
        bundle["text/plain"] = self.render_text(self.snapshot)
        return bundle

    # --- the poller ------------------------------------------------------------------------

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            if self.alive is not None and not self.alive():
                self._stop.set()
                _running.discard(self)
                self._set_status(self._status_line("stopped: the lab is down"))
                return
            try:
                self.refresh()
            except Exception as exc:  # a poller must survive a failed read
                self.error = f"{type(exc).__name__}: {exc}"
                self._set_status(self._status_line(f"read failed: {self.error}"))

    def _show(self, old: S | None, new: S) -> None:
        self.updates += 1
        if self._widget is None:
            return
        children = [w for w in self._widget.children if isinstance(w, widgets.Widget)]
        with contextlib.ExitStack() as stack:
            for child in children:
                stack.enter_context(child.hold_sync())
            self.apply(old, new)
        self._set_status(self._status_line("live" if self.running else "snapshot"))

    def _status_line(self, state: str) -> str:
        color = markup.OK if state == "live" else markup.MUTED
        return (f'<span style="font-family:sans-serif;font-size:12px;color:{color}">'
                f"<b>{markup.esc(self.title)}</b> · {markup.esc(state)} · "
                f"{self.updates} update(s) · {time.strftime('%H:%M:%S')}</span>")

    def _set_status(self, value: str) -> None:
        if self._status is not None:
            self._status.value = value


def html_display(markup_text: str) -> Any:
    """An IPython `HTML` object (displayed as `text/html` everywhere)."""
    from IPython.display import HTML

    return HTML(markup_text)  # type: ignore[no-untyped-call]


def stop_all() -> None:
    """Stop every running view (also done at interpreter exit)."""
    for view in list(_running):
        view.stop()


atexit.register(stop_all)
