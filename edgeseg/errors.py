"""Typed errors for user mistakes. Only ``edgeseg.cli`` turns them into one line and exit code 2."""

from __future__ import annotations


class EdgesegError(Exception):
    """A problem the user can fix (bad input, missing file, wrong option). Exit code 2."""

    exit_code = 2


class DataError(EdgesegError):
    """Unreadable, missing or inconsistent images and masks."""


class ConfigError(EdgesegError):
    """A run directory, option or config value that is missing or invalid."""


class ModelError(EdgesegError):
    """A model file that is missing, corrupt or not an edgeseg model."""


class DependencyError(EdgesegError):
    """An optional dependency (TensorFlow, a delegate library, weights) that is not available."""


class TrainingError(EdgesegError):
    """Training diverged (NaN loss) or cannot continue."""
