import subprocess
import sys

from click.testing import CliRunner

from lmforge.core import LmforgeError, hookimpl
from lmforge.core.cli import build_cli, main


def test_plugins_lists_parts_by_kind(fresh_host):
    result = CliRunner().invoke(build_cli(), ["plugins", "--kind", "metrics_logger"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["kind", "name", "package", "version", "reference", "ablation", "of",
                                "description"]
    assert any(line.split()[:3] == ["metrics_logger", "jsonl", "lmforge-core"] for line in lines)


def test_unknown_kind_is_a_clear_error(fresh_host):
    result = CliRunner().invoke(build_cli(), ["plugins", "--kind", "nope"])
    assert result.exit_code != 0 and "no parts of kind 'nope'" in result.output


def test_version_lists_every_member():
    out = subprocess.run([sys.executable, "-m", "lmforge.core", "version"], capture_output=True, text=True,
                         check=True).stdout
    names = [line.split()[0] for line in out.splitlines()]
    assert names[0] == "lmforge-core"
    assert set(names) >= {"lmforge-core"}


class Failing:
    @hookimpl
    def register_commands(self, cli):
        import click

        @cli.command("fail")
        @click.option("--bug", is_flag=True)
        def fail(bug):
            if bug:
                raise ZeroDivisionError("division by zero")
            raise LmforgeError("the input file is empty")


def run_main(args, capsys):
    try:
        main(args)
    except SystemExit as e:
        return e.code, capsys.readouterr().err
    return 0, capsys.readouterr().err


def test_errors_are_one_line_unless_debug(fresh_host, capsys):
    from lmforge.core import get_host

    get_host().pm.register(Failing(), name="failing")
    code, err = run_main(["fail"], capsys)
    assert code == 1 and err.strip() == "lmforge: error: the input file is empty"
    code, err = run_main(["fail", "--bug"], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "ZeroDivisionError" in err
    code, err = run_main(["--debug", "fail"], capsys)
    assert code == 1 and "Traceback" in err
    code, err = run_main(["fail", "--debug"], capsys)  # anywhere on the line, even after the command
    assert code == 1 and "Traceback" in err and "no such option" not in err


def test_debug_does_not_leak_into_later_invocations(fresh_host, capsys):
    from lmforge.core import get_host

    get_host().pm.register(Failing(), name="failing")
    run_main(["--debug", "fail"], capsys)
    code, err = run_main(["fail"], capsys)
    assert "Traceback" not in err and err.strip() == "lmforge: error: the input file is empty"
