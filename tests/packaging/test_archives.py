"""Opening wheels and sdists safely: every malicious shape is refused with its reason."""

from __future__ import annotations

import gzip
import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from bastion.packaging.archives import (
    ArchiveLimits,
    UnsafeArchive,
    check_link_target,
    check_member_name,
    read_dist_metadata,
    read_sdist_metadata,
    read_wheel_metadata,
)
from tests.support.dists import make_sdist, make_wheel, sdist_filename, wheel_filename

pytestmark = pytest.mark.one_backend

LIMITS = ArchiveLimits(
    max_members=50,
    max_uncompressed_size=10_000_000,
    max_compression_ratio=200,
    max_metadata_size=64 * 1024,
)


def write_zip(
    path: Path, members: dict[str, bytes], *, symlinks: dict[str, str] | None = None
) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def write_tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes]) -> Path:
    with gzip.GzipFile(path, "wb") as gz, tarfile.open(fileobj=gz, mode="w") as tf:
        for info in members:
            payload = data.get(info.name)
            if payload is not None:
                info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return path


def tar_member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def refused(excinfo: pytest.ExceptionInfo[UnsafeArchive]) -> str:
    return excinfo.value.message


METADATA = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"


def test_valid_wheel_and_sdist_give_their_metadata(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0")
    sdist = make_sdist(tmp_path, "demo", "1.0")
    assert read_dist_metadata(wheel, wheel.name, "bdist_wheel", LIMITS).startswith(
        b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
    )
    assert read_dist_metadata(sdist, sdist.name, "sdist", LIMITS).startswith(
        b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("/etc/passwd", "has an absolute path"),
        ("C:/windows/evil", "has an absolute path"),
        ("demo/../../evil", "has a path outside the archive"),
        ("demo\\..\\..\\evil", "has a path outside the archive"),
        ("", "empty or invalid name"),
    ],
)
def test_member_names_are_checked(name: str, message: str) -> None:
    with pytest.raises(UnsafeArchive) as excinfo:
        check_member_name(name)
    assert message in refused(excinfo)


def test_links_must_stay_inside() -> None:
    check_link_target("demo-1.0/docs/LICENSE", "../LICENSE")
    for target in ("../../etc/passwd", "/etc/passwd", ""):
        with pytest.raises(UnsafeArchive, match="points outside the archive"):
            check_link_target("demo-1.0/LICENSE", target)


def test_wheel_with_path_traversal(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / wheel_filename("demo", "1.0"),
        {
            "demo-1.0.dist-info/METADATA": METADATA,
            "../../evil.py": b"boom",
        },
    )
    with pytest.raises(UnsafeArchive) as excinfo:
        read_wheel_metadata(path, path.name, LIMITS)
    assert refused(excinfo) == (
        "Invalid distribution file: the archive member '../../evil.py' has a path outside "
        "the archive ('..')."
    )


def test_wheel_with_symlink_out(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / wheel_filename("demo", "1.0"),
        {"demo-1.0.dist-info/METADATA": METADATA},
        symlinks={"demo/secret": "../../../etc/shadow"},
    )
    with pytest.raises(UnsafeArchive) as excinfo:
        read_wheel_metadata(path, path.name, LIMITS)
    assert "the link 'demo/secret' points outside the archive" in refused(excinfo)


def test_wheel_zip_bomb_by_ratio(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / wheel_filename("demo", "1.0"),
        {
            "demo-1.0.dist-info/METADATA": METADATA,
            "demo/zeros.bin": b"\0" * 5_000_000,
        },
    )
    with pytest.raises(UnsafeArchive) as excinfo:
        read_wheel_metadata(path, path.name, LIMITS)
    assert "compression ratio is above 200:1" in refused(excinfo)


def test_wheel_over_the_uncompressed_limit(tmp_path: Path) -> None:
    big = bytes(range(256)) * 400
    path = make_wheel(tmp_path, "demo", "1.0", extra_files={"demo/big.bin": big})
    limits = ArchiveLimits(50, 50_000, 10_000, 64 * 1024)
    with pytest.raises(UnsafeArchive) as excinfo:
        read_wheel_metadata(path, path.name, limits)
    assert "it unpacks to more than 50000 bytes" in refused(excinfo)


def test_wheel_with_too_many_members(tmp_path: Path) -> None:
    path = make_wheel(
        tmp_path, "demo", "1.0", extra_files={f"demo/m{i}.py": b"" for i in range(60)}
    )
    with pytest.raises(UnsafeArchive) as excinfo:
        read_wheel_metadata(path, path.name, LIMITS)
    assert refused(excinfo) == "Invalid distribution file: too many members (the limit is 50)."


def test_wheel_without_metadata(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "demo", "1.0", omit_metadata=True)
    with pytest.raises(UnsafeArchive) as excinfo:
        read_wheel_metadata(path, path.name, LIMITS)
    assert refused(excinfo) == (
        "Invalid distribution file: the wheel has no 'demo-1.0.dist-info/METADATA'."
    )


def test_wheel_with_huge_metadata(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, "demo", "1.0", metadata=METADATA.decode() + "\n" + "x" * 70_000)
    with pytest.raises(UnsafeArchive, match="is larger than 65536 bytes"):
        read_wheel_metadata(path, path.name, LIMITS)


def test_sdist_with_symlink_out(tmp_path: Path) -> None:
    path = write_tar(
        tmp_path / sdist_filename("demo", "1.0"),
        [
            tar_member("demo-1.0/PKG-INFO"),
            tar_member("demo-1.0/evil", tarfile.SYMTYPE, "../../etc/passwd"),
        ],
        {"demo-1.0/PKG-INFO": METADATA},
    )
    with pytest.raises(UnsafeArchive) as excinfo:
        read_sdist_metadata(path, path.name, LIMITS)
    assert "the link 'demo-1.0/evil' points outside the archive" in refused(excinfo)


def test_sdist_with_hardlink_out(tmp_path: Path) -> None:
    path = write_tar(
        tmp_path / sdist_filename("demo", "1.0"),
        [
            tar_member("demo-1.0/PKG-INFO"),
            tar_member("demo-1.0/evil", tarfile.LNKTYPE, "../etc/passwd"),
        ],
        {"demo-1.0/PKG-INFO": METADATA},
    )
    with pytest.raises(UnsafeArchive, match="has a path outside the archive"):
        read_sdist_metadata(path, path.name, LIMITS)


def test_sdist_with_internal_symlink_is_fine(tmp_path: Path) -> None:
    path = write_tar(
        tmp_path / sdist_filename("demo", "1.0"),
        [
            tar_member("demo-1.0/PKG-INFO"),
            tar_member("demo-1.0/LICENSE.txt", tarfile.SYMTYPE, "PKG-INFO"),
        ],
        {"demo-1.0/PKG-INFO": METADATA},
    )
    assert read_sdist_metadata(path, path.name, LIMITS) == METADATA


def test_sdist_with_path_traversal_and_device(tmp_path: Path) -> None:
    traversal = write_tar(
        tmp_path / sdist_filename("demo", "1.0"),
        [
            tar_member("demo-1.0/PKG-INFO"),
            tar_member("../evil"),
        ],
        {"demo-1.0/PKG-INFO": METADATA, "../evil": b"x"},
    )
    with pytest.raises(UnsafeArchive, match=r"'\.\./evil' has a path outside"):
        read_sdist_metadata(traversal, traversal.name, LIMITS)
    device = write_tar(
        tmp_path / "demo-2.0.tar.gz",
        [
            tar_member("demo-2.0/PKG-INFO"),
            tar_member("demo-2.0/dev", tarfile.CHRTYPE),
        ],
        {"demo-2.0/PKG-INFO": METADATA},
    )
    with pytest.raises(UnsafeArchive, match="is not a file, directory or link"):
        read_sdist_metadata(device, device.name, LIMITS)


def test_sdist_gzip_bomb_stops_early(tmp_path: Path) -> None:
    path = write_tar(
        tmp_path / sdist_filename("demo", "1.0"),
        [
            tar_member("demo-1.0/PKG-INFO"),
            tar_member("demo-1.0/zeros"),
        ],
        {"demo-1.0/PKG-INFO": METADATA, "demo-1.0/zeros": b"\0" * 8_000_000},
    )
    assert path.stat().st_size < 40_000
    with pytest.raises(UnsafeArchive, match=r"compression ratio is above 200:1"):
        read_sdist_metadata(path, path.name, LIMITS)


def test_sdist_too_many_members(tmp_path: Path) -> None:
    path = make_sdist(
        tmp_path, "demo", "1.0", extra_files={f"demo-1.0/m{i}.py": b"# x\n" for i in range(60)}
    )
    with pytest.raises(UnsafeArchive, match="too many members"):
        read_sdist_metadata(path, path.name, LIMITS)


def test_sdist_without_pkg_info_and_not_gzip(tmp_path: Path) -> None:
    path = make_sdist(tmp_path, "demo", "1.0", omit_metadata=True)
    with pytest.raises(UnsafeArchive, match=r"the sdist has no 'demo-1\.0/PKG-INFO'"):
        read_sdist_metadata(path, path.name, LIMITS)
    fake = tmp_path / "demo-3.0.tar.gz"
    fake.write_bytes(b"plain text")
    with pytest.raises(UnsafeArchive, match=r"the sdist is not a valid \.tar\.gz file"):
        read_sdist_metadata(fake, fake.name, LIMITS)


def test_sdist_with_a_chain_of_links_out_is_refused(tmp_path: Path) -> None:
    """``up -> ..`` stays inside, ``up2 -> up/..`` looks inside one link at a time but
    resolves to the parent of the archive: refused at the second link."""
    root = "demo-1.0"
    path = write_tar(
        tmp_path / sdist_filename("demo", "1.0"),
        [
            tar_member(f"{root}/PKG-INFO"),
            tar_member(f"{root}/up", tarfile.SYMTYPE, ".."),
            tar_member(f"{root}/up2", tarfile.SYMTYPE, "up/.."),
            tar_member(f"{root}/up2/evil"),
        ],
        {
            f"{root}/PKG-INFO": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            f"{root}/up2/evil": b"x",
        },
    )
    with pytest.raises(UnsafeArchive, match=r"the link 'demo-1\.0/up2' points outside"):
        read_sdist_metadata(path, path.name, LIMITS)


def test_wheel_with_a_chain_of_links_out_is_refused(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / wheel_filename("demo", "1.0"),
        {"demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"},
        symlinks={"demo/up": "..", "demo/up2": "up/.."},
    )
    with pytest.raises(UnsafeArchive, match="the link 'demo/up2' points outside"):
        read_wheel_metadata(path, path.name, LIMITS)


def test_links_that_loop_are_refused(tmp_path: Path) -> None:
    root = "demo-1.0"
    path = write_tar(
        tmp_path / sdist_filename("demo", "1.0"),
        [
            tar_member(f"{root}/a", tarfile.SYMTYPE, "b"),
            tar_member(f"{root}/b", tarfile.SYMTYPE, "a"),
            tar_member(f"{root}/a/x"),
        ],
        {f"{root}/a/x": b"x"},
    )
    with pytest.raises(UnsafeArchive, match="loops"):
        read_sdist_metadata(path, path.name, LIMITS)


def test_sdist_with_its_gzip_trailer_cut_off_is_refused(tmp_path: Path) -> None:
    path = make_sdist(tmp_path, "demo", "1.0")
    path.write_bytes(path.read_bytes()[:-8])  # the CRC32 and length
    with pytest.raises(UnsafeArchive, match=r"the sdist is not a valid \.tar\.gz file"):
        read_sdist_metadata(path, path.name, LIMITS)


def test_sdist_with_a_wrong_gzip_crc_is_refused(tmp_path: Path) -> None:
    path = make_sdist(tmp_path, "demo", "1.0")
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchive, match="CRC"):
        read_sdist_metadata(path, path.name, LIMITS)
