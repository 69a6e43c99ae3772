"""PyPI-compatible JSON documents (``/pypi/<name>/json``) built from rows."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from bastion.packaging.models import File, Project, Release
from bastion.simple.render import upload_time

# Every key PyPI's ``info`` has, with PyPI's value when the metadata does not say.
INFO_DEFAULTS: dict[str, Any] = {
    "author": None,
    "author_email": None,
    "bugtrack_url": None,
    "classifiers": [],
    "description": None,
    "description_content_type": None,
    "docs_url": None,
    "download_url": None,
    "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
    "dynamic": None,
    "home_page": None,
    "keywords": None,
    "license": None,
    "license_expression": None,
    "license_files": None,
    "maintainer": None,
    "maintainer_email": None,
    "platform": None,
    "project_urls": None,
    "provides_extra": None,
    "requires_dist": None,
    "requires_python": None,
    "summary": None,
}


def info(project: Project, release: Release, base_url: str) -> dict[str, Any]:
    project_url = f"{base_url}/project/{project.normalized_name}/"
    return {
        **INFO_DEFAULTS,
        **(release.meta or {}),
        "name": project.name,
        "version": release.version,
        "summary": release.summary,
        "description": release.description,
        "description_content_type": release.description_content_type,
        "requires_python": release.requires_python,
        "yanked": release.yanked,
        "yanked_reason": (release.yanked_reason or None) if release.yanked else None,
        "package_url": project_url,
        "project_url": project_url,
        "release_url": f"{project_url}{release.version}/",
    }


def file_entry(file: File, release: Release, base_url: str) -> dict[str, Any]:
    return {
        "comment_text": "",
        "digests": {
            "blake2b_256": file.blake2_256_digest,
            "md5": file.md5_digest,
            "sha256": file.sha256_digest,
        },
        "downloads": -1,
        "filename": file.filename,
        "has_sig": False,
        "md5_digest": file.md5_digest,
        "packagetype": file.packagetype,
        "python_version": file.python_version,
        "requires_python": file.requires_python or release.requires_python,
        "size": file.size,
        "upload_time": file.upload_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": upload_time(file.upload_time),
        "url": f"{base_url}/files/{file.path}",
        "yanked": release.yanked,
        "yanked_reason": (release.yanked_reason or None) if release.yanked else None,
    }
