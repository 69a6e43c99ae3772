"""Benchmark the malware scanner: recall on real malware, false positives on popular packages.

Downloads the latest wheel and sdist of the top ``--top`` (200) projects of
``pypi-top15k.tsv`` into a cache outside the repository (``~/.cache/bastion-bench``):
wheels with ``pip download --no-deps --only-binary :all:``, sdists by their URL from the
PyPI JSON API (``pip download`` of an sdist would build its metadata, i.e. run its code).
Then scans them, and, when ``--malware-repo`` points at a local git copy of the
``lxyeternal/pypi_malregistry`` dataset, scans the archives listed in ``--malware-list``
straight from git objects in memory (never extracted, never run).

Prints: recall (share of malicious samples judged suspicious or malicious), the share of
popular packages judged malicious and suspicious (with the rules that fired), and the
median / p95 seconds per archive for archives under 1 MB.

    .venv/bin/python benchmarks/scan.py
    .venv/bin/python benchmarks/scan.py \\
        --malware-repo /work/.mirror/lxyeternal+pypi_malregistry/repo \\
        --malware-list /work/shared/data/malware-train.txt

Goals: recall >= 95%; top-200 <= 1% malicious and <= 5% suspicious; median < 30 ms and
p95 < 200 ms per archive under 1 MB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import urllib.request
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

from bastion.protect.scan.engine import Config, scan_bytes, scan_file

CACHE = Path.home() / ".cache" / "bastion-bench"
DEFAULT_TOP = Path("/work/shared/data/pypi-top15k.tsv")


def top_names(tsv: Path, count: int) -> list[str]:
    """The first ``count`` project names of the ranked TSV (rank, name)."""
    names: list[str] = []
    for line in tsv.read_text().splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 2:
            names.append(parts[1].strip())
        if len(names) >= count:
            break
    return names


def download(name: str, cache: Path) -> None:
    """Fetch the latest wheel (pip) and sdist (JSON API URL) of ``name`` into ``cache/name``."""
    target = cache / name
    if (target / ".done").exists():
        return
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--quiet",
            "--dest",
            str(target),
            name,
        ],
        check=False,
        capture_output=True,
        timeout=300,
    )
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=60) as response:
            info = json.load(response)
            base = response.geturl()
        for entry in info.get("urls", []):
            if entry.get("packagetype") == "sdist":
                path = target / entry["filename"]
                if not path.exists():
                    with urllib.request.urlopen(
                        urljoin(base, entry["url"]), timeout=300
                    ) as response:
                        data = response.read()
                    path.write_bytes(data)
                break
    except OSError as exc:
        print(f"{name}: sdist not fetched: {exc}", file=sys.stderr)
    (target / ".done").touch()


def popular_archives(cache: Path, names: list[str]) -> list[Path]:
    files: list[Path] = []
    for name in names:
        folder = cache / name
        if folder.is_dir():
            files.extend(
                p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")
            )
    return files


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--top-file", type=Path, default=DEFAULT_TOP)
    parser.add_argument("--top", type=int, default=200)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--download-only", action="store_true")
    parser.add_argument("--malware-only", action="store_true", help="skip the popular packages")
    parser.add_argument("--malware-repo", type=Path, help="git dir of lxyeternal/pypi_malregistry")
    parser.add_argument(
        "--malware-list", type=Path, default=Path("/work/shared/data/malware-train.txt")
    )
    parser.add_argument(
        "--malware-limit", type=int, default=0, help="scan only the first N samples"
    )
    parser.add_argument(
        "--show",
        type=int,
        default=10,
        help="flagged popular / missed malware to list (tuning samples only: the held-out "
        "fifth stays unseen, to measure whether rules generalise)",
    )
    args = parser.parse_args()

    names = top_names(args.top_file, args.top)
    args.cache.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(names, 1):
        download(name, args.cache)
        if args.download_only:
            print(f"[{index}/{len(names)}] {name}", file=sys.stderr)
    if args.download_only:
        return
    run_benchmark(args, names)


RANK = {"error": 0, "clean": 1, "suspicious": 2, "malicious": 3}


def held_out(sample: str) -> bool:
    """One project in five (by a hash of its name) is kept out of tuning."""
    return zlib.crc32(sample.split("/", 1)[0].lower().encode()) % 5 == 0


def git_blobs(repo: Path, paths: list[str]) -> Iterator[tuple[str, bytes]]:
    """``(path, bytes)`` of files at HEAD of a bare git dir, through one ``cat-file --batch``."""
    process = subprocess.Popen(
        ["git", "-C", str(repo), "cat-file", "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        for path in paths:
            process.stdin.write(f"HEAD:{path}\n".encode())
            process.stdin.flush()
            header = process.stdout.readline().split()
            if len(header) < 3:
                yield path, b""
                continue
            data = process.stdout.read(int(header[2]))
            process.stdout.read(1)
            yield path, data
    finally:
        process.stdin.close()
        process.wait()


def scan_popular(
    args: argparse.Namespace, names: list[str], config: Config, timings: list[float]
) -> None:
    files = popular_archives(args.cache, names)
    verdicts: Counter[str] = Counter()
    projects: dict[str, str] = {}
    flagged: list[str] = []
    for path in files:
        report = scan_file(path, path.name, config)
        if path.stat().st_size < 1_000_000:
            timings.append(report.seconds)
        verdicts[report.verdict] += 1
        project = path.parent.name
        if RANK[report.verdict] > RANK.get(projects.get(project, "error"), 0):
            projects[project] = report.verdict
        if report.verdict != "clean":
            rules = sorted({f.rule for f in report.findings if f.severity not in ("info", "low")})
            flagged.append(
                f"  {report.verdict:10} {path.name}: {', '.join(rules)} {report.error or ''}"
            )
    per_project = Counter(projects.values())
    total = max(1, len(projects))
    print(f"popular: {len(files)} archives of {len(projects)} projects; archives {dict(verdicts)}")
    print(
        f"popular projects malicious: {per_project['malicious'] / total:.1%}  "
        f"suspicious: {per_project['suspicious'] / total:.1%}  (a project counts at its worst)"
    )
    archives_total = max(1, len(files))
    print(
        f"popular archives malicious: {verdicts['malicious'] / archives_total:.1%}  "
        f"suspicious: {verdicts['suspicious'] / archives_total:.1%}"
    )
    for line in flagged[: args.show]:
        print(line)


def scan_malware(args: argparse.Namespace, config: Config, timings: list[float]) -> None:
    samples = [s for s in args.malware_list.read_text().splitlines() if s.strip()]
    if args.malware_limit:
        samples = samples[: args.malware_limit]
    results: dict[bool, Counter[str]] = {False: Counter(), True: Counter()}
    missed: list[str] = []
    rules: Counter[str] = Counter()
    for sample, data in git_blobs(args.malware_repo, samples):
        report = scan_bytes(data, sample.rsplit("/", 1)[-1], config)
        if len(data) < 1_000_000:
            timings.append(report.seconds)
        held = held_out(sample)
        results[held][report.verdict] += 1
        rules.update({f.rule for f in report.findings if f.severity in ("high", "critical")})
        if report.verdict not in ("suspicious", "malicious") and not held:  # keep it unseen
            top = ", ".join(sorted({f.rule for f in report.findings if f.severity != "info"}))
            missed.append(f"  {report.verdict:10} {sample} {report.error or ''} [{top}]")
    for held, label in ((False, "tuning"), (True, "held-out"), (None, "all")):
        counts = results[held] if held is not None else results[False] + results[True]
        size = max(1, sum(counts.values()))
        hit = counts["suspicious"] + counts["malicious"]
        print(
            f"malware {label}: {sum(counts.values())} samples; recall {hit / size:.1%} "
            f"(malicious {counts['malicious'] / size:.1%}); {dict(counts)}"
        )
    print(
        "rules (high/critical) by samples:", ", ".join(f"{r} {n}" for r, n in rules.most_common(20))
    )
    for line in missed[: args.show]:
        print(line)


def run_benchmark(args: argparse.Namespace, names: list[str]) -> None:
    from bastion.config import Settings
    from bastion.protect.scan import config_from

    config = config_from(Settings())
    timings: list[float] = []
    if not args.malware_only:
        scan_popular(args, names, config, timings)
    if args.malware_repo:
        scan_malware(args, config, timings)
    median = statistics.median(timings) * 1000 if timings else 0.0
    print(
        f"seconds per archive < 1 MB: median {median:.1f} ms  "
        f"p95 {percentile(timings, 0.95) * 1000:.1f} ms  (n={len(timings)})"
    )


if __name__ == "__main__":
    main()
