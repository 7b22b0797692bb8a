"""The plugin host: finds plugins, quarantines broken ones, and fills the part registry.

Load order: first-party modules ``lmforge.<pkg>.plugin`` that are importable (so a bare PYTHONPATH
checkout works without package metadata), then the ``lmforge`` entry-point group. ``LMFORGE_PLUGINS``
(comma-separated plugin names) restricts which load; the core plugin always loads.
``LMFORGE_TRACE=1`` prints every hook call to stderr.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata as md
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy

from . import hookspecs
from .errors import LmforgeError
from .registry import Part, Registry, first_doc_line

ENTRY_POINT_GROUP = "lmforge"
FIRST_PARTY = ("core", "tokenize", "model", "systems", "scaling", "data", "align")

hookimpl = pluggy.HookimplMarker("lmforge")

# hook name -> part kind, read off the hookspecs module
REGISTRATION_HOOKS: dict[str, str] = {
    name: fn.lmforge_kind for name, fn in vars(hookspecs).items() if hasattr(fn, "lmforge_kind")
}


@dataclass
class PluginInfo:
    name: str
    package: str
    version: str
    error: str | None = None


class Host:
    """A plugin manager plus the registry its plugins filled."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("lmforge")
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        self.plugins: dict[str, PluginInfo] = {}
        if os.environ.get("LMFORGE_TRACE"):
            self.pm.trace.root.setwriter(sys.stderr.write)
            self.pm.enable_tracing()

    @property
    def broken(self) -> list[PluginInfo]:
        return [p for p in self.plugins.values() if p.error]

    def quarantine(self, name: str, package: str, version: str, error: str) -> None:
        self.plugins[name] = PluginInfo(name, package, version, error)
        print(f"lmforge: warning: plugin {name!r} ({package}) skipped: {error}", file=sys.stderr)

    def add_plugin(self, plugin: Any, name: str, package: str | None = None, version: str = "0") -> bool:
        """Register ``plugin`` and its parts; on any error quarantine it and return False."""
        package = package or name
        try:
            self.pm.register(plugin, name=name)
        except Exception as e:  # pluggy validates signatures here
            self.quarantine(name, package, version, f"{type(e).__name__}: {e}")
            return False
        misspelled = self._unknown_hooks(name)
        if misspelled:
            self.pm.unregister(name=name)
            self.quarantine(name, package, version, misspelled)
            return False
        self.plugins[name] = PluginInfo(name, package, version)
        try:
            self._register_parts(name, package, version)
        except Exception as e:
            self.remove_plugin(name)
            self.quarantine(name, package, version, f"{type(e).__name__}: {e}")
            return False
        return True

    def remove_plugin(self, name: str) -> None:
        self.registry.remove_plugin(name)
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        self.plugins.pop(name, None)

    def _unknown_hooks(self, name: str) -> str | None:
        """pluggy's check_pending(), per plugin, so one misspelled hook quarantines only its plugin."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError:
            known = list(vars(hookspecs))
            bad = [
                impl.function.__name__
                for caller in vars(self.pm.hook).values()
                if isinstance(caller, pluggy.HookCaller) and not caller.has_spec()
                for impl in caller.get_hookimpls()
                if impl.plugin_name == name and not impl.optionalhook
            ]
            hints = []
            for b in bad:
                close = difflib.get_close_matches(b, known, 1)
                hints.append(f"{b!r} (did you mean {close[0]!r}?)" if close else repr(b))
            return "unknown hook " + ", ".join(hints) if hints else None
        return None

    def _register_parts(self, plugin_name: str, package: str, version: str) -> None:
        others = [p for n, p in self.pm.list_name_plugin() if n != plugin_name]
        pending: list[Part] = []
        for hook_name, kind in REGISTRATION_HOOKS.items():
            caller = self.pm.subset_hook_caller(hook_name, remove_plugins=others)

            def register(name, part, *, description=None, reference=None, _kind=kind):
                if not isinstance(name, str) or not name:
                    raise LmforgeError(f"{_kind} part names must be non-empty strings, got {name!r}")
                desc = description if description is not None else first_doc_line(part)
                pending.append(Part(_kind, name, part, package, version, desc, reference, plugin_name))

            caller(register=register)
        try:
            for part in pending:
                self.registry.add(part)
        except Exception:  # all or nothing: a duplicate leaves none of this plugin's parts behind
            self.registry.remove_plugin(plugin_name)
            raise

    def add_commands(self, cli) -> None:
        for name, _ in self.pm.list_name_plugin():
            caller = self.pm.subset_hook_caller(
                "register_commands", remove_plugins=[p for n, p in self.pm.list_name_plugin() if n != name]
            )
            try:
                caller(cli=cli)
            except Exception as e:
                info = self.plugins.get(name) or PluginInfo(name, name, "?")
                self.quarantine(name, info.package, info.version, f"register_commands: {e}")


def _wanted(name: str) -> bool:
    allowed = os.environ.get("LMFORGE_PLUGINS")
    if allowed is None or name == "core":
        return True
    return name in {s.strip() for s in allowed.split(",") if s.strip()}


def _first_party_version(name: str, module: Any) -> str:
    try:
        return md.version(f"lmforge-{name}")
    except md.PackageNotFoundError:
        # PYTHONPATH checkout: read the version from the member's pyproject.toml
        pyproject = Path(module.__file__).resolve().parents[3] / "pyproject.toml"
        try:
            return tomllib.loads(pyproject.read_text())["project"]["version"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def _is_absent(module_name: str, error: ModuleNotFoundError) -> bool:
    """True when the package itself is not installed (as opposed to a broken import inside it)."""
    return error.name is not None and module_name.startswith(error.name)


def load_host() -> Host:
    host = Host()
    loaded_modules: set[str] = set()
    for name in FIRST_PARTY:
        if not _wanted(name):
            continue
        module_name = f"lmforge.{name}.plugin"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if _is_absent(module_name, e):
                continue
            host.quarantine(name, f"lmforge-{name}", "?", f"import failed: {e}")
            continue
        except Exception as e:
            host.quarantine(name, f"lmforge-{name}", "?", f"import failed: {type(e).__name__}: {e}")
            continue
        host.add_plugin(module, name, f"lmforge-{name}", _first_party_version(name, module))
        loaded_modules.add(module_name)

    for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.value in loaded_modules or ep.name in host.plugins or not _wanted(ep.name):
            continue
        package = ep.dist.name if ep.dist else ep.name
        version = ep.dist.version if ep.dist else "unknown"
        try:
            plugin = ep.load()
        except Exception as e:
            host.quarantine(ep.name, package, version, f"import failed: {type(e).__name__}: {e}")
            continue
        host.add_plugin(plugin, ep.name, package, version)
    return host


_HOST: Host | None = None


def get_host() -> Host:
    global _HOST
    if _HOST is None:
        _HOST = load_host()
    return _HOST


def reset_host() -> None:
    """Forget the loaded host (tests; after installing a plugin at run time)."""
    global _HOST
    _HOST = None


def get_registry() -> Registry:
    return get_host().registry


def get_part(kind: str, name: str) -> Any:
    """The registered part ``name`` of ``kind``; an unknown name raises an error listing the known ones."""
    return get_registry().get(kind, name)


def part_names(kind: str) -> list[str]:
    return get_registry().names(kind)
