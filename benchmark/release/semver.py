"""Semantic versions (https://semver.org) for releases: validation, ordering and "latest"."""

from __future__ import annotations

import re

from .errors import ReleaseInputError

# semver.org's grammar: MAJOR.MINOR.PATCH[-prerelease][+build], no leading zeros in numeric parts.
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def parse_version(text: str) -> str:
    """A release version in canonical form (no leading 'v'); `ReleaseInputError` when not semver."""
    raw = str(text or "").strip()
    version = raw[1:] if raw[:1] in ("v", "V") else raw
    if not _SEMVER.match(version):
        raise ReleaseInputError(
            f"version {text!r} is not a semantic version: use MAJOR.MINOR.PATCH such as 1.0.0 "
            "(optionally -rc.1); it becomes the Hub tag v1.0.0"
        )
    return version


def is_version(text: str) -> bool:
    try:
        parse_version(text)
    except ReleaseInputError:
        return False
    return True


def is_prerelease(version: str) -> bool:
    match = _SEMVER.match(version)
    return bool(match and match.group(4))


def version_key(version: str) -> tuple:
    """Sort key implementing semver precedence (build metadata ignored; a pre-release sorts before its release)."""
    match = _SEMVER.match(version)
    if not match:
        raise ReleaseInputError(f"version {version!r} is not a semantic version")
    major, minor, patch, pre, _build = match.groups()
    if pre is None:
        pre_key: tuple = ((1,),)  # no pre-release ranks above every pre-release
    else:
        pre_key = tuple((0, 0, int(p), "") if p.isdigit() else (0, 1, 0, p) for p in pre.split("."))
        pre_key = ((0,), *pre_key)
    return (int(major), int(minor), int(patch), pre_key)


def latest(versions: list[str]) -> str | None:
    """The highest release; pre-releases only count when there is no release at all."""
    if not versions:
        return None
    releases = [v for v in versions if not is_prerelease(v)]
    return max(releases or versions, key=version_key)


def hub_tag(version: str) -> str:
    return f"v{version}"
