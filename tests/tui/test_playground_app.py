"""Playground's pieces in the app: extra inputs typed in the Data tab reach the network and its diagram."""

from __future__ import annotations

from textual.widgets import Input

from nn_tui.tui.screens.main import MainScreen
from nn_tui.tui.widgets.field_form import FieldForm
from nn_tui.tui.widgets.layer_table import LayerTable
from nn_tui.tui.widgets.network_diagram import NetworkDiagram
from tests.tui.helpers import small_preset, wait_for


async def test_extra_inputs_typed_in_the_data_tab_grow_the_network(make_app):
    app = make_app(small_preset())  # xor: 2 features
    async with app.run_test(size=(100, 30)) as pilot:
        screen: MainScreen = app.screen
        await wait_for(pilot, lambda: screen.all_mounted and screen.query_one(LayerTable).n_in == 2)
        form = screen.query_one("#data-form", FieldForm)
        field = form.query_one("#field-extra_features", Input)
        field.focus()
        await pilot.press("end", "shift+home", *"x1^2, x1*x2")
        await wait_for(pilot, lambda: screen.preset.data.extra_features == ["x1^2", "x1*x2"])
        assert screen.query_one(LayerTable).n_in == 4
        picture = screen.query_one("#build-diagram", NetworkDiagram).picture
        assert picture.input_names == ("x1", "x2", "x1^2", "x1*x2")

        await pilot.press("end", "shift+home", *"x3^2")  # xor has no third feature
        row = form.row("extra_features")
        await wait_for(pilot, lambda: row.has_class("-invalid"))
        assert "x1^2, x2^2, x1*x2, sin(x1), sin(x2)" in row.refused
        assert screen.preset.data.extra_features == ["x1^2", "x1*x2"]

        await pilot.press("end", "shift+home", "backspace")  # an empty field: no extra inputs
        await wait_for(pilot, lambda: screen.preset.data.extra_features == [])
        assert screen.query_one(LayerTable).n_in == 2
