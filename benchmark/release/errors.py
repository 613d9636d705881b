"""Release errors. Bad input is a `ValueError` (CLI exit 2); a conflict with a published release is an
`MMRAError` (exit 1). Both name the sample or version concerned."""

from __future__ import annotations

from mmra.errors import MMRAError


class ReleaseInputError(ValueError):
    """The samples or arguments cannot make a release (names the sample and the cause)."""


class ReleaseConflictError(MMRAError):
    """The version is already published with other content (releases are immutable)."""


class ReleaseNotFoundError(MMRAError, FileNotFoundError):
    """No release at the given path, version or repo."""
