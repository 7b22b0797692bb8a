"""The host's own commands: ``lmforge plugins``, ``lmforge version`` and ``lmforge parity``."""

from __future__ import annotations

import importlib.metadata as md

import click

from .plugins import FIRST_PARTY, get_host


def format_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


@click.command("plugins")
@click.option("--kind", default=None, help="Only parts of this kind.")
def plugins_command(kind: str | None) -> None:
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
