"""lmforge.core: the plugin host every lmforge package stands on."""

from .config import (
    ConfigError,
    PartRef,
    PartTable,
    bind_part,
    build_part,
    check_part_options,
    config_to_dict,
    config_to_toml,
    load_config,
)
from .contract_check import ContractError
from .contracts import DocFilter, ParityResult
from .errors import DuplicatePartError, LmforgeError, UnknownPartError
from .lazy import lazy_exports
from .locking import DirectoryLockedError, DirLock, lock_dir
from .metrics import JsonlLogger, read_metrics, truncate_metrics
from .plugins import get_host, get_part, get_registry, hookimpl, part_names, reset_host
from .registry import Part, Registry
from .runs import atomic_open, atomic_write, file_sha256, new_run_dir, save_config

__all__ = [
    "ConfigError", "ContractError", "DirLock", "DirectoryLockedError", "DocFilter", "DuplicatePartError",
    "JsonlLogger", "LmforgeError", "ParityResult", "Part", "PartRef", "PartTable", "Registry",
    "UnknownPartError",
    "atomic_open", "atomic_write", "bind_part", "build_part", "check_part_options", "config_to_dict",
    "config_to_toml",
    "file_sha256",
    "get_host", "get_part", "get_registry", "hookimpl", "lazy_exports", "load_config", "lock_dir",
    "new_run_dir", "part_names", "read_metrics", "reset_host", "save_config", "truncate_metrics",
]
