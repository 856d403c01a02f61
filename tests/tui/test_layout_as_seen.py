"""What a user sees at 160x50 and 80x24 (issue #12): the network drawn as it is built, what 0 means, a device
note that is not cut off, and an XOR preview whose four points are visible. Through the app's own keys."""

from __future__ import annotations

from textual.geometry import Region

from nn_tui.core.preset import load_preset, resolve_preset_path
from nn_tui.tui.widgets.data_preview import DataPreview
from nn_tui.tui.widgets.device_panel import DevicePanel
from nn_tui.tui.widgets.layer_table import LayerTable
from nn_tui.tui.widgets.network_diagram import NODE, NetworkDiagram
from nn_tui.tui.widgets.train_view import TrainView
from tests.tui.helpers import wait_for


def xor():
    return load_preset(resolve_preset_path("xor"))


def screen_text(widget) -> list[str]:
    """The widget's lines as drawn on screen (what a user reads), border included."""
    return [strip.text for strip in widget.render_lines(Region(0, 0, *widget.outer_size))]


async def test_network_tab_draws_the_network_as_it_is_built(make_app):
    app = make_app(xor())
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.focused, LayerTable))
        diagram = app.screen.query_one("#build-diagram", NetworkDiagram)
        await wait_for(pilot, lambda: diagram.picture is not None)
        assert diagram.picture.sizes == (2, 8, 1)
        assert diagram.size.height >= 25  # it has the free space under the table
        drawn = "".join(screen_text(diagram))
        assert drawn.count(NODE) == 2 + 8 + 1 and "h1 8 tanh" in drawn and "out 1 sigmoid" in drawn
        await pilot.press("a")  # add a layer after the cursor's
        await wait_for(pilot, lambda: diagram.picture.sizes == (2, 8, 8, 1))
        await pilot.press("c")  # its activation
        await wait_for(pilot, lambda: "h2 8 tanh" not in "".join(screen_text(diagram)))
        assert "".join(screen_text(diagram)).count(NODE) == 2 + 8 + 8 + 1
        summary = app.screen.query_one("#layer-summary")
        svg = app.export_screenshot()
    assert "trainable parameters" in str(summary.render())
    # A text span that starts with a space loses it in some SVG renderers ("1,185trainable").
    assert ">&#160;trainable" not in svg and ">trainable&#160;parameters" in svg


async def test_training_form_says_what_zero_means(make_app):
    app = make_app(xor())
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.focused, LayerTable))
        form_text = "\n".join(screen_text(app.screen.query_one("#training-form .zero-means")))
    assert "CPU threads 0 = default: 1" in form_text
    assert "grad clip 0 = off" in form_text and "early stop 0 = off" in form_text


async def test_device_note_is_not_cut_off_at_80x24_after_a_run(make_app):
    app = make_app(xor())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await wait_for(pilot, lambda: app.screen.query_one_optional(TrainView) is not None)
        tv = app.screen.query_one(TrainView)
        await pilot.press("t")
        await wait_for(pilot, lambda: tv.state == "finished", timeout=20)
        panel = app.screen.query_one(DevicePanel)
        await wait_for(pilot, lambda: "GPU" in str(panel.render()))
        await pilot.pause(0.3)
        shown = " ".join(line.strip(" │╭╮╰╯─") for line in screen_text(panel))
    assert "none (NVML driver library not found)" in " ".join(shown.split()), shown


async def test_xor_preview_shows_its_four_points_clear_of_the_legend(make_app):
    app = make_app(xor())
    async with app.run_test(size=(80, 24)) as pilot:
        preview = app.screen.query_one(DataPreview)
        await wait_for(pilot, lambda: preview.points is not None and preview.settled, timeout=15)
        await pilot.pause(0.3)
        lines = screen_text(preview)
    inside = [line[1:-1] for line in lines[1:-1]]  # inside the border: the plot alone
    assert sum(line.count("●") for line in inside) == 4, "\n".join(lines)
    assert "● 0" in lines[-1] and "● 1" in lines[-1]  # the legend, on the bottom border
