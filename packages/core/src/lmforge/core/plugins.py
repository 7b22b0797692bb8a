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
import importlib.util
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy

from . import hookspecs
from .contract_check import ContractError, check_part
from .errors import LmforgeError
from .registry import IMPORT_STRING, Part, Registry, first_doc_line

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


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


class Host:
    """A plugin manager plus the registry its plugins filled."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("lmforge")
        self.pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        self.plugins: dict[str, PluginInfo] = {}
        self.command_owner: dict[str, str] = {}  # command name -> plugin that added it
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
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # pluggy validates signatures here; SystemExit included
            self.quarantine(name, package, version, _describe(e))
            return False
        misspelled = self._unknown_hooks(name)
        if misspelled:
            self.pm.unregister(name=name)
            self.quarantine(name, package, version, misspelled)
            return False
        self.plugins[name] = PluginInfo(name, package, version)
        try:
            self._register_parts(name, package, version)
        except KeyboardInterrupt:
            self.remove_plugin(name)
            raise
        except BaseException as e:  # a plugin calling sys.exit() while registering is just broken
            self.remove_plugin(name)
            self.quarantine(name, package, version, _describe(e))
            return False
        return True

    def remove_plugin(self, name: str) -> None:
        """Forget a plugin entirely: its parts, its hooks and its entry in ``plugins``."""
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

            def register(name, part, *, description=None, reference=None, ablation_of=None, _kind=kind):
                pending.append(make_part(_kind, name, part, package, version, description, reference,
                                         ablation_of, plugin_name))

            caller(register=register)
        broken = []
        for part in pending:
            if not part.lazy:
                try:
                    check_part(part.kind, part.name, package, part.obj)
                except ContractError as e:
                    broken.append(str(e))
        if broken:  # one error for the plugin, naming every part that breaks its contract
            raise ContractError("; ".join(broken))
        try:
            for part in pending:
                self.registry.add(part)
        except Exception:  # all or nothing: a duplicate leaves none of this plugin's parts behind
            self.registry.remove_plugin(plugin_name)
            raise

    def add_commands(self, cli) -> None:
        """Let each plugin add its commands. A plugin that fails, or that adds a command whose name
        an earlier plugin took, is removed entirely (commands and parts); the first keeps the name."""
        for name, _ in list(self.pm.list_name_plugin()):
            caller = self.pm.subset_hook_caller(
                "register_commands", remove_plugins=[p for n, p in self.pm.list_name_plugin() if n != name]
            )
            before = dict(cli.commands)
            error = None
            try:
                caller(cli=cli)
            except KeyboardInterrupt:
                raise
            except BaseException as e:
                error = f"register_commands: {_describe(e)}"
            added = [c for c in cli.commands if before.get(c) is not cli.commands[c]]
            taken = [c for c in added if c in before]
            if taken and error is None:
                owners = ", ".join(f"{c!r} (already added by plugin {self.command_owner.get(c, '?')!r})"
                                   for c in taken)
                error = f"register_commands: command name taken: {owners}"
            if error is not None:
                cli.commands.clear()
                cli.commands.update(before)
                info = self.plugins.get(name) or PluginInfo(name, name, "?")
                self.remove_plugin(name)
                self.quarantine(name, info.package, info.version, error)
                continue
            for c in added:
                self.command_owner[c] = name


def make_part(kind: str, name: Any, part: Any, package: str, version: str, description: str | None,
              reference: str | None, ablation_of: str | None, plugin: str) -> Part:
    """A :class:`Part` from one ``register(...)`` call, with its arguments checked."""
    if not isinstance(name, str) or not name:
        raise LmforgeError(f"{kind} part names must be non-empty strings, got {name!r}")
    for field, value in (("reference", reference), ("ablation_of", ablation_of)):
        if value is not None and (not isinstance(value, str) or not value):
            raise LmforgeError(f"{kind} {name!r}: {field} must be a part name, got {value!r}")
    if reference is not None and ablation_of is not None:
        raise LmforgeError(f"{kind} {name!r}: a part is either a reference-checked alternative "
                           f"(reference=) or an ablation (ablation_of=), not both")
    if isinstance(part, str):
        if not IMPORT_STRING.match(part):
            raise LmforgeError(f"{kind} {name!r}: {part!r} is not an import string 'module:attr'")
        desc = description or ""  # the module is not imported just to read a docstring
    else:
        desc = description if description is not None else first_doc_line(part)
    return Part(kind, name, part, package, version, desc, reference, plugin, ablation_of)


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


def _installed(module_name: str) -> bool:
    """True when the module exists (whether or not importing it will work)."""
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:  # its parent package is not installed
        return False


def _import_plugin(host: Host, import_it, name: str, package: str, version: str) -> Any | None:
    """The plugin module, or None after quarantining it: anything raised on import, SystemExit
    included, is the plugin's problem, not every command's."""
    try:
        return import_it()
    except KeyboardInterrupt:
        raise
    except BaseException as e:
        host.quarantine(name, package, version, f"import failed: {_describe(e)}")
        return None


def load_host() -> Host:
    host = Host()
    loaded_modules: set[str] = set()
    owner: dict[str, str] = {}  # plugin name -> the package that holds it
    for name in FIRST_PARTY:
        if not _wanted(name):
            continue
        module_name = f"lmforge.{name}.plugin"
        if not _installed(module_name):
            continue
        owner[name] = package = f"lmforge-{name}"
        module = _import_plugin(host, lambda m=module_name: importlib.import_module(m), name, package, "?")
        if module is None:
            continue
        host.add_plugin(module, name, package, _first_party_version(name, module))
        loaded_modules.add(module_name)

    eps = md.entry_points(group=ENTRY_POINT_GROUP)
    for ep in sorted(eps, key=lambda e: (e.name, e.dist.name if e.dist else "")):
        if ep.value in loaded_modules or not _wanted(ep.name):
            continue
        package = ep.dist.name if ep.dist else ep.name
        version = ep.dist.version if ep.dist else "unknown"
        if ep.name in owner:  # reported, never silently dropped; the first keeps the name
            host.quarantine(f"{ep.name} ({package})", package, version,
                            f"entry point name {ep.name!r} ({ep.value}) is already taken by "
                            f"plugin {ep.name!r} from {owner[ep.name]}")
            continue
        owner[ep.name] = package
        plugin = _import_plugin(host, ep.load, ep.name, package, version)
        if plugin is not None:
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
