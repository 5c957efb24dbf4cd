"""The one error type the CLI turns into a clear line and exit status 2."""
from search_spaces.arch import ArchError, InputError
from search_spaces.registry import UnknownNameError

__all__ = ["ArchError", "InputError", "UnknownNameError"]
