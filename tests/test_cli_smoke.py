from click.testing import CliRunner

from flexpersona.cli import main


def test_help_lists_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "flexpersona" in result.output
