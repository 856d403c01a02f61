"""The Inside tab's views, fed snapshots of an untrained network (no training in these tests)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import TabbedContent, TabPane

from nn_tui.tui.widgets.boundary_map import BoundaryMap
from nn_tui.tui.widgets.confusion_matrix import ConfusionMatrixView
from nn_tui.tui.widgets.forward_pass import ForwardPassView
from nn_tui.tui.widgets.health_panel import HealthPanel
from nn_tui.tui.widgets.insight_view import InsightView
from nn_tui.tui.widgets.network_diagram import NetworkDiagram
from nn_tui.tui.widgets.truth_table_view import TruthTableView
from tests.tui.helpers import wait_for
from tests.tui.insight_fakes import fake_snapshot


class InsightApp(App):
    def __init__(self, hidden: bool = False) -> None:
        super().__init__()
        self.hidden = hidden

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="other" if self.hidden else "inside"):
            with TabPane("other", id="other"):
                yield from ()
            with TabPane("inside", id="inside"):
                yield InsightView()


async def test_a_snapshot_fills_every_view(tmp_path):
    app = InsightApp()
    async with app.run_test(size=(110, 34)) as pilot:
        view = app.query_one(InsightView)
        snapshot = fake_snapshot()
        view.feed(snapshot)
        await wait_for(pilot, lambda: view.views is not None)
        board = app.query_one(BoundaryMap)
        grid = view.views.boundary
        assert (grid.cols, grid.rows) == (board.size.width, 2 * board.size.height)  # sized to the widget
        assert board.builds == 0  # the picture was drawn on the worker, not at render time
        assert app.query_one(HealthPanel).report is snapshot.health
        table = app.query_one(TruthTableView).table
        assert table is not None and table.gate == "xor" and len(table.rows) == 4
        assert app.query_one(ConfusionMatrixView).metrics["labels"] == ["no", "yes"]
        assert app.query_one(NetworkDiagram).picture.sizes == (2, 4, 1)
        trace = app.query_one(ForwardPassView).trace
        assert trace.inputs == (0.0, 0.0) and trace.target == 0
        assert "xor · epoch 3" in str(view.query_one("#insight-status").render())

        view.query_one(TabbedContent).active = "network-pane"
        view.query_one("#insight-tabs Tabs").focus()  # as the app does when the Inside tab opens
        await pilot.pause()
        await pilot.press("right_square_bracket")  # next sample
        await wait_for(pilot, lambda: app.query_one(ForwardPassView).trace.inputs == (0.0, 1.0))
        await pilot.press("f")
        await pilot.press(*"0.5, -1", "enter")
        await wait_for(pilot, lambda: app.query_one(ForwardPassView).trace.inputs == (0.5, -1.0))
        assert app.query_one(ForwardPassView).trace.target is None

        notices = len(app._notifications)
        app.query_one("#forward-input").value = ""
        await pilot.press(*"1 2 3", "enter")  # three numbers for a two-input network: refused with a message
        await pilot.pause()
        assert len(app._notifications) == notices + 1
        assert view.typed_input == [0.5, -1.0]


async def test_validation_points_can_be_drawn_too():
    app = InsightApp()
    async with app.run_test(size=(90, 26)) as pilot:
        view = app.query_one(InsightView)
        view.feed(fake_snapshot(dataset="points", features=2))
        await wait_for(pilot, lambda: view.views is not None)
        view.query_one("#insight-tabs Tabs").focus()
        board = app.query_one(BoundaryMap)
        assert board.test_points is None
        before = board.render_line(5)
        await pilot.press("v")
        await wait_for(pilot, lambda: board.test_points is not None)
        assert len(board.test_points[0]) == 20
        assert "validation points" in str(view.query_one("#boundary-legend").render())
        await pilot.pause()
        assert board.builds == 0 and board.render_line(5) is not before  # redrawn (on the worker)


async def test_views_wait_until_the_tab_is_shown_and_explain_what_does_not_apply():
    app = InsightApp(hidden=True)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(InsightView)
        view.feed(fake_snapshot(dataset="blobs", features=5))
        await pilot.pause(0.3)
        assert view.views is None and not view.compute_seconds  # nothing computed for a hidden tab
        app.query_one(TabbedContent).active = "inside"
        await wait_for(pilot, lambda: view.views is not None)
        assert view.views.boundary is None and view.views.truth is None
        board = app.query_one(BoundaryMap)
        assert board.grid is None and "2 features" in board.message and "blobs has 5 features" in board.message
        assert app.query_one(TruthTableView).table is None
        assert app.query_one(ConfusionMatrixView).metrics is not None

        first = view.snapshot
        view.feed(fake_snapshot(dataset="blobs", features=5, epoch=4, data=first.data, final=True))
        await wait_for(pilot, lambda: view.views.epoch == 4)
        assert "final weights" in str(view.query_one("#insight-status").render())
        view.clear()
        await pilot.pause()
        assert view.snapshot is None and app.query_one(NetworkDiagram).picture is None


def plain(widget) -> str:
    """A Static's content as the terminal shows it, without styles."""
    import io

    from rich.console import Console

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


async def test_backward_pass_beside_the_forward_pass_and_gradient_links():
    import numpy as np

    from nn_tui.tui.widgets.backward_pass import BackwardPassView

    app = InsightApp()
    async with app.run_test(size=(110, 40)) as pilot:
        view = app.query_one(InsightView)
        view.feed(fake_snapshot())
        view.query_one(TabbedContent).active = "network-pane"
        view.query_one("#insight-tabs Tabs").focus()
        await wait_for(pilot, lambda: app.query_one(BackwardPassView).trace is not None)
        back = app.query_one(BackwardPassView)
        assert [g.name for g in back.trace.layers] == ["hidden 1", "output"]
        shown = plain(back)
        assert "backward pass" in shown and "chain rule for the weight" in shown
        diagram = app.query_one(NetworkDiagram)
        weights = [np.asarray(w) for w in diagram.picture.weights]

        await pilot.press("g")  # links by ∂L/∂w of this sample
        await wait_for(pilot, lambda: diagram.picture is not None and not np.array_equal(diagram.picture.weights[0], weights[0]))
        for drawn, grad in zip(diagram.picture.weights, back.trace.weight_gradients()):
            assert np.array_equal(drawn, grad)
        assert "∂L/∂w" in str(view.query_one("#network-legend").content)
        await pilot.press("g")  # back to weights
        await wait_for(pilot, lambda: np.array_equal(diagram.picture.weights[0], weights[0]))

        await pilot.press("f")
        await pilot.press(*"0.5, -1", "enter")  # a typed input has no target: no loss to backpropagate
        await wait_for(pilot, lambda: app.query_one(ForwardPassView).trace.inputs == (0.5, -1.0))
        assert back.trace is None and "no target" in plain(back)


def linear_snapshot(epochs: int = 6):
    """A y = w·x + b model part way down its (w, b) bowl, with the path that led there."""
    import dataclasses

    import numpy as np
    import torch

    from nn_tui.core.inspection.landscape import parameter_vector
    from nn_tui.core.model.build import build_model

    torch.manual_seed(0)
    model = build_model(1, [], 1)
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(80, 1)).astype(np.float32)
    y = (2 * X + 1).astype(np.float32)
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    path = [parameter_vector(model).numpy()]
    for _ in range(epochs):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(torch.from_numpy(X)), torch.from_numpy(y)).backward()
        opt.step()
        path.append(parameter_vector(model).numpy())
    model.requires_grad_(False).eval()
    base = fake_snapshot()
    data = dataclasses.replace(base.data, dataset="linear", task="regression", loss="mse", feature_names=["x"],
                               label_names=None, points_X=X, points_y=y, val_X=X, val_y=y, extent=None, gate=None,
                               hidden_layers=0)
    return dataclasses.replace(base, model=model, data=data, path=tuple(path), health=None)


async def test_landscape_view_measures_off_the_ui_thread_and_leaves_the_model_alone():
    import torch

    from nn_tui.core.inspection.landscape import parameter_vector
    from nn_tui.tui.widgets.landscape_map import LandscapeMap
    from nn_tui.tui.widgets.landscape_pane import LandscapePane

    app = InsightApp()
    async with app.run_test(size=(110, 34)) as pilot:
        view = app.query_one(InsightView)
        pane = app.query_one(LandscapePane)
        snapshot = linear_snapshot()
        before = parameter_vector(snapshot.model).clone()
        view.feed(snapshot)
        await pilot.pause()
        assert pane.computations == 0  # not measured while its sub-tab is hidden
        view.query_one(TabbedContent).active = "landscape-pane"
        await wait_for(pilot, lambda: pane.landscape is not None)
        scape = pane.landscape
        assert scape.kind == "weights" and len(scape.path) == 7
        w, b, _ = scape.minimum
        assert abs(w - 2) < 0.3 and abs(b - 1) < 0.3  # the bowl's bottom, on a 31-point grid
        assert torch.equal(before, parameter_vector(snapshot.model))
        assert app.query_one(LandscapeMap).builds == 0  # drawn on the worker
        legend = str(pane.query_one("#landscape-legend").content)
        assert "lowest" in legend and "path 7 pts" in legend

        other = fake_snapshot(seed=1)  # a network with a hidden layer: a random slice
        view.feed(other)
        await wait_for(pilot, lambda: pane.measured is other, timeout=10)
        assert pane.landscape.kind == "directions" and "slice" in str(pane.query_one("#landscape-title").content)
