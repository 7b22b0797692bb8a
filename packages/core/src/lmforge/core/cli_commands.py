"""The host's own commands: ``lmforge plugins``, ``lmforge version`` and ``lmforge parity``."""

from __future__ import annotations

import importlib.metadata as md

import click

from .contract_check import ContractError, check_part
from .plugins import FIRST_PARTY, get_host


def format_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


@click.command("plugins")
@click.option("--kind", default=None, help="Only parts of this kind.")
@click.option("--check", is_flag=True,
              help="Also import every listed part and check it against its kind's contract.")
def plugins_command(kind: str | None, check: bool) -> None:
    """List every registered part by kind, with its package and version, and any broken plugin."""
    host = get_host()
    parts = [p for p in host.registry if kind is None or p.kind == kind]
    if kind is not None and not parts:
        raise click.ClickException(f"no parts of kind {kind!r}; kinds: {', '.join(host.registry.kinds())}")
    rows = [[p.kind, p.name, p.package, p.version, p.reference or "", p.ablation_of or "", p.description]
            for p in parts]
    click.echo(format_table(rows, ["kind", "name", "package", "version", "reference", "ablation of",
                                   "description"]))
    if host.broken:
        click.echo("\nbroken plugins (skipped):")
        for b in host.broken:
            click.echo(f"  {b.name} ({b.package} {b.version}): {b.error}")
    if check:
        failures = contract_failures(host.registry, parts)
        click.echo(f"\ncontracts: {len(parts) - len(failures)} of {len(parts)} parts pass")
        for failure in failures:
            click.echo(f"  {failure}")
        if failures:
            raise click.exceptions.Exit(1)


def contract_failures(registry, parts) -> list[str]:
    """Resolve each part (importing it) and check it against its contract; one line per failure."""
    failures = []
    for p in parts:
        try:
            check_part(p.kind, p.name, p.package, registry.get(p.kind, p.name))
        except Exception as e:  # an import error is as much a broken part as a contract violation
            failures.append(str(e) if isinstance(e, ContractError) else
                            f"{p.kind} {p.name!r} from {p.package}: {type(e).__name__}: {e}")
    return failures


@click.command("version")
def version_command() -> None:
    """Print every installed lmforge package and its version."""
    host = get_host()
    seen = {}
    for dist in md.distributions():
        name = dist.metadata["Name"] or ""
        if name.startswith("lmforge-") and name != "lmforge-workspace":
            seen[name] = dist.version
    for info in host.plugins.values():  # PYTHONPATH checkouts have no metadata
        if info.package.startswith("lmforge-"):
            seen.setdefault(info.package, info.version)
    order = {f"lmforge-{n}": i for i, n in enumerate(FIRST_PARTY)}
    for name in sorted(seen, key=lambda n: (order.get(n, 99), n)):
        click.echo(f"{name} {seen[name]}")


@click.command("parity")
@click.argument("kind", required=False)
@click.argument("name", required=False)
def parity_command(kind: str | None, name: str | None) -> None:
    """Check every part that declares a reference (or those of KIND, or KIND NAME) against it.

    Exits non-zero if any check fails, errors, or is missing for a kind whose parts declare references.
    """
    from .parity import HEADER, format_rows, run_parity

    rows = run_parity(get_host().registry, kind, name)
    if not rows:
        click.echo("no registered part declares a reference" + (f" in kind {kind!r}" if kind else ""))
        return
    click.echo(format_table(format_rows(rows), HEADER))
    failed = [r for r in rows if not r.passed]
    click.echo(f"\n{len(rows) - len(failed)} of {len(rows)} passed")
    if failed:
        raise click.exceptions.Exit(1)
