"""Snapshots of the views of learning: the learning-rate finder, the backward pass, the loss landscape.

Deterministic: the finder sweeps a seeded network on the 4-row XOR table; the Inside tab views are fed fixed
snapshots of untrained (seeded) networks. Update with `--snapshot-update` after a deliberate change, and look.
"""

from __future__ import annotations

from textual.widgets import TabbedContent

from nn_tui.tui.screens.lr_finder import LrFinderScreen
from nn_tui.tui.widgets.backward_pass import BackwardPassView
from nn_tui.tui.widgets.insight_view import InsightView
from nn_tui.tui.widgets.landscape_map import LandscapeMap
from nn_tui.tui.widgets.landscape_pane import LandscapePane
from nn_tui.tui.widgets.lr_curve_chart import LrCurveChart
from nn_tui.tui.widgets.network_diagram import NetworkDiagram
from tests.tui.helpers import small_preset, wait_for
from tests.tui.insight_fakes import fake_snapshot
from tests.tui.test_insight_view import InsightApp, linear_snapshot
from tests.tui.test_snapshots import settle


def test_lr_finder_80x24(snap_compare, make_app):
    async def run_before(pilot):
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, LrFinderScreen))
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.curve is not None, timeout=60)
        chart = screen.query_one(LrCurveChart)
        await wait_for(pilot, lambda: chart.settled and chart.builds >= 1)
        await settle(pilot)

    assert snap_compare(make_app(small_preset()), terminal_size=(80, 24), run_before=run_before)


def test_backward_pass_with_gradient_links_120x40(snap_compare):
    async def run_before(pilot):
        view = pilot.app.query_one(InsightView)
        view.feed(fake_snapshot())
        view.query_one(TabbedContent).active = "network-pane"
        view.query_one("#insight-tabs Tabs").focus()
        await wait_for(pilot, lambda: pilot.app.query_one(BackwardPassView).trace is not None)
        await pilot.press("right_square_bracket", "g")  # sample 2, links coloured by ∂L/∂w
        diagram = pilot.app.query_one(NetworkDiagram)
        await wait_for(pilot, lambda: view.gradient_links and pilot.app.query_one(BackwardPassView).trace is not None
                       and diagram.trace is not None and diagram.trace.inputs == (0.0, 1.0))
        await settle(pilot)

    assert snap_compare(InsightApp(), terminal_size=(120, 40), run_before=run_before)


def test_landscape_80x24(snap_compare):
    async def run_before(pilot):
        view = pilot.app.query_one(InsightView)
        view.feed(linear_snapshot())
        view.query_one(TabbedContent).active = "landscape-pane"
        pane = pilot.app.query_one(LandscapePane)
        await wait_for(pilot, lambda: pane.landscape is not None and pilot.app.query_one(LandscapeMap)._strips)
        await settle(pilot)

    assert snap_compare(InsightApp(), terminal_size=(80, 24), run_before=run_before)
