"""The "Inside" tab: decision boundary, training health, network diagram with a forward pass, truth table and
confusion matrix of the running (or last) training run.

It is a view of a RunController: the controller posts each new nn_tui.core.inspection.insight.InsightSnapshot
(made on the training thread by the InsightSampler callback) and this view shows it; `feed(snapshot)` shows
one directly. The views are computed from the snapshot's private CPU copy of the model in a thread worker,
only while this tab is shown, and drawn on the UI thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from nn_tui.core.inspection.insight import InsightSnapshot, InsightViews
from nn_tui.tui.widgets.insight_colors import class_palette, hex_of
from nn_tui.tui.training.controller import RunController
from nn_tui.tui.widgets.backward_pass import BackwardPassView
from nn_tui.tui.widgets.boundary_map import BoundaryMap, draw_boundary
from nn_tui.tui.widgets.confusion_matrix import ConfusionMatrixView
from nn_tui.tui.widgets.forward_pass import ForwardPassView
from nn_tui.tui.widgets.health_panel import HealthPanel
from nn_tui.tui.widgets.landscape_pane import LandscapePane
from nn_tui.tui.widgets.network_diagram import NetworkDiagram, NetworkPicture, draw_network, legend_markup, picture_of
from nn_tui.tui.widgets.truth_table_view import TruthTableView

POINTS = 600  # validation points drawn at most
RESIZE_DELAY = 0.2
NO_RUN = "Train a network (t) to see inside it: decision boundary, health, network, truth table, confusion matrix."


@dataclass
class InsightComputed(Message):
    """Views computed (and pictures drawn) in the worker for one snapshot."""

    snapshot: InsightSnapshot
    views: InsightViews | None
    picture: NetworkPicture | None
    trace: Any
    backward: Any  # the BackwardTrace of the same sample, or None (no target)
    seconds: float
    error: str | None = None
    map_strips: Any = None  # (strips, key) for the BoundaryMap, drawn at the size it had
    diagram_strips: Any = None  # (strips, key) for the NetworkDiagram


class InsightView(Vertical):
    BINDINGS = [
        # Short, so both fit an 80-column footer; the forward pass says "training sample k of n".
        Binding("left_square_bracket", "sample(-1)", "Prev", id="insight.prev", tooltip="Previous sample"),
        Binding("right_square_bracket", "sample(1)", "Next", id="insight.next", tooltip="Next sample"),
        Binding("f", "focus_input", "Type input", id="insight.input", tooltip="Type an input for the forward pass"),
        Binding("v", "test_points", "Test points", id="insight.test-points", tooltip="Show the validation points too"),
        Binding("g", "gradient_links", "Gradients", id="insight.gradient-links",
                tooltip="Network diagram: colour the links by ∂L/∂w of this sample instead of by weight"),
    ]
    DEFAULT_CSS = """
    InsightView { height: 1fr; }
    InsightView #insight-status { height: 1; padding: 0 1; color: $text-muted; }
    InsightView #insight-tabs { height: 1fr; }
    InsightView #insight-tabs > ContentSwitcher { height: 1fr; }
    InsightView TabPane { height: 1fr; padding: 0; }
    InsightView #boundary-pane BoundaryMap { height: 1fr; }
    InsightView #boundary-legend, InsightView #network-legend { height: 2; padding: 0 1; }
    InsightView #forward-side { width: 46; border-left: solid $border-blurred; }
    InsightView #forward-input { margin: 0 1; }
    InsightView VerticalScroll { height: 1fr; }
    """

    def __init__(self, controller: RunController | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.controller = controller
        self.snapshot: InsightSnapshot | None = None
        self.views: InsightViews | None = None
        self.sample_index = 0
        self.typed_input: list[float] | None = None
        self.show_test_points = False
        self.gradient_links = False  # the diagram's links show ∂L/∂w instead of w
        self.computations = 0  # views computed, and the worker time they took, for measurements
        self.compute_seconds = 0.0
        self._drawn: InsightSnapshot | None = None
        self._shown = False
        self._resize_timer = None

    def compose(self) -> ComposeResult:
        yield Static(NO_RUN, id="insight-status")
        with TabbedContent(id="insight-tabs"):
            with TabPane("Boundary", id="boundary-pane"):
                yield BoundaryMap(id="boundary-map")
                yield Static("", id="boundary-legend")
            with TabPane("Health", id="health-pane"):
                with VerticalScroll():
                    yield HealthPanel(id="health-panel")
            with TabPane("Network", id="network-pane"):
                with Horizontal():
                    with Vertical():
                        yield NetworkDiagram(id="network-diagram")
                        yield Static("", id="network-legend")
                    with Vertical(id="forward-side"):
                        yield Input(placeholder="type an input, e.g. 0.5, -1  (enter)", id="forward-input")
                        with VerticalScroll():
                            yield ForwardPassView(id="forward-pass")
                            yield BackwardPassView(id="backward-pass")
            with TabPane("Landscape", id="landscape-pane"):
                yield LandscapePane(id="landscape")
            with TabPane("Truth table", id="truth-pane"):
                yield TruthTableView(id="truth-table")
            with TabPane("Confusion", id="confusion-pane"):
                with VerticalScroll():
                    yield ConfusionMatrixView(id="confusion")

    def on_mount(self) -> None:
        self.query_one("#network-legend", Static).update(legend_markup(self))
        self._show_empty()
        if self.controller is not None:
            self.controller.listen(self)
            if self.controller.snapshot is not None:  # mounted after the run's first snapshot
                self.feed(self.controller.snapshot)

    # ------------------------------------------------------------ input

    @on(RunController.SnapshotArrived)
    def _snapshot_arrived(self, event: RunController.SnapshotArrived) -> None:
        event.stop()
        if event.controller is self.controller:
            self.feed(event.snapshot)

    @on(RunController.StateChanged)
    def _run_changed(self, event: RunController.StateChanged) -> None:
        event.stop()
        if event.controller is self.controller and self.snapshot is not None and self.controller.snapshot is None:
            self.clear()  # a new run (or a reset) before its first snapshot

    def feed(self, snapshot: InsightSnapshot) -> None:
        """A new snapshot of the network; drawn now if the tab is shown, else when it is."""
        new_run = self.snapshot is None or snapshot.data is not self.snapshot.data
        self.snapshot = snapshot
        if new_run:
            self.sample_index = 0
            self.typed_input = None
            self.screen.refresh_bindings()
        if self._shown:  # a hidden view does nothing (its status line too waits for on_show)
            self._status()
            self._compute(snapshot)
            self.query_one(LandscapePane).feed(snapshot)

    def clear(self) -> None:
        self.snapshot = None
        self.views = None
        self._drawn = None
        self._show_empty()

    def on_show(self) -> None:
        self._shown = True
        self._status()  # draw what it has, if not yet drawn
        if self.snapshot is not None:
            self.query_one(LandscapePane).feed(self.snapshot)
        if self.snapshot is not None and self.snapshot is not self._drawn:
            self._compute(self.snapshot)

    def on_hide(self) -> None:
        self._shown = False

    def on_resize(self) -> None:
        if self.snapshot is None:
            return
        if self._resize_timer is not None:
            self._resize_timer.stop()
        self._resize_timer = self.set_timer(RESIZE_DELAY, lambda: self.snapshot and self._compute(self.snapshot))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("sample", "focus_input", "gradient_links"):  # the forward pass lives on the Network view
            return self.snapshot is not None and self.query_one(TabbedContent).active == "network-pane"
        if action == "test_points":
            return self.snapshot is not None and self.query_one(TabbedContent).active == "boundary-pane"
        return True

    @on(TabbedContent.TabActivated, "#insight-tabs")
    def _sub_tab(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        self.screen.refresh_bindings()
        if self.snapshot is not None and event.pane.id == "boundary-pane":
            self.call_after_refresh(lambda: self.snapshot and self._compute(self.snapshot))

    # ------------------------------------------------------------ computing off the UI thread

    def _forward_input(self) -> tuple[list[float] | None, Any, str]:
        s = self.snapshot
        if s is None:
            return None, None, ""
        d = s.data
        if self.typed_input is not None:
            return self.typed_input, None, "your input"
        if not len(d.points_X):
            return None, None, ""
        i = self.sample_index % len(d.points_X)
        target = d.points_y[i]
        target = int(target) if d.is_classification else [float(v) for v in getattr(target, "tolist", lambda: target)()]
        return [float(v) for v in d.points_X[i]], target, f"training sample {i + 1} of {len(d.points_X)}  ([ ] to change)"

    def _test_points(self, snapshot: InsightSnapshot) -> tuple[Any, Any] | None:
        d = snapshot.data
        if not self.show_test_points or d.val_X is d.points_X or not len(d.val_X):
            return None
        return d.val_X[:POINTS], d.val_y[:POINTS]

    def _compute(self, snapshot: InsightSnapshot) -> None:
        board = self.query_one(BoundaryMap)
        diagram = self.query_one(NetworkDiagram)
        cols, rows = board.wanted_grid() if board.size.width > 0 else (0, 0)
        x, target, _ = self._forward_input()
        sizes = (tuple(board.size), board.colors(), tuple(diagram.size), diagram.colors(), self._test_points(snapshot),
                 self.gradient_links)
        self._work(snapshot, cols, rows, x, target, sizes)

    @work(thread=True, exclusive=True, group="insight", exit_on_error=False)
    def _work(self, snapshot: InsightSnapshot, cols: int, rows: int, x: list[float] | None, target: Any, sizes) -> None:
        """Everything heavy for one snapshot: the views, the forward pass, and the two pictures."""
        from nn_tui.core.inspection.backward import backward_trace
        from nn_tui.core.inspection.forward import forward_trace
        from nn_tui.core.inspection.insight import compute_views

        worker = get_current_worker()
        t0 = time.perf_counter()
        d = snapshot.data
        (map_w, map_h), map_colors, (net_w, net_h), net_colors, test_points, gradient_links = sizes
        map_strips = diagram_strips = None
        try:
            views = compute_views(snapshot, cols, rows)
            picture = picture_of(snapshot.model, d.loss)
            trace = forward_trace(snapshot.model, x, d.loss, target=target, label_names=d.label_names) if x else None
            backward = backward_trace(snapshot.model, x, d.loss, target) if x and target is not None else None
            if gradient_links and backward is not None:
                picture = replace(picture, weights=backward.weight_gradients())
            if views.boundary is not None and map_w >= 2 and map_h >= 1:
                points = (d.points_X, d.points_y)
                strips = draw_boundary(views.boundary, points, map_w, map_h, map_colors, test_points)
                map_strips = (strips, (map_w, map_h, map_colors))
            if net_w >= 10 and net_h >= 4:
                diagram_strips = (draw_network(picture, trace, net_w, net_h, net_colors), (net_w, net_h, net_colors))
            error = None
        except Exception as exc:  # noqa: BLE001 - a view that cannot be computed says so instead of crashing
            views = picture = trace = backward = None
            error = f"{type(exc).__name__}: {exc}"
        if not worker.is_cancelled:
            self.post_message(InsightComputed(snapshot, views, picture, trace, backward, time.perf_counter() - t0, error,
                                              map_strips, diagram_strips))

    @on(InsightComputed)
    def _computed(self, event: InsightComputed) -> None:
        event.stop()
        if event.snapshot is not self.snapshot:
            return  # a newer snapshot is on its way
        self.computations += 1
        self.compute_seconds += event.seconds
        self._drawn = event.snapshot
        if event.error:
            self.query_one("#insight-status", Static).update(f"[$text-error]could not compute the views: {event.error}[/]")
            return
        self.views = event.views
        self._draw(event.snapshot, event.views, event.picture, event.trace, event.map_strips, event.diagram_strips)
        self._draw_backward(event.snapshot, event.backward)

    # ------------------------------------------------------------ drawing

    def _status(self) -> None:
        s = self.snapshot
        if s is None:
            self.query_one("#insight-status", Static).update(NO_RUN)
            return
        where = "final weights" if s.final else "training"
        self.query_one("#insight-status", Static).update(
            f"{s.data.dataset} · epoch {s.epoch} · step {s.global_step} · {where}"
        )

    def _show_empty(self) -> None:
        self.query_one(BoundaryMap).show(None, message="no run yet")
        self.query_one("#boundary-legend", Static).update("")
        self.query_one(HealthPanel).show(None, NO_RUN)
        self.query_one(NetworkDiagram).show(None, message="no run yet")
        self.query_one(ForwardPassView).show(None)
        self.query_one(BackwardPassView).show(None)
        self.query_one(LandscapePane).feed(None)
        self.query_one(TruthTableView).show(None)
        self.query_one(ConfusionMatrixView).show(None)
        self._status()

    def _draw(self, s: InsightSnapshot, views: InsightViews | None, picture, trace, map_strips=None,
              diagram_strips=None) -> None:
        d = s.data
        self._status()
        board = self.query_one(BoundaryMap)
        legend = self.query_one("#boundary-legend", Static)
        if views is not None and views.boundary is not None:
            test_points = self._test_points(s)
            board.test_points = test_points
            if map_strips is not None:
                board.show_strips(views.boundary, d.points_X, d.points_y, *map_strips)
            else:
                board.show(views.boundary, d.points_X, d.points_y, test_points=test_points)
            k = views.boundary.n_classes
            names = d.label_names or [str(i) for i in range(k)]
            colors = class_palette(self, k)
            e = views.boundary.extent
            fx, fy = (d.feature_names + ["x1", "x2"])[:2]
            legend.update(
                "  ".join(f"[{hex_of(c)}]■ {n}[/]" for c, n in zip(colors, names))
                + "  [$text-muted]· brighter = surer · dots: training points"
                + (", pale: validation points" if test_points is not None else " (v: validation too)")
                + f" · {fx} {e.x_min:.2g}…{e.x_max:.2g} → · {fy} {e.y_min:.2g}…{e.y_max:.2g} ↑[/]"
            )
        else:
            why = ("the decision boundary is drawn for classification datasets with 2 features; "
                   f"{d.dataset} has {d.n_features} feature{'s' if d.n_features != 1 else ''}"
                   + ("" if d.is_classification else " and is a regression"))
            board.show(None, message=why)
            legend.update("")
        self.query_one(HealthPanel).show(s.health, "" if s.health else "health could not be measured for this run")
        if diagram_strips is not None and picture is not None:
            self.query_one(NetworkDiagram).show_strips(picture, trace, *diagram_strips)
        else:
            self.query_one(NetworkDiagram).show(picture, trace)
        _, _, source = self._forward_input()
        self.query_one(ForwardPassView).show(trace, source, d.feature_names)
        note = f"epoch {s.epoch}"
        self.query_one(TruthTableView).show(views.truth if views else None, note)
        self.query_one(ConfusionMatrixView).show(views.confusion if views else None, note)

    # ------------------------------------------------------------ forward pass controls

    def action_sample(self, delta: int) -> None:
        if self.snapshot is None:
            return
        self.typed_input = None
        self.sample_index += delta
        self._compute(self.snapshot)

    def _draw_backward(self, s: InsightSnapshot, backward) -> None:
        why = "" if backward is not None else "your input has no target, so no loss to backpropagate: [ ] picks a training sample"
        self.query_one(BackwardPassView).show(backward, why, s.data.feature_names)
        self.query_one("#network-legend", Static).update(legend_markup(self, gradients=self.gradient_links and backward is not None))

    def action_gradient_links(self) -> None:
        self.gradient_links = not self.gradient_links
        self.notify(f"network links: {'∂L/∂w of this sample' if self.gradient_links else 'weights'} (g)", timeout=2)
        if self.snapshot is not None:
            self._compute(self.snapshot)

    def action_test_points(self) -> None:
        self.show_test_points = not self.show_test_points
        if self.snapshot is not None:
            self._compute(self.snapshot)

    def action_focus_input(self) -> None:
        self.query_one(TabbedContent).active = "network-pane"
        self.call_after_refresh(self.query_one("#forward-input", Input).focus)

    @on(Input.Submitted, "#forward-input")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        if self.snapshot is None:
            return
        n = self.snapshot.data.n_features
        text = event.value.replace(";", ",").replace(" ", ",")
        try:
            values = [float(v) for v in text.split(",") if v.strip()]
        except ValueError:
            self.notify("type numbers separated by commas, e.g. 0.5, -1", severity="warning")
            return
        if len(values) != n:
            self.notify(f"this network takes {n} input{'s' if n != 1 else ''}; got {len(values)}", severity="warning")
            return
        self.typed_input = values
        self._compute(self.snapshot)
