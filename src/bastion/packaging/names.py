"""Project names, versions and distribution filenames, checked with ``packaging``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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

Filetype = Literal["sdist", "bdist_wheel"]
FILETYPES: tuple[Filetype, ...] = ("sdist", "bdist_wheel")
SDIST_SUFFIX = ".tar.gz"
WHEEL_SUFFIX = ".whl"
MAX_FILENAME_LENGTH = 255
MAX_PYVERSION = 50  # the width of File.python_version
MAX_VERSION_LENGTH = 100  # the width of Release.version
SPEC_URL = "https://packaging.python.org/specifications/core-metadata"


def normalize_name(name: str) -> NormalizedName:
    """The PEP 503 normalised form of a (valid) project name."""
    return canonicalize_name(name)


def validate_project_name(name: str) -> NormalizedName:
    """The normalised name; 400 if ``name`` is not a valid project name."""
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
            name, version, _build, _tags = parse_wheel_filename(filename)
            return DistFilename(filename, "bdist_wheel", name, version)
        if filename.endswith(SDIST_SUFFIX):
            name, version = parse_sdist_filename(filename)
            return DistFilename(filename, "sdist", name, version)
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise BadRequest(f"Invalid distribution filename: {exc}") from None
    raise BadRequest(
        f"Invalid file extension for '{filename}': use .tar.gz for an sdist (PEP 625) "
        "or .whl for a wheel."
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
        raise BadRequest(
            f"Version in filename should be '{version}' not '{dist.version}'."
        )


def check_pyversion(filetype: Filetype, pyversion: str) -> str:
    """sdists say ``source``; wheels name a Python tag (``py3``, ``cp312``...)."""
    if filetype == "sdist" and pyversion != "source":
        raise BadRequest("Use 'source' as the Python version (pyversion) of an sdist.")
    if filetype == "bdist_wheel" and (pyversion == "source" or len(pyversion) > MAX_PYVERSION):
        raise BadRequest(
            f"Use a Python tag such as 'py3' (at most {MAX_PYVERSION} characters) as the "
            f"pyversion of a wheel, not '{pyversion}'."
        )
    return pyversion
