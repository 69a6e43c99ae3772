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
import time
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urljoin

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
    parser.add_argument("--malware-repo", type=Path, help="git dir of lxyeternal/pypi_malregistry")
    parser.add_argument(
        "--malware-list", type=Path, default=Path("/work/shared/data/malware-train.txt")
    )
    parser.add_argument(
        "--malware-limit", type=int, default=0, help="scan only the first N samples"
    )
    parser.add_argument(
        "--show", type=int, default=10, help="flagged popular / missed malware to list"
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


def run_benchmark(args: argparse.Namespace, names: list[str]) -> None:
    from bastion.protect.scan import scan_archive, scan_data

    timings: list[float] = []

    files = popular_archives(args.cache, names)
    verdicts: Counter[str] = Counter()
    projects: dict[str, str] = {}
    rank = {"error": 0, "clean": 1, "suspicious": 2, "malicious": 3}
    flagged: list[str] = []
    for path in files:
        started = time.perf_counter()
        report = scan_archive(path, path.name)
        elapsed = time.perf_counter() - started
        if path.stat().st_size < 1_000_000:
            timings.append(elapsed)
        verdicts[report.verdict] += 1
        project = path.parent.name
        if rank[report.verdict] > rank.get(projects.get(project, "error"), 0):
            projects[project] = report.verdict
        if report.verdict in ("suspicious", "malicious"):
            rules = sorted(
                {f.rule for f in report.findings if f.severity in ("high", "critical", "medium")}
            )
            flagged.append(f"  {report.verdict:10} {path.name}: {', '.join(rules)}")
    per_project = Counter(projects.values())
    total = max(1, len(projects))
    print(f"popular: {len(files)} archives of {len(projects)} projects; archives {dict(verdicts)}")
    print(
        f"popular projects malicious: {per_project['malicious'] / total:.1%}  "
        f"suspicious: {per_project['suspicious'] / total:.1%}  "
        f"(a project counts at its worst archive)"
    )
    archives_total = max(1, len(files))
    print(
        f"popular archives malicious: {verdicts['malicious'] / archives_total:.1%}  "
        f"suspicious: {verdicts['suspicious'] / archives_total:.1%}"
    )
    for line in flagged[: args.show]:
        print(line)

    if args.malware_repo:
        samples = [s for s in args.malware_list.read_text().splitlines() if s.strip()]
        if args.malware_limit:
            samples = samples[: args.malware_limit]
        mal: Counter[str] = Counter()
        missed: list[str] = []
        for sample in samples:
            data = subprocess.run(
                ["git", "-C", str(args.malware_repo), "cat-file", "blob", f"HEAD:{sample}"],
                capture_output=True,
                check=False,
            ).stdout
            started = time.perf_counter()
            report = scan_data(data, sample.rsplit("/", 1)[-1])
            elapsed = time.perf_counter() - started
            if len(data) < 1_000_000:
                timings.append(elapsed)
            mal[report.verdict] += 1
            if report.verdict not in ("suspicious", "malicious"):
                missed.append(f"  {report.verdict:10} {sample} {report.error or ''}")
        hit = mal["suspicious"] + mal["malicious"]
        print(f"malware: {len(samples)} samples; {dict(mal)}")
        print(
            f"recall (suspicious or malicious): {hit / max(1, len(samples)):.1%}  "
            f"malicious: {mal['malicious'] / max(1, len(samples)):.1%}"
        )
        for line in missed[: args.show]:
            print(line)

    median = statistics.median(timings) * 1000 if timings else 0.0
    print(
        f"seconds per archive < 1 MB: median {median:.1f} ms  "
        f"p95 {percentile(timings, 0.95) * 1000:.1f} ms  (n={len(timings)})"
    )


if __name__ == "__main__":
    main()
