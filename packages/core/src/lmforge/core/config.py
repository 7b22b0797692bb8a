"""Typed configs: dataclasses loaded from TOML, with ``--set a.b=value`` overrides.

Every key is checked against the dataclass: an unknown key or a value of the wrong type is one
``ConfigError`` naming the key. Override values are parsed by the field's type (``--set
train.lr=3e-4`` is a float, ``--set model.attention=torch_sdpa`` a string, ``--set x.tags=["a","b"]``
a list).

A selectable part is a :class:`PartRef`: in TOML either a name (``attention = "torch_sdpa"``) or a
table with the name and the part's options (``executor = {name = "local", workers = 4}``).
``--set a.b=name`` sets the name, ``--set a.b.k=v`` sets one option.

A part whose common options are typed fields (an optimizer's ``lr``, a schedule's ``warmup_steps``) is a
:class:`PartTable` subclass: the same table, ``[optimizer] name = "adamw"  lr = 3e-4``, where the typed
keys are checked and parsed by their types and every other key is an option of the part, kept in
``options`` and written back beside the name.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
# one way to write a part: its options beside its name (``dataclasses.asdict`` nests them; a config that
# reads both forms would accept two spellings of every part)
_NESTED_OPTIONS = ("options go in the part's table itself, {name = \"...\", <option> = ...}, "
                   "not under `options`")


@dataclasses.dataclass
class PartRef:
    """A part picked in a config: its registered ``name`` and the ``options`` it is built with."""

    name: str
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        return self.name

    @classmethod
    def parse(cls, value: Any, key: str = "part") -> PartRef:
        """A PartRef from a PartRef, a name, or a table ``{name = ..., <options>}`` (``key`` names the
        config field in the error)."""
        return _part_ref(value, key)


def _part_ref(value: Any, key: str) -> PartRef:
    if isinstance(value, PartRef):
        return value
    if isinstance(value, str) and value:
        return PartRef(value)
    if isinstance(value, dict) and isinstance(value.get("options"), dict):
        raise ConfigError(f"{key}: {_NESTED_OPTIONS}; got {value!r}")
    if isinstance(value, dict):
        options = dict(value)
        name = options.pop("name", None)
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{key}: a part table needs a name, e.g. {{name = \"...\", ...}}; "
                              f"got {value!r}")
        return PartRef(name, options)
    raise ConfigError(f"{key}: expected a part name or a table {{name = ..., <options>}}, got {value!r}")


@dataclasses.dataclass
class PartTable:
    """A part picked in a config whose common options are typed fields.

    Subclass it as a dataclass with a default ``name`` and the typed fields; in TOML the part is a table
    (or just its name), ``{name = "...", <typed field> = ..., <option> = ...}``: the typed fields are
    checked like any config key, every other key is an option of the part (``options``, a TOML value),
    set by ``--set key.option=value`` and written back flat beside the name. Which typed fields reach
    the part, and how, is the code that builds it's to say.
    """

    name: str
    options: dict[str, Any] = dataclasses.field(default_factory=dict, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"{type(self).__name__}: name must be a part name, got {self.name!r}")
        clash = sorted(set(self.options) & {"options", *_typed_fields(type(self))})
        if clash:
            raise ConfigError(f"{type(self).__name__}: {', '.join(clash)} are fields of the table, "
                              "not options of the part")

    @property
    def part_ref(self) -> PartRef:
        """The part's name and its options (the typed fields left out)."""
        return PartRef(self.name, dict(self.options))


def _typed_fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init and f.name != "options"]


def _is_part_table(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, PartTable)


def _table_part(cls: type[PartTable], value: Any, key: str) -> PartTable:
    """A ``cls`` from an instance, a name, or a table of typed fields and options."""
    if isinstance(value, cls):
        return value
    if isinstance(value, str) and value:
        value = {"name": value}
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a part name or a table {{name = ..., <options>}}, got {value!r}")
    if "options" in value:  # one spelling, as for a PartRef (``dataclasses.asdict`` would nest them)
        raise ConfigError(f"{key}: {_NESTED_OPTIONS}; got {value!r}")
    typed = _typed_fields(cls)
    if "name" in value and (not isinstance(value["name"], str) or not value["name"]):
        raise ConfigError(f"{key}.name: expected a part name, got {value['name']!r}")
    fields = {k: v for k, v in value.items() if k in typed}
    options = {k: v for k, v in value.items() if k not in typed}
    return config_from_dict(cls, {**fields, "options": options}, prefix=f"{key}.")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if tp is PartRef:
        return _part_ref(value, key)
    if _is_part_table(tp):
        return _table_part(tp, value, key)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {value!r}")
        return config_from_dict(tp, value, prefix=f"{key}.")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{key}: expected one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        item = args[0] if args else Any
        out = [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)  # allow 1e6 for step counts
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    if tp is Path:
        if isinstance(value, str | Path):
            return Path(value)
        raise ConfigError(f"{key}: expected a path, got {value!r}")
    return value


def config_from_dict(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    """Build ``cls`` from a dict, checking every key and type."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise ConfigError(
            f"unknown config key {prefix + unknown[0]!r}; known keys under "
            f"{prefix.rstrip('.') or 'the top level'}: " + ", ".join(fields)
        )
    kwargs = {name: _coerce(value, hints[name], f"{prefix}{name}") for name, value in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as e:  # a required field was not given
        raise ConfigError(f"{prefix.rstrip('.') or cls.__name__}: {e}") from None


def _field_type(cls: Any, dotted: str) -> Any:
    """The type of the field ``dotted`` names (Any for an option of a :class:`PartRef` or a
    :class:`PartTable`)."""
    tp = cls
    for part in dotted.split("."):
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            tp = next((a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)), tp)
        if tp is PartRef:
            return str if part == "name" else Any
        if _is_part_table(tp) and part not in _typed_fields(tp):
            if part == "options":
                raise ConfigError(f"{dotted}: {_NESTED_OPTIONS}; set one option with "
                                  f"--set {dotted.rsplit('.', 1)[0]}.<option>=<value>")
            return Any
        if not dataclasses.is_dataclass(tp):
            raise ConfigError(f"unknown config key {dotted!r}: {part!r} is not a table")
        hints = typing.get_type_hints(tp)
        if part not in hints:
            raise ConfigError(f"unknown config key {dotted!r}; known keys: {', '.join(hints)}")
        tp = hints[part]
    return tp


def parse_override_value(raw: str, tp: Any) -> Any:
    """Parse the text after ``=`` by the type of the field it sets."""
    text = raw.strip()
    if tp is str or tp is Path or tp is PartRef or _is_part_table(tp) or (
            typing.get_origin(tp) is typing.Literal and all(isinstance(a, str) for a in typing.get_args(tp))):
        return text
    if text.lower() in ("none", "null"):
        return None
    if tp is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word for a str | None field, or a value the type check will reject


def apply_overrides(cls: type, data: dict[str, Any], overrides: typing.Iterable[str]) -> dict[str, Any]:
    """Apply ``a.b=value`` strings to a nested dict (a copy), parsing values by the field types of ``cls``.

    On a :class:`PartRef` field ``a.b``, ``a.b=name`` sets the name (keeping options given so far)
    and ``a.b.k=v`` sets option ``k`` (starting from the field's default part when the config did
    not name one). On a :class:`PartTable` field the same holds, ``a.b.k=v`` setting a typed field or
    an option by ``k``.
    """
    data = _deepcopy_dicts(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key=value")
        dotted, raw = item.split("=", 1)
        dotted = dotted.strip()
        tp = _field_type(cls, dotted)
        node: Any = data
        owner: Any = cls
        keys = dotted.split(".")
        for i, p in enumerate(keys[:-1]):
            field_tp = _field_type(cls, ".".join(keys[: i + 1]))
            if _is_part_ref(field_tp):
                node[p] = _part_table(node.get(p), owner, p, dotted)
                node = node[p]
                node.update(_nested(keys[i + 1:], parse_override_value(raw, tp)))
                break
            if _is_part_table(_dataclass_of(field_tp)) and p in node:  # ``optimizer = "sgd"``: {name = ...}
                node[p] = _as_table(node[p])
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{dotted}: {p!r} is not a table")
            owner = field_tp
        else:
            leaf = keys[-1]
            value = parse_override_value(raw, tp)
            if (_is_part_ref(tp) or _is_part_table(_dataclass_of(tp))) and isinstance(value, str) \
                    and isinstance(_as_table(node.get(leaf)), dict):
                node[leaf] = {**_as_table(node.get(leaf)), "name": value}
            else:
                node[leaf] = value
    return data


def _is_part_ref(tp: Any) -> bool:
    return tp is PartRef or (typing.get_origin(tp) in (typing.Union, types.UnionType)
                             and PartRef in typing.get_args(tp))


def _dataclass_of(tp: Any) -> Any:
    """``tp``, or the dataclass in an optional ``tp | None``."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return next((a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)), tp)
    return tp


def _as_table(current: Any) -> Any:
    """A part given as a name or an instance, as the table ``--set`` edits (anything else as it is)."""
    if isinstance(current, str):
        return {"name": current}
    if isinstance(current, PartRef | PartTable):
        return config_to_dict(current) if isinstance(current, PartTable) else \
            {"name": current.name, **current.options}
    return current


def _nested(keys: list[str], value: Any) -> dict[str, Any]:
    out: Any = value
    for k in reversed(keys):
        out = {k: out}
    return out


def _part_table(current: Any, owner: Any, field: str, dotted: str) -> dict[str, Any]:
    """The PartRef at ``field`` of ``owner`` as a table, so an option can be set on it."""
    if isinstance(current, dict):
        return current
    if isinstance(current, PartRef):
        return {"name": current.name, **current.options}
    if isinstance(current, str):
        return {"name": current}
    default = _field_default(owner, field)
    if default is None:
        raise ConfigError(f"{dotted}: set the part's name first ({field}=NAME)")
    return {"name": default.name, **default.options}


def _field_default(owner: Any, field: str) -> PartRef | None:
    if typing.get_origin(owner) in (typing.Union, types.UnionType):
        owner = next((a for a in typing.get_args(owner) if dataclasses.is_dataclass(a)), owner)
    if not dataclasses.is_dataclass(owner):
        return None
    f = next((f for f in dataclasses.fields(owner) if f.name == field), None)
    if f is None:
        return None
    default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    if isinstance(default, str):
        return PartRef(default)
    return default if isinstance(default, PartRef) else None


def _deepcopy_dicts(d: dict) -> dict:
    return {k: _deepcopy_dicts(v) if isinstance(v, dict) else v for k, v in d.items()}


def load_config(cls: type[T], path: str | Path | None = None, overrides: typing.Iterable[str] = (),
                data: dict[str, Any] | None = None) -> T:
    """Load ``cls`` from a TOML file (or a dict), then apply overrides."""
    base: dict[str, Any] = dict(data or {})
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            base = {**base, **tomllib.loads(p.read_text())}
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: invalid TOML: {e}") from None
    return config_from_dict(cls, apply_overrides(cls, base, overrides))


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A TOML-ready dict: Paths become strings, tuples lists, and None values are left out."""

    def clean(v: Any) -> Any:
        if isinstance(v, PartRef):
            return v.name if not v.options else {"name": v.name, **clean(v.options)}
        if isinstance(v, PartTable):  # the typed fields, then the options beside them
            return {**{k: clean(getattr(v, k)) for k in _typed_fields(type(v)) if getattr(v, k) is not None},
                    **clean(v.options)}
        if dataclasses.is_dataclass(v):
            return {f.name: clean(getattr(v, f.name)) for f in dataclasses.fields(v)
                    if getattr(v, f.name) is not None}
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items() if x is not None}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, Path):
            return str(v)
        return v

    return clean(cfg)


def config_to_toml(cfg: Any) -> str:
    import tomli_w  # only writers need it; loading a config does not

    return tomli_w.dumps(config_to_dict(cfg))


def check_part_options(kind: str, ref: PartRef | str, key: str | None = None) -> None:
    """Raise a ConfigError naming ``key`` when ``ref``'s options cannot be passed to its part: an option
    the part does not take, or one lmforge itself supplies (the kind's contract call). Resolves the
    part (an import-string part is imported), so call it only for a ref that has options."""
    import inspect

    from .contracts import CONTRACTS
    from .plugins import get_part

    ref, key = _part_ref(ref, key or kind), key or kind
    contract = CONTRACTS.get(kind)
    call = contract.call if contract is not None and contract.call is not None else None
    supplied = set(call.kwargs if call else ()) | set(call.args if call else ())
    clash = sorted(set(ref.options) & supplied)
    if clash:
        raise ConfigError(f"{key}: option(s) {', '.join(clash)} of {kind} {ref.name!r} are set by lmforge, "
                          "not by the config")
    part = get_part(kind, ref.name)
    try:
        sig = inspect.signature(part)
    except (TypeError, ValueError):  # a builtin or extension callable: nothing to check against
        return
    try:
        sig.bind(*[None] * len(call.args if call else ()), **dict.fromkeys(call.kwargs if call else ()),
                 **ref.options)
    except TypeError as e:
        raise ConfigError(f"{key}: {kind} {ref.name!r} does not take option(s) {', '.join(ref.options)} "
                          f"({e}; it is called as {ref.name}{sig})") from None


def bind_part(kind: str, ref: PartRef | str, key: str | None = None) -> Any:
    """A part called over and over (per document, per forward pass) with its config options bound: a
    class part is built with them once, a function part gets them as keywords (``functools.partial``).
    An option the part cannot take is a ConfigError naming ``key`` before anything runs."""
    import functools
    import inspect

    from .plugins import get_part

    ref, key = _part_ref(ref, key or kind), key or kind
    part = get_part(kind, ref.name)
    if ref.options:
        try:
            inspect.signature(part).bind_partial(**ref.options)
        except TypeError as e:
            raise ConfigError(f"{key}: {kind} {ref.name!r} does not take option(s) "
                              f"{', '.join(ref.options)} ({e})") from None
        except ValueError:  # a builtin or extension callable has no signature to check against
            pass
    if isinstance(part, type):
        return part(**ref.options)
    return functools.partial(part, **ref.options) if ref.options else part


def build_part(kind: str, ref: PartRef | str, *args: Any, **kwargs: Any) -> Any:
    """``get_part(kind, ref.name)(*args, **ref.options, **kwargs)``.

    ``kwargs`` are what the calling code supplies (device, dtype, ...); an option in the config that
    collides with one of them is a ConfigError rather than a silent override.
    """
    from .plugins import get_part

    ref = _part_ref(ref, kind)
    clash = sorted(set(ref.options) & set(kwargs))
    if clash:
        raise ConfigError(f"{kind} {ref.name!r}: option(s) {', '.join(clash)} are set by lmforge, "
                          "not by the config")
    return get_part(kind, ref.name)(*args, **ref.options, **kwargs)
