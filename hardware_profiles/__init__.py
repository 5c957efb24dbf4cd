"""Hardware profiles: one YAML file per device (+ runtime, batch size) in this folder.

``load_profile(name_or_path)`` accepts a shipped profile name (``pixel2``) or a path to a YAML
file; ``list_profiles()`` names the shipped ones. See :mod:`hardware_profiles.profile` for
the schema.
"""
from __future__ import annotations

from pathlib import Path

from hardware_profiles.profile import MeasurementRef, Profile, parse_profile, read_profile_file
from nas.errors import InputError

PROFILE_DIR = Path(__file__).resolve().parent


def list_profiles() -> list[str]:
    """Names of the shipped profiles, sorted."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def profile_path(name: str) -> Path:
    return PROFILE_DIR / f"{name}.yaml"


def load_profile(name_or_path) -> Profile:
    """A shipped profile by name, or a profile YAML by path; InputError (one line) if bad."""
    s = str(name_or_path)
    if s.endswith((".yaml", ".yml")) or "/" in s or Path(s).is_file():
        return read_profile_file(s)
    p = profile_path(s)
    if not p.is_file():
        raise InputError(f"unknown profile {s!r} (shipped: {', '.join(list_profiles())}; "
                         "or give a path to a .yaml file)")
    return read_profile_file(p)


__all__ = ["MeasurementRef", "PROFILE_DIR", "Profile", "list_profiles", "load_profile",
           "parse_profile", "profile_path", "read_profile_file"]
