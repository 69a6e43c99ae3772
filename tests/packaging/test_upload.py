"""POST /legacy/ through the app: accepted uploads and every refusal (status, message, no trace)."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import select

from bastion.audit.models import AuditEvent
from bastion.packaging.models import File, FilenameRegistry, JournalEntry, Project, Release, Role
from bastion.services import Services
from bastion.storage.interface import blob_path
from tests.support.dists import core_metadata, make_sdist, make_wheel, wheel_filename
from tests.support.types import MakeUser, NothingStored, PostUpload
from tests.support.web import store_state

pytestmark = pytest.mark.usefixtures("alice")


@pytest.fixture
async def alice(make_user):
    return await make_user("alice")


def reason(response: httpx.Response) -> str:
    return response.text.strip()


T = TypeVar("T")


async def one(services: Services, model: type[T]) -> T:
    async with services.db.session() as session:
        return (await session.execute(select(model))).scalar_one()


async def test_wheel_upload_creates_project_release_and_file(
    post_upload: PostUpload, services: Services, tmp_path: Path
) -> None:
    wheel = make_wheel(
        tmp_path,
        "Demo.Pkg",
        "1.0rc1",
        requires_python=">=3.9",
        extra_metadata={
            "Classifier": ["Programming Language :: Python :: 3", "License :: OSI Approved"],
            "Requires-Dist": ["httpx>=0.27", "rich; extra == 'cli'"],
            "Provides-Extra": "cli",
            "Project-URL": ["Homepage, https://example.org", "Source, https://example.org/src"],
            "Author": "Ada",
            "Keywords": "demo,test",
        },
    )
    response = await post_upload(wheel, name="Demo.Pkg")
    assert response.status_code == 200, response.text
    assert wheel.name in response.text

    project = await one(services, Project)
    assert (project.name, project.normalized_name) == ("Demo.Pkg", "demo-pkg")
    release = await one(services, Release)
    assert release.version == "1.0rc1" and release.canonical_version == "1rc1"
    assert release.is_prerelease and release.requires_python == ">=3.9"
    assert release.summary == "A package for tests"
    assert release.meta["classifiers"] == [
        "Programming Language :: Python :: 3",
        "License :: OSI Approved",
    ]
    assert release.meta["requires_dist"] == ["httpx>=0.27", "rich; extra == 'cli'"]
    assert release.meta["provides_extra"] == ["cli"]
    assert release.meta["project_urls"] == {
        "Homepage": "https://example.org",
        "Source": "https://example.org/src",
    }
    assert release.meta["author"] == "Ada" and release.meta["keywords"] == "demo,test"
    assert release.meta["metadata_version"] == "2.1"

    data = wheel.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    file = await one(services, File)
    assert file.filename == wheel.name and file.size == len(data)
    assert file.sha256_digest == sha256
    assert file.blake2_256_digest == hashlib.blake2b(data, digest_size=32).hexdigest()
    assert file.md5_digest == hashlib.md5(data).hexdigest()
    assert (file.packagetype, file.python_version, file.requires_python) == (
        "bdist_wheel",
        "py3",
        ">=3.9",
    )
    assert file.path == blob_path(sha256, wheel.name)
    assert await services.store.read_bytes(file.path) == data
    metadata = await services.store.read_bytes(file.path + ".metadata")
    assert metadata.startswith(b"Metadata-Version: 2.1\nName: Demo.Pkg\n")
    assert file.metadata_sha256 == hashlib.sha256(metadata).hexdigest()
    assert file.metadata_blake2_256 == hashlib.blake2b(metadata, digest_size=32).hexdigest()

    async with services.db.session() as session:
        role = (await session.execute(select(Role))).scalar_one()
        assert role.role_name == Role.OWNER
        journal = (await session.execute(select(JournalEntry).order_by(JournalEntry.id))).scalars()
        entries = list(journal)
        assert [e.action for e in entries] == [
            "create",
            "add Owner alice",
            "new release",
            f"add py3 file {wheel.name}",
        ]
        assert project.last_serial == entries[-1].id
        tags = (await session.execute(select(AuditEvent.tag))).scalars().all()
        assert "project:upload" in tags and "project:create" in tags
        registry = (await session.execute(select(FilenameRegistry.filename))).scalars().all()
        assert registry == [wheel.name]
    assert (await store_state(services))[1] == sorted([file.path, file.path + ".metadata"])


async def test_sdist_then_wheel_share_one_release_and_bump_the_serial(
    post_upload: PostUpload, services: Services, tmp_path: Path
) -> None:
    sdist = make_sdist(tmp_path, "demo", "2.0")
    wheel = make_wheel(tmp_path, "demo", "2.0.0")
    assert (await post_upload(sdist)).status_code == 200
    first = await one(services, Project)
    response = await post_upload(wheel, version="2.0.0")
    assert response.status_code == 200, response.text
    async with services.db.session() as session:
        releases = (await session.execute(select(Release))).scalars().all()
        files = (await session.execute(select(File).order_by(File.id))).scalars().all()
        project = (await session.execute(select(Project))).scalar_one()
    assert len(releases) == 1 and releases[0].version == "2.0"
    assert [f.packagetype for f in files] == ["sdist", "bdist_wheel"]
    assert files[0].python_version == "source"
    assert project.last_serial > first.last_serial
    assert (await services.store.read_bytes(files[1].path + ".metadata")).startswith(
        b"Metadata-Version: 2.1\nName: demo\n"
    )
    # A Metadata-Version 2.1 sdist's PKG-INFO may not be what its build produces: not served.
    assert files[0].metadata_sha256 is None
    assert not await services.store.exists(files[0].path + ".metadata")


@pytest.mark.parametrize(
    ("metadata_version", "extra", "served"),
    [
        ("2.1", {}, False),
        ("2.2", {}, True),
        ("2.2", {"Dynamic": "Requires-Dist"}, False),
        ("2.3", {"Dynamic": "requires-python"}, False),
        ("2.4", {"Dynamic": "Description"}, True),
    ],
)
async def test_sdist_metadata_is_served_only_when_reliable(
    post_upload: PostUpload,
    services: Services,
    tmp_path: Path,
    client: httpx.AsyncClient,
    metadata_version: str,
    extra: dict[str, str],
    served: bool,
) -> None:
    """PEP 658 metadata for an sdist only from Metadata-Version 2.2 (PEP 643) with no
    dependency field Dynamic; otherwise pip builds it and reads the real dependencies."""
    text = core_metadata("demo", "1.0", metadata_version=metadata_version, extra_metadata=extra)
    response = await post_upload(make_sdist(tmp_path, "demo", "1.0", metadata=text))
    assert response.status_code == 200, response.text
    file = await one(services, File)
    assert isinstance(file, File)
    assert (file.metadata_sha256 is not None) is served
    assert await services.store.exists(file.path + ".metadata") is served
    page = await client.get(
        "/simple/demo/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    assert bool(page.json()["files"][0]["core-metadata"]) is served


async def test_upload_invalidates_the_simple_page(
    post_upload: PostUpload,
    services: Services,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    invalidated: list[str] = []
    monkeypatch.setattr(services.pages, "invalidate", invalidated.append)
    assert (await post_upload(make_wheel(tmp_path, "Demo_Pkg", "1.0"))).status_code == 200
    assert invalidated == ["demo-pkg"]


async def test_each_upload_logs_one_json_line(
    post_upload: PostUpload, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0")
    other = make_wheel(tmp_path / "..", "demo", "1.0", extra_metadata={"Author": "Someone"})
    with caplog.at_level(logging.INFO, logger="bastion.upload"):
        await post_upload(wheel)
        await post_upload(wheel)
        await post_upload(other)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "bastion.upload"]
    assert [line["outcome"] for line in lines] == ["accepted", "unchanged", "refused"]
    assert lines[0] | {"reason": None} == {
        "outcome": "accepted",
        "project": "demo",
        "version": "1.0",
        "filename": wheel.name,
        "user": "alice",
        "status": 200,
        "reason": None,
        "size": wheel.stat().st_size,
        "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
    }
    assert lines[2]["status"] == 400 and "already exists" in lines[2]["reason"]


# --- refusals: each asserts the status, the message and that nothing was stored -------------


@pytest.mark.parametrize(
    ("overrides", "status", "message"),
    [
        ({":action": "submit"}, 400, "Unknown action"),
        ({":action": None}, 400, "Unknown action"),
        ({"protocol_version": "2"}, 400, "Unknown protocol version"),
        ({"name": None}, 400, "Missing required field 'name'."),
        ({"version": None}, 400, "Missing required field 'version'."),
        ({"filetype": None}, 400, "Missing required field 'filetype'."),
        ({"pyversion": None}, 400, "Missing required field 'pyversion'."),
        ({"metadata_version": None}, 400, "Missing required field 'metadata_version'."),
        ({"name": "-bad name-"}, 400, "'-bad name-' is an invalid value for Name."),
        ({"version": "one.two"}, 400, "'one.two' is an invalid value for Version."),
        ({"version": "1.0+local"}, 400, "Can't use PEP 440 local versions."),
        ({"version": "1." + "0" * 120}, 400, "is too long: use at most 100 characters."),
        ({"filetype": "bdist_egg"}, 400, "Unsupported filetype 'bdist_egg'"),
        (
            {"filetype": "sdist", "pyversion": "source"},
            400,
            "The filetype 'sdist' does not match the file extension",
        ),
        ({"pyversion": "source"}, 400, "Use a Python tag such as 'py3'"),
        ({"name": "other"}, 400, "does not match the project name 'other'"),
        ({"version": "1.1"}, 400, "Version in filename should be '1.1' not '1.0'."),
        (
            {"sha256_digest": None, "blake2_256_digest": None},
            400,
            "Include at least one message digest",
        ),
        (
            {"sha256_digest": "0" * 64},
            400,
            "The digest supplied does not match a digest calculated from the uploaded file.",
        ),
        ({"blake2_256_digest": "0" * 64}, 400, "The digest supplied does not match"),
        ({"md5_digest": "0" * 32}, 400, "The digest supplied does not match"),
    ],
)
async def test_form_refusals(
    post_upload: PostUpload,
    tmp_path: Path,
    assert_nothing_stored: NothingStored,
    overrides: dict[str, str | None],
    status: int,
    message: str,
) -> None:
    response = await post_upload(make_wheel(tmp_path, "demo", "1.0"), **overrides)
    assert response.status_code == status
    assert message in reason(response)
    await assert_nothing_stored()


async def test_missing_file_is_refused(
    client: httpx.AsyncClient, tmp_path: Path, assert_nothing_stored: NothingStored
) -> None:
    from tests.support.factories import PASSWORD
    from tests.support.web import form_for

    wheel = make_wheel(tmp_path, "demo", "1.0")
    response = await client.post(
        "/legacy/", data=form_for(wheel), files={"other": ("x", b"x")}, auth=("alice", PASSWORD)
    )
    assert response.status_code == 400
    assert "Missing required field 'content'" in reason(response)
    await assert_nothing_stored()


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("demo-1.0.zip", "Invalid file extension for 'demo-1.0.zip'"),
        ("demo-1.0.exe", "Invalid file extension"),
        ("demo-1.0-py3-none-any-extra-bits.whl", "Invalid distribution filename"),
        ("../demo-1.0-py3-none-any.whl", "Invalid filename"),
    ],
)
async def test_bad_filenames_are_refused(
    post_upload: PostUpload,
    tmp_path: Path,
    assert_nothing_stored: NothingStored,
    filename: str,
    message: str,
) -> None:
    response = await post_upload(make_wheel(tmp_path, "demo", "1.0"), filename=filename)
    assert response.status_code == 400
    assert message in reason(response)
    await assert_nothing_stored()


async def test_oversized_upload_is_refused_with_413(
    post_upload: PostUpload,
    services: Services,
    tmp_path: Path,
    assert_nothing_stored: NothingStored,
) -> None:
    services.settings = services.settings.model_copy(update={"max_upload_size": 1000})
    wheel = make_wheel(tmp_path, "demo", "1.0", extra_files={"demo/data.bin": b"x" * 5000})
    response = await post_upload(wheel)
    assert response.status_code == 413
    assert "File too large" in reason(response)
    await assert_nothing_stored()
    assert not list((services.settings.data_dir / "tmp").iterdir())


async def test_missing_credentials_get_401_with_a_challenge(
    post_upload: PostUpload, tmp_path: Path, assert_nothing_stored: NothingStored
) -> None:
    response = await post_upload(make_wheel(tmp_path, "demo", "1.0"), user=None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="Bastion"'
    assert "Authentication required" in reason(response)
    await assert_nothing_stored()


async def test_wrong_password_gets_401(
    post_upload: PostUpload, tmp_path: Path, assert_nothing_stored: NothingStored
) -> None:
    response = await post_upload(make_wheel(tmp_path, "demo", "1.0"), password="nope")
    assert response.status_code == 401
    assert reason(response) == "Invalid or non-existent authentication information."
    await assert_nothing_stored()


async def test_password_uploads_can_be_switched_off(
    post_upload: PostUpload,
    services: Services,
    tmp_path: Path,
    assert_nothing_stored: NothingStored,
) -> None:
    services.settings = services.settings.model_copy(update={"allow_password_upload": False})
    response = await post_upload(make_wheel(tmp_path, "demo", "1.0"))
    assert response.status_code == 403
    assert "Username/password authentication is disabled" in reason(response)
    await assert_nothing_stored()


async def test_the_same_file_again_succeeds_and_changes_nothing(
    post_upload: PostUpload, services: Services, tmp_path: Path
) -> None:
    """Warehouse answers 200 to an identical re-upload (same name, same sha256), so CI
    retries pass; nothing is written."""
    wheel = make_wheel(tmp_path, "demo", "1.0")
    assert (await post_upload(wheel)).status_code == 200
    before = await store_state(services)
    response = await post_upload(wheel)
    assert response.status_code == 200, response.text
    assert reason(response) == (
        f"OK: {wheel.name} is already in demo 1.0 with the same contents; nothing changed."
    )
    assert await store_state(services) == before


async def test_other_bytes_under_an_existing_filename_are_refused_as_pypi_does(
    post_upload: PostUpload, services: Services, tmp_path: Path
) -> None:
    assert (await post_upload(make_wheel(tmp_path, "demo", "1.0"))).status_code == 200
    before = await store_state(services)
    other = make_wheel(tmp_path / "..", "demo", "1.0", extra_metadata={"Author": "Someone"})
    response = await post_upload(other)
    blake2 = hashlib.blake2b(other.read_bytes(), digest_size=32).hexdigest()
    assert response.status_code == 400
    assert reason(response) == (
        f"File already exists ('{other.name}', with blake2_256 hash '{blake2}'). "
        "See http://testserver/help/#file-name-reuse for more information."
    )
    assert await store_state(services) == before


async def test_same_filename_with_other_bytes_is_refused(
    post_upload: PostUpload, services: Services, tmp_path: Path
) -> None:
    assert (await post_upload(make_wheel(tmp_path, "demo", "1.0"))).status_code == 200
    before = await store_state(services)
    other = make_wheel(tmp_path / "..", "demo", "1.0", extra_metadata={"Author": "Someone"})
    response = await post_upload(other)
    assert response.status_code == 400 and "File already exists" in reason(response)
    assert await store_state(services) == before


async def test_deleted_filename_can_never_be_reused(
    post_upload: PostUpload, services: Services, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0")
    assert (await post_upload(wheel)).status_code == 200
    async with services.db.transaction() as session:
        file = (await session.execute(select(File))).scalar_one()
        await services.store.delete(file.path)
        await services.store.delete(file.path + ".metadata")
        await session.delete(file)
    before = await store_state(services)
    response = await post_upload(wheel)
    assert response.status_code == 400
    assert reason(response) == "This filename has already been used, use a different version."
    assert await store_state(services) == before


async def test_user_without_a_role_gets_403(
    post_upload: PostUpload, services: Services, tmp_path: Path, make_user: MakeUser
) -> None:
    await make_user("mallory")
    assert (await post_upload(make_wheel(tmp_path, "Demo", "1.0"))).status_code == 200
    before = await store_state(services)
    response = await post_upload(make_wheel(tmp_path, "demo", "1.1"), user="mallory")
    assert response.status_code == 403
    assert reason(response) == "The user 'mallory' isn't allowed to upload to project 'Demo'."
    assert await store_state(services) == before


async def test_maintainer_may_upload(
    post_upload: PostUpload, services: Services, tmp_path: Path, make_user: MakeUser
) -> None:
    bob = await make_user("bob")
    assert (await post_upload(make_wheel(tmp_path, "demo", "1.0"))).status_code == 200
    async with services.db.transaction() as session:
        project = (await session.execute(select(Project))).scalar_one()
        session.add(Role(user_id=bob.id, project_id=project.id, role_name=Role.MAINTAINER))
    response = await post_upload(make_wheel(tmp_path, "demo", "1.1"), user="bob")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (
            core_metadata("other", "1.0"),
            "The name in the distribution's metadata ('other') does not match",
        ),
        (
            core_metadata("demo", "2.0"),
            "The version in the distribution's metadata ('2.0') does not match",
        ),
        ("Metadata-Version: 2.1\nName: demo\n", "Invalid distribution metadata"),
        (
            core_metadata("demo", "1.0", extra_metadata={"Requires-Dist": "not a requirement!"}),
            "Invalid distribution metadata",
        ),
    ],
)
async def test_metadata_disagreeing_with_the_form_is_refused(
    post_upload: PostUpload,
    tmp_path: Path,
    assert_nothing_stored: NothingStored,
    metadata: str,
    message: str,
) -> None:
    response = await post_upload(make_wheel(tmp_path, "demo", "1.0", metadata=metadata))
    assert response.status_code == 400
    assert message in reason(response)
    await assert_nothing_stored()


async def test_sdist_without_pkg_info_is_refused(
    post_upload: PostUpload, tmp_path: Path, assert_nothing_stored: NothingStored
) -> None:
    response = await post_upload(make_sdist(tmp_path, "demo", "1.0", omit_metadata=True))
    assert response.status_code == 400
    assert reason(response) == "Invalid distribution file: the sdist has no 'demo-1.0/PKG-INFO'."
    await assert_nothing_stored()


async def test_unsafe_wheel_is_refused(
    post_upload: PostUpload, tmp_path: Path, assert_nothing_stored: NothingStored
) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", extra_files={"../../etc/evil": b"x"})
    response = await post_upload(wheel)
    assert response.status_code == 400
    assert "Invalid distribution file: the archive member '../../etc/evil'" in reason(response)
    await assert_nothing_stored()


async def test_not_a_zip_is_refused(
    post_upload: PostUpload, tmp_path: Path, assert_nothing_stored: NothingStored
) -> None:
    fake = tmp_path / wheel_filename("demo", "1.0")
    fake.write_bytes(b"this is not a zip file")
    response = await post_upload(fake)
    assert response.status_code == 400
    assert "Invalid distribution file: the wheel is not a valid zip file" in reason(response)
    await assert_nothing_stored()


async def test_non_multipart_body_is_refused(
    client: httpx.AsyncClient, assert_nothing_stored: NothingStored
) -> None:
    from tests.support.factories import PASSWORD

    response = await client.post(
        "/legacy/",
        content=b"{}",
        auth=("alice", PASSWORD),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "Expected a multipart/form-data request body" in reason(response)
    await assert_nothing_stored()


# --- bad input found by the outside review (issue 10): 400s citing the rule, nothing stored --


async def test_sdist_filename_too_long_for_its_metadata_file_is_refused(
    post_upload: PostUpload,
    services: Services,
    tmp_path: Path,
    assert_nothing_stored: NothingStored,
) -> None:
    """250 characters: the file fits the 255-byte limit of a file name but its
    ``.metadata`` beside it does not (was a 500 with the blob left behind)."""
    name = "a" * 239
    sdist = make_sdist(tmp_path, name, "1.0")
    assert len(sdist.name) == 250
    response = await post_upload(sdist, name=name)
    assert response.status_code == 400
    assert "at most 246 characters" in reason(response)
    await assert_nothing_stored()
    assert list((services.settings.data_dir / "tmp").glob("upload-*")) == []


async def test_metadata_name_too_long_for_the_column_is_refused(
    post_upload: PostUpload, tmp_path: Path, assert_nothing_stored: NothingStored
) -> None:
    """``de___...___mo`` normalises to ``de-mo`` like the form's name, but is 304 long."""
    long_name = "de" + "_" * 300 + "mo"
    wheel = make_wheel(tmp_path, "de-mo", "1.0", metadata=core_metadata(long_name, "1.0"))
    response = await post_upload(wheel, name="de-mo")
    assert response.status_code == 400
    assert "is too long: use at most 255 characters" in reason(response)
    await assert_nothing_stored()


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("zz-yy-xx", "Invalid wheel tag 'zz-yy-xx' in 'demo-1.0-zz-yy-xx.whl': 'zz' is not"),
        ("cp999-cp999-win_amd64", "'cp999' is not a known Python interpreter tag (PEP 425)"),
        ("py3-none-macosx_1_0_nonsense", "'macosx_1_0_nonsense' is not a platform tag"),
        ("py3-none-linux_x86_64", "'linux_x86_64' is not a platform tag"),
    ],
)
async def test_wheels_with_invalid_tags_are_refused(
    post_upload: PostUpload,
    tmp_path: Path,
    assert_nothing_stored: NothingStored,
    tag: str,
    message: str,
) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", filename=wheel_filename("demo", "1.0", tag))
    response = await post_upload(wheel)
    assert response.status_code == 400
    assert message in reason(response)
    await assert_nothing_stored()


@pytest.mark.parametrize(
    "tag",
    [
        "cp312-cp312-manylinux_2_17_x86_64",
        "cp39-abi3-macosx_11_0_arm64",
        "py2.py3-none-any",
        "pp310-pypy310_pp73-win_amd64",
        "cp313-cp313t-musllinux_1_2_aarch64",
    ],
)
async def test_wheels_with_real_tags_are_accepted(
    post_upload: PostUpload, tmp_path: Path, tag: str
) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", filename=wheel_filename("demo", "1.0", tag))
    response = await post_upload(wheel)
    assert response.status_code == 200, response.text


async def test_sdist_without_pyversion_is_accepted_as_flit_sends_it(
    post_upload: PostUpload, services: Services, tmp_path: Path
) -> None:
    response = await post_upload(make_sdist(tmp_path, "demo", "1.0"), pyversion=None)
    assert response.status_code == 200, response.text
    file = await one(services, File)
    assert isinstance(file, File) and file.python_version == "source"


async def test_sdist_names_must_be_normalised(
    post_upload: PostUpload, tmp_path: Path, assert_nothing_stored: NothingStored
) -> None:
    sdist = make_sdist(tmp_path, "Raw_Sdist.Name", "1.0", filename="Raw_Sdist.Name-1.0.tar.gz")
    response = await post_upload(sdist, name="Raw_Sdist.Name")
    assert response.status_code == 400
    assert reason(response) == (
        "Invalid sdist filename 'Raw_Sdist.Name-1.0.tar.gz': PEP 625 requires the normalised "
        "name and version, 'raw_sdist_name-1.0.tar.gz'."
    )
    await assert_nothing_stored()


LICENSE = b"Copyright (c) the authors\n"


@pytest.mark.parametrize(
    ("metadata_version", "extra", "files", "message"),
    [
        ("2.1", {"License-Expression": "MIT"}, {}, "Metadata-Version 2.4 or later, PEP 639"),
        (
            "2.4",
            {"License-Expression": "MIT", "License-File": "LICENSE"},
            {},
            "License-File 'LICENSE' is not in the distribution (PEP 639 puts it at "
            "'demo-1.0.dist-info/licenses/LICENSE')",
        ),
        (
            "2.4",
            {"License-Expression": "MIT", "License-File": "LICENSE"},
            {"demo-1.0.dist-info/licenses/LICENSE": LICENSE},
            None,
        ),
        ("2.1", {"License-File": "LICENSE"}, {}, None),  # setuptools' legacy field: tolerated
    ],
)
async def test_pep_639_licence_fields(
    post_upload: PostUpload,
    tmp_path: Path,
    assert_nothing_stored: NothingStored,
    metadata_version: str,
    extra: dict[str, str],
    files: dict[str, bytes],
    message: str | None,
) -> None:
    text = core_metadata("demo", "1.0", metadata_version=metadata_version, extra_metadata=extra)
    wheel = make_wheel(tmp_path, "demo", "1.0", metadata=text, extra_files=files)
    response = await post_upload(wheel)
    if message is None:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 400
    assert message in reason(response)
    await assert_nothing_stored()
