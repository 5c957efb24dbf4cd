"""The engine: data, training, latency prediction, search, export, report, CLI."""
from pathlib import Path as _Path

__version__ = "0.1.0"

# In a source checkout the folders beside nas/ (search_spaces/, evaluators/, hardware_profiles/,
# experiments/) are this package's subpackages, as pyproject.toml's package-dir installs them;
# looking there too makes a checkout importable as it stands (PYTHONPATH=checkout) and keeps it
# from taking those subpackages from another checkout installed in editable mode. An installed
# wheel has them inside nas/ and no pyproject.toml beside it: nothing is added.
_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "search_spaces" / "__init__.py").is_file():
    __path__.append(str(_checkout))
