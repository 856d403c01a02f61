"""Build a network with the keyboard: add, insert, delete, move layers, change units and activation."""

from __future__ import annotations

from nn_tui.core.model.build import summarize
from nn_tui.core.preset import LayerSpec
from nn_tui.tui.screens.main import MainScreen
from nn_tui.tui.widgets.field_form import FieldForm
from nn_tui.tui.widgets.layer_table import LayerTable
from tests.tui.helpers import small_preset, wait_for


def layers(app) -> list[tuple[int, str]]:
    return [(layer.units, layer.activation) for layer in app.screen.preset.layers]


async def test_keyboard_builds_a_network_and_the_summary_follows(make_app):
    app = make_app(small_preset())  # xor: 2 features -> [4 tanh] -> 1 logit (bce)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.focused, LayerTable))
        screen: MainScreen = app.screen
        table = app.focused
        assert table.cursor_row == 1  # the first hidden layer

        await pilot.press("a")  # add after the cursor: copies the layer under it
        assert layers(app) == [(4, "tanh"), (4, "tanh")]
        assert table.cursor_row == 2

        await pilot.press("c", "c")  # tanh -> gelu -> elu
        assert layers(app)[1] == (4, "elu")
        await pilot.press("C")
        assert layers(app)[1] == (4, "gelu")

        await pilot.press("plus", "plus", "minus")
        assert layers(app)[1] == (5, "gelu")
        await pilot.press("asterisk")
        assert layers(app)[1] == (10, "gelu")

        await pilot.press("enter", *"32", "enter")  # type the units
        assert layers(app)[1] == (32, "gelu")
        assert app.focused is table

        await pilot.press("i")  # insert before the cursor (row 2) -> new layer at index 1
        assert [u for u, _ in layers(app)] == [4, 32, 32]
        assert table.cursor_row == 2

        await pilot.press("d")
        assert [u for u, _ in layers(app)] == [4, 32]

        await pilot.press("up", "shift+down")  # move the first layer below the second
        assert layers(app) == [(32, "gelu"), (4, "tanh")]
        assert table.cursor_row == 2
        await pilot.press("K")
        assert layers(app) == [(4, "tanh"), (32, "gelu")]

        await pilot.press("b", "o", *"0.25", "enter")
        assert screen.preset.layers[0] == LayerSpec(4, "tanh", dropout=0.25, batch_norm=True)

        # The table is the model summary: per-layer outputs and parameters, and the total.
        expected = summarize(2, screen.preset.layers, 1, "bce")
        assert [r.parameters for r in table.summary] == [r.parameters for r in expected]
        total = sum(r.parameters for r in expected)
        assert table.total_parameters == total == (2 * 4 + 4 + 8) + (4 * 32 + 32) + (32 + 1)
        summary_text = str(screen.query_one("#layer-summary").render())
        assert f"{total:,} trainable parameters" in summary_text
        assert "sigmoid" in summary_text

        # The input and output rows come from the dataset and the loss: not editable.
        await pilot.press("up", "up", "d")
        assert table.cursor_row == 0 and len(screen.preset.layers) == 2
        assert "input layer comes from the dataset" in str(screen.query_one("#layer-hint").render())
        await pilot.press("a")  # add after the input row = a new first hidden layer
        assert len(screen.preset.layers) == 3 and table.cursor_row == 1
        await pilot.press("end", "a")  # on the output row, add appends the last hidden layer
        assert len(screen.preset.layers) == 4
        await pilot.press("home", "down", "d", "d", "d", "d")  # delete every hidden layer: a perceptron
        assert screen.preset.layers == []
        assert table.total_parameters == 3  # 2 weights + 1 bias

        # The mouse: buttons under the table, and a click on a cell of the layer under the cursor.
        await pilot.click("#btn-add")
        assert screen.preset.layers == [LayerSpec(8, "relu")] and table.cursor_row == 1
        x_activation = sum(c.get_render_width(table) for c in table.ordered_columns[:2]) + 1
        x_bn = sum(c.get_render_width(table) for c in table.ordered_columns[:4]) + 1
        await pilot.click(LayerTable, offset=(x_activation, 2))  # header line, then input, then layer 1
        await pilot.click(LayerTable, offset=(x_bn, 2))
        assert screen.preset.layers == [LayerSpec(8, "leaky_relu", batch_norm=True)]
        await pilot.click(LayerTable, offset=(x_activation, 3))  # another row: the click only moves there
        assert table.cursor_row == 2 and screen.preset.layers[0].activation == "leaky_relu"


async def test_refused_input_is_explained_and_never_applied(make_app):
    app = make_app(small_preset())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.focused, LayerTable))
        screen: MainScreen = app.screen
        # units 0 in the typed edit line: refused, the layer keeps its units
        await pilot.press("enter", "0", "enter")
        assert "must be an integer >= 1" in str(screen.query_one("#layer-hint").render())
        await pilot.press("escape")
        assert screen.preset.layers[0].units == 4
        assert app.focused is screen.query_one(LayerTable)

        # lr "abc" in the training form
        form = screen.query_one("#training-form", FieldForm)
        lr = form.query_one("#field-lr")
        lr.focus()
        await pilot.press(*"abc")
        row = form.row("lr")
        assert row.has_class("-invalid")
        assert row.refused == "'abc' is not a number"
        assert "'abc' is not a number" in str(form.query_one(".refused").render())  # shown under the row
        assert screen.preset.training.lr == 0.1
        # training refuses to start while a field is refused
        screen.action_train()
        await pilot.pause()
        assert app.trainer.calls == []
        assert screen.train_view.state == "idle"
        # escape puts back the last allowed value
        await pilot.press("escape")
        assert not row.has_class("-invalid") and lr.value == "0.1"
        # a corrected value is applied
        await pilot.press("end", "shift+home", *"abc")
        assert row.has_class("-invalid")
        await pilot.press("end", "shift+home", *"0.05")
        assert not row.has_class("-invalid")
        assert screen.preset.training.lr == 0.05

        # Only the losses that fit the dataset are offered.
        def offered() -> list[str]:
            return [value for _, value in form.row("loss").spec.choices]

        assert offered() == ["auto", "bce", "cross_entropy"]
        await screen.choose_dataset("sine")
        await wait_for(pilot, lambda: screen.data_task == "regression")
        assert offered() == ["auto", "mse", "mae", "huber"]
        await screen.choose_dataset("spiral")
        await pilot.pause()  # choosing from the palette focuses the dataset list
        arms = screen.query_one("#data-form", FieldForm).query_one("#field-arms")
        arms.focus()
        await pilot.press("end", "shift+home", "3")
        await wait_for(pilot, lambda: screen.n_classes == 3)
        assert offered() == ["auto", "cross_entropy"]  # bce needs exactly 2 classes
        assert screen.query_one(LayerTable).n_out == 3
