"""Whatever a plugin does on import, registration or command registration, only that plugin suffers."""

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from lmforge.core import get_host, get_part, reset_host
from lmforge.core.cli import build_cli
from lmforge.core.plugins import load_host

from .test_plugins import make_plugin
from .test_third_party_plugin import install_dist_info


def add_dist(site, name, module_source, entry_name=None):
    """A distribution ``name`` whose plugin module has ``module_source``."""
    pkg = site / name.replace("-", "_")
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "plugin.py").write_text(module_source)
    install_dist_info(site, name, "0.1", f"[lmforge]\n{entry_name or name} = {pkg.name}.plugin\n")


@pytest.fixture
def site(tmp_path, monkeypatch, fresh_host):
    monkeypatch.delenv("LMFORGE_PLUGINS")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    reset_host()


@pytest.mark.parametrize("statement", ["import sys; sys.exit('bye')", "raise SystemExit(3)",
                                       "raise GeneratorExit()", "raise RecursionError('deep')"])
def test_plugin_raising_anything_on_import_is_quarantined(site, monkeypatch, statement):
    monkeypatch.setenv("LMFORGE_PLUGINS", "core,exiting")
    add_dist(site, "exiting", statement + "\n")
    host = get_host()
    assert host.plugins["exiting"].error.startswith("import failed: ")
    assert get_part("metrics_logger", "jsonl")
    result = CliRunner().invoke(build_cli(), ["--help"])
    assert result.exit_code == 0 and "plugins" in result.output


def test_sys_exit_on_import_does_not_kill_the_cli_process(tmp_path):
    add_dist(tmp_path, "exiting", "import sys\nsys.exit(7)\n")
    env = {"PYTHONPATH": str(tmp_path), "LMFORGE_PLUGINS": "core,exiting", "PATH": ""}
    proc = subprocess.run([sys.executable, "-m", "lmforge.core", "--help"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "plugins" in proc.stdout
    assert "plugin 'exiting'" in proc.stderr and "SystemExit: 7" in proc.stderr


def test_sys_exit_while_registering_is_quarantined(fresh_host):
    def register(register):
        raise SystemExit("I quit")

    host = get_host()
    assert not host.add_plugin(make_plugin(register_rewards=register), "quitter", "quitter-pkg")
    assert host.plugins["quitter"].error == "SystemExit: I quit"


def test_keyboard_interrupt_is_not_swallowed(fresh_host):
    def register(register):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        get_host().add_plugin(make_plugin(register_rewards=register), "ctrl_c", "ctrl-c-pkg")


def reward(response, ground_truth):
    return {"reward": 0.0}


def test_command_name_clash_quarantines_the_second_plugin(fresh_host):
    @click.command("plugins")
    def impostor():
        click.echo("not the real one")

    @click.command("extra")
    def extra():
        click.echo("extra")

    def commands(cli):
        cli.add_command(extra)
        cli.add_command(impostor)

    host = get_host()
    assert host.add_plugin(make_plugin(register_commands=commands,
                                       register_rewards=lambda register: register("r", reward)),
                           "clasher", "clasher-pkg")
    cli = build_cli()
    assert cli.commands["plugins"].callback.__name__ == "plugins_command"  # the first keeps it
    assert "extra" not in cli.commands  # nothing of the second plugin's commands stays
    error = host.plugins["clasher"].error
    assert "'plugins'" in error and "'core'" in error
    assert "r" not in host.registry.names("reward")  # removed entirely, parts too
    assert "plugins" in CliRunner().invoke(build_cli(), ["--help"]).output


def test_failing_register_commands_removes_the_plugin_entirely(fresh_host):
    def commands(cli):
        cli.add_command(click.Command("half"))
        raise RuntimeError("no commands today")

    host = get_host()
    assert host.add_plugin(make_plugin(register_commands=commands,
                                       register_rewards=lambda register: register("r", reward)),
                           "flaky", "flaky-pkg")
    assert "r" in host.registry.names("reward")
    cli = build_cli()
    assert "half" not in cli.commands
    assert host.plugins["flaky"].error == "register_commands: RuntimeError: no commands today"
    assert "r" not in host.registry.names("reward")
    assert host.pm.get_plugin("flaky") is None


def test_colliding_entry_point_names_are_reported(site, monkeypatch, capsys):
    monkeypatch.setenv("LMFORGE_PLUGINS", "core,twin")
    add_dist(site, "twin-a", "", entry_name="twin")
    add_dist(site, "twin-b", "", entry_name="twin")
    add_dist(site, "core-impostor", "", entry_name="core")
    host = load_host()
    assert host.plugins["twin"].package == "twin-a" and host.plugins["twin"].error is None
    assert "already taken by plugin 'twin' from twin-a" in host.plugins["twin (twin-b)"].error
    assert "already taken by plugin 'core' from lmforge-core" in host.plugins["core (core-impostor)"].error
    err = capsys.readouterr().err
    assert "twin-b" in err and "core-impostor" in err
