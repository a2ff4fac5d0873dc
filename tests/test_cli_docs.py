"""Every command is documented: a help text with an example (sqlite-utils habit)."""

import click
from click.testing import CliRunner

from flexpersona.cli import main


def _commands():
    ctx = click.Context(main)
    return {name: main.get_command(ctx, name) for name in main.list_commands(ctx)}


def test_every_command_has_help_with_an_example():
    commands = _commands()
    assert {"run", "demo", "bench"} <= set(commands)
    for name, cmd in commands.items():
        assert cmd.help, f"command {name} has no help text"
        assert "Example" in cmd.help, f"command {name} has no example in its --help"
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, result.output


def test_readme_names_every_command():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in _commands():
        assert f"`{name}`" in readme or f"flexpersona {name}" in readme, f"README does not mention {name}"
