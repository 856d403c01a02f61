"""Save the setup as a preset, load it back, and check that `nn-tui run` accepts the file."""

from __future__ import annotations

from pathlib import Path

from nn_tui.core.preset import LayerSpec, dump_preset, load_preset
from nn_tui.tui.screens.preset_file import PresetFileModal
from nn_tui.tui.widgets.layer_table import LayerTable
from tests.tui.helpers import small_preset, wait_for


async def test_save_load_round_trip_and_the_file_runs_headless(make_app, tmp_path: Path):
    app = make_app(small_preset(epochs=3))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.focused, LayerTable))
        await pilot.press("a", "c", "enter", *"6", "enter", "b")
        built = [LayerSpec(4, "tanh"), LayerSpec(6, "gelu", batch_norm=True)]
        assert screen.preset.layers == built

        # ctrl+s with no file yet asks where; the suggestion is selected, so typing replaces the name
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PresetFileModal))
        await pilot.press(*"mynet", "enter")
        await wait_for(pilot, lambda: app.screen is screen)
        saved = tmp_path / "mynet.toml"
        assert saved.exists()
        assert screen.preset_path.resolve() == saved
        loaded = load_preset(saved)
        assert loaded.layers == built
        assert loaded.name == "mynet"
        assert dump_preset(loaded) == saved.read_text()

        # a second ctrl+s writes to the same file without asking
        await pilot.press("d")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, PresetFileModal)
        assert load_preset(saved).layers == built[:1]

        # change the setup, then open the file again
        await pilot.press("a", "a", "a")
        assert len(screen.preset.layers) == 4
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PresetFileModal))
        await pilot.press(*"mynet.toml", "enter")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.preset.layers == built[:1]
        assert app.screen.query_one(LayerTable).specs == built[:1]

        # a file that is not a preset is refused inside the dialog, with the reason
        (tmp_path / "broken.toml").write_text("[data]\ndataset = 'nope'\n")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PresetFileModal))
        await pilot.press(*"broken.toml", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PresetFileModal)
        assert "unknown dataset 'nope'" in str(app.screen.query_one("#file-message").render())
        await pilot.press("escape")

    # The saved file is a preset `nn-tui run` accepts: train it headless, in-process.
    from nn_tui.core.run.runner import Run, prepare_run

    run = Run(prepare_run(load_preset(saved)), out_dir=tmp_path / "headless", progress_interval=0)
    finished = run.execute()
    assert finished.status == "completed" and finished.epochs_run == 3
    assert (Path(finished.run_dir) / "summary.json").exists()


async def test_bundled_presets_open_from_the_dialog(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PresetFileModal))
        choices = app.screen.query_one("#file-choices")
        labels = [str(choices.get_option_at_index(i).prompt) for i in range(choices.option_count)]
        assert "bundled · spiral" in labels
        choices.focus()
        choices.highlighted = labels.index("bundled · spiral")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.preset.name == "spiral" and screen.preset.data.dataset == "spiral"
        assert [layer.units for layer in screen.preset.layers] == [32, 32]
        # ctrl+s never writes into the bundled presets: it asks for a new file
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PresetFileModal))
        await pilot.press("escape")
