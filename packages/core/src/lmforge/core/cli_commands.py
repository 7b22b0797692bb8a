"""The host's own commands: ``lmforge plugins`` and ``lmforge version``."""

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
    rows = [[p.kind, p.name, p.package, p.version, p.description] for p in parts]
    click.echo(format_table(rows, ["kind", "name", "package", "version", "description"]))
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
