"""The ``lmforge`` command: a click group that packages extend through ``register_commands``.

Errors are one clear line; ``--debug`` (or ``LMFORGE_DEBUG=1``) shows the full traceback.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from .errors import LmforgeError
from .plugins import get_host


def build_cli() -> click.Group:
    """A fresh ``lmforge`` group with every command the loaded plugins contribute."""

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("--debug", is_flag=True, help="Show full tracebacks.")
    def cli(debug: bool) -> None:
        """lmforge: build language models from scratch, end to end."""
        # main() reads --debug from argv before dispatch; nothing global is set here, so one
        # debugging invocation does not leak into later ones in the same process.

    get_host().add_commands(cli)
    return cli


def strip_debug(argv: list[str]) -> tuple[list[str], bool]:
    """``argv`` without ``--debug`` (before any ``--``), and whether it was there: the flag is
    accepted anywhere on the line and handled here, so no subcommand has to declare it."""
    end = argv.index("--") if "--" in argv else len(argv)
    kept = [a for a in argv[:end] if a != "--debug"] + argv[end:]
    return kept, len(kept) != len(argv)


def main(argv: list[str] | None = None) -> None:
    argv, debug = strip_debug(list(sys.argv[1:] if argv is None else argv))
    debug = debug or bool(os.environ.get("LMFORGE_DEBUG"))
    group = build_cli()
    try:
        group.main(args=argv, prog_name="lmforge", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as e:
        if debug:
            traceback.print_exc()
        else:
            kind = "error" if isinstance(e, LmforgeError) else f"error ({type(e).__name__})"
            click.echo(f"lmforge: {kind}: {e}" + ("" if isinstance(e, LmforgeError) else
                                                     "  [rerun with --debug for the traceback]"), err=True)
        sys.exit(1)
