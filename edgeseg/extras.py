"""Optional dependencies: import one lazily, or fail with one line naming the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from edgeseg.errors import DependencyError

# The pip extra that provides each optional module (pyproject.toml's optional-dependencies).
EXTRA_OF = {
    "av": "video",
    "pydicom": "dicom",
    "pylibjpeg": "dicom",
    "highdicom": "dicom",
    "kaggle": "kaggle",
    "playwright": "dev",
}


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`DependencyError` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = EXTRA_OF.get(module.split(".")[0])
        hint = f'pip install "edgeseg[{extra}]"' if extra else f"pip install {module}"
        raise DependencyError(f"{purpose} needs {module.split('.')[0]}: {hint}") from exc
