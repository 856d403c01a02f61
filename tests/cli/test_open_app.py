"""`nn-tui` alone opens the app straight away, without building the command-line parser."""

from __future__ import annotations

import sys

import pytest
import typer

import nn_tui.cli as cli
from tests.cli.conftest import refused


def test_bare_command_opens_the_app_without_the_parser(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "launch_app", lambda preset: calls.append(preset))
    monkeypatch.setattr(cli, "app", lambda: pytest.fail("typer's parser was run for a bare `nn-tui`"))
    monkeypatch.setattr(sys, "argv", ["nn-tui"])
    cli.main()
    assert calls == [None]


def test_bare_command_keeps_the_exit_code(monkeypatch):
    def refuse(preset):
        raise typer.Exit(cli.EXIT_FAILED)

    monkeypatch.setattr(cli, "launch_app", refuse)
    monkeypatch.setattr(sys, "argv", ["nn-tui"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == cli.EXIT_FAILED


def test_any_argument_goes_through_the_parser(monkeypatch):
    ran = []
    monkeypatch.setattr(cli, "launch_app", lambda preset: pytest.fail("opened the app"))
    monkeypatch.setattr(cli, "app", lambda: ran.append(True))
    monkeypatch.setattr(sys, "argv", ["nn-tui", "--help"])
    cli.main()
    assert ran == [True]


def test_open_refuses_a_folder_that_is_not_a_sweep_folder(nn_tui, tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("not a sweep\n")
    refused(nn_tui("open", "plain", timeout=60), "plain", "not a sweep folder", "sweep.toml")
