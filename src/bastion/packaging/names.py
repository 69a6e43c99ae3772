"""Project names, versions and distribution filenames, checked with ``packaging``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from packaging.tags import Tag
from packaging.utils import (
    InvalidName,
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from bastion.errors import BadRequest
from bastion.packaging.metadata import MAX_NAME_LENGTH

Filetype = Literal["sdist", "bdist_wheel"]
FILETYPES: tuple[Filetype, ...] = ("sdist", "bdist_wheel")
SDIST_SUFFIX = ".tar.gz"
WHEEL_SUFFIX = ".whl"
# The file system's limit on a name is 255 bytes, and the PEP 658 metadata file sits
# beside the file as ``<filename>.metadata``.
METADATA_SUFFIX = ".metadata"
MAX_FILENAME_LENGTH = 255 - len(METADATA_SUFFIX)
MAX_PYVERSION = 50  # the width of File.python_version
MAX_VERSION_LENGTH = 100  # the width of Release.version
SPEC_URL = "https://packaging.python.org/specifications/core-metadata"


def normalize_name(name: str) -> NormalizedName:
    """The PEP 503 normalised form of a (valid) project name."""
    return canonicalize_name(name)


def canonical_or_none(name: str) -> NormalizedName | None:
    """The normalised form of a name a project could have, or None (then it is a 404:
    redirecting a name that cannot be normalised would loop)."""
    if len(name) > MAX_NAME_LENGTH:
        return None
    try:
        return canonicalize_name(name, validate=True)
    except InvalidName:
        return None


def validate_project_name(name: str) -> NormalizedName:
    """The normalised name; 400 if ``name`` is not a valid project name."""
    if len(name) > MAX_NAME_LENGTH:
        raise BadRequest(
            f"The name '{name[:20]}...' is too long: use at most {MAX_NAME_LENGTH} characters."
        )
    try:
        return canonicalize_name(name, validate=True)
    except InvalidName:
        raise BadRequest(
            f"'{name}' is an invalid value for Name. Error: Start and end with a letter or "
            "numeral containing only ASCII numeric and '.', '_' and '-'. "
            f"See {SPEC_URL} for more information."
        ) from None


def validate_version(version: str) -> Version:
    """The parsed version; 400 if it is not PEP 440 or carries a local part (as PyPI)."""
    try:
        parsed = Version(version)
    except InvalidVersion:
        raise BadRequest(
            f"'{version}' is an invalid value for Version. Error: Start and end with a letter "
            f"or numeral containing only ASCII numeric and '.', '_' and '-'. Use PEP 440 "
            f"versioning. See {SPEC_URL} for more information."
        ) from None
    if len(version) > MAX_VERSION_LENGTH:
        raise BadRequest(
            f"The version '{version[:20]}...' is too long: use at most {MAX_VERSION_LENGTH} "
            "characters."
        )
    if parsed.local is not None:
        raise BadRequest(
            f"'{version}' is an invalid value for Version. Error: Can't use PEP 440 local "
            f"versions. See {SPEC_URL} for more information."
        )
    return parsed


def canonical_version(version: str) -> str:
    """The version as releases are keyed (``1.0.0`` and ``1.0`` are the same release)."""
    return canonicalize_version(version)


def validate_filetype(filetype: str) -> Filetype:
    if filetype not in FILETYPES:
        raise BadRequest(
            f"Unsupported filetype '{filetype}': upload an sdist (.tar.gz) or a wheel (.whl)."
        )
    return filetype


@dataclass(frozen=True)
class DistFilename:
    """What a distribution's filename says about it."""

    filename: str
    filetype: Filetype
    name: NormalizedName
    version: Version
    tags: frozenset[Tag] = frozenset()


def parse_dist_filename(filename: str) -> DistFilename:
    """Parse a wheel or sdist filename; 400 with the reason when it is not one.

    Only ``.tar.gz`` sdists are accepted (PEP 625); ``.zip`` sdists are refused.
    """
    if (
        not filename
        or len(filename) > MAX_FILENAME_LENGTH
        or any(c in filename for c in "/\\\x00")
        or filename.startswith(".")
    ):
        raise BadRequest(
            f"Invalid filename '{filename}': send the distribution's own file name "
            f"(at most {MAX_FILENAME_LENGTH} characters, no directory part, not starting "
            "with '.')."
        )
    try:
        if filename.endswith(WHEEL_SUFFIX):
            name, version, _build, tags = parse_wheel_filename(filename)
            return DistFilename(filename, "bdist_wheel", name, version, tags)
        if filename.endswith(SDIST_SUFFIX):
            name, version = parse_sdist_filename(filename)
            check_sdist_normalised(filename, name, version)
            return DistFilename(filename, "sdist", name, version)
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise BadRequest(f"Invalid distribution filename: {exc}") from None
    raise BadRequest(
        f"Invalid file extension for '{filename}': use .tar.gz for an sdist (PEP 625) "
        "or .whl for a wheel."
    )


def check_sdist_normalised(filename: str, name: NormalizedName, version: Version) -> None:
    """PEP 625: an sdist is ``{name}-{version}.tar.gz`` with both in normalised form."""
    expected = f"{name.replace('-', '_')}-{version}{SDIST_SUFFIX}"
    if filename != expected:
        raise BadRequest(
            f"Invalid sdist filename '{filename}': PEP 625 requires the normalised name "
            f"and version, '{expected}'."
        )


def check_wheel_tags(
    dist: DistFilename, *, interpreters: Iterable[str], platforms: Iterable[str]
) -> None:
    """Every tag in a wheel's filename names a known interpreter and platform (PEP 425),
    as PyPI requires; 400 naming the first tag that does not."""
    interpreter_re = re.compile("|".join(f"(?:{p})" for p in interpreters))
    platform_re = re.compile("|".join(f"(?:{p})" for p in platforms))
    for tag in sorted(dist.tags, key=str):
        if not interpreter_re.fullmatch(tag.interpreter):
            raise BadRequest(
                f"Invalid wheel tag '{tag}' in '{dist.filename}': '{tag.interpreter}' is not a "
                "known Python interpreter tag (PEP 425), e.g. 'py3' or 'cp312'."
            )
        if not re.fullmatch(r"[a-z0-9_]+", tag.abi):
            raise BadRequest(
                f"Invalid wheel tag '{tag}' in '{dist.filename}': '{tag.abi}' is not a valid "
                "ABI tag (PEP 425)."
            )
        if not platform_re.fullmatch(tag.platform):
            raise BadRequest(
                f"Invalid wheel tag '{tag}' in '{dist.filename}': '{tag.platform}' is not a "
                "platform tag this index accepts (PEP 425), e.g. 'any', "
                "'manylinux_2_17_x86_64', 'macosx_11_0_arm64' or 'win_amd64'."
            )


def check_filename_matches(
    dist: DistFilename, *, name: NormalizedName, version: Version, filetype: Filetype
) -> None:
    """The filename must agree with the form's name, version and filetype."""
    if dist.filetype != filetype:
        raise BadRequest(
            f"The filetype '{filetype}' does not match the file extension of '{dist.filename}'."
        )
    if dist.name != name:
        raise BadRequest(
            f"The filename '{dist.filename}' does not match the project name '{name}': "
            f"start the filename with '{name.replace('-', '_')}-'."
        )
    if dist.version != version:
        raise BadRequest(f"Version in filename should be '{version}' not '{dist.version}'.")


def check_pyversion(filetype: Filetype, pyversion: str | None) -> str:
    """sdists say ``source`` (or nothing: flit sends no pyversion for them, and PyPI takes
    that); wheels name a Python tag (``py3``, ``cp312``...)."""
    if filetype == "sdist" and pyversion is None:
        return "source"
    if pyversion is None:
        raise BadRequest("Missing required field 'pyversion'.")
    if filetype == "sdist" and pyversion != "source":
        raise BadRequest("Use 'source' as the Python version (pyversion) of an sdist.")
    if filetype == "bdist_wheel" and (pyversion == "source" or len(pyversion) > MAX_PYVERSION):
        raise BadRequest(
            f"Use a Python tag such as 'py3' (at most {MAX_PYVERSION} characters) as the "
            f"pyversion of a wheel, not '{pyversion}'."
        )
    return pyversion
