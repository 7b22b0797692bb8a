"""Errors a user can act on. The CLI prints them as one line (with a traceback only under --debug)."""


class LmforgeError(Exception):
    """Base class for errors caused by input, configuration or environment, not by a bug."""


class UnknownPartError(LmforgeError, KeyError):
    """A part name that no plugin registered; the message lists the names that exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DuplicatePartError(LmforgeError):
    """Two plugins registered the same (kind, name)."""


class ConfigError(LmforgeError):
    """A config key that does not exist, or a value of the wrong type."""
