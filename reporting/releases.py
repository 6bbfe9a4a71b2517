"""Releases: an immutable, versioned snapshot of what was published to parliament, and the revisions since.

A release of year Y is a folder `releases/Y-rN/` (N counts the releases of that year from 1) holding every table
of the research database as published (one Parquet file each, rows in a fixed order), the annual report rendered
from exactly those tables, and `manifest.json`: who made it and when, the code and data-standard versions, the
submissions and approvals it rests on, and the SHA-256 of every file. It is written beside its place, renamed into
it, and made read-only; `verify` recomputes every checksum and renders the report again from the release's own
tables, which must give the same bytes. Nothing ever writes into a release after it is made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import duckdb

from errors import RapporteurError, UnusableInput
from reporting.annual import render_annual_report
from schemas.standard import codelist_version

RELEASE_NAME = re.compile(r"(?P<year>\d{4})-r(?P<n>[1-9]\d*)\Z")
MANIFEST = "manifest.json"
REVISED = "revisions.json"  # the earlier figures this release revised, as its report lists them
# A figure: one published cell of `indicators`, the table every other output is read from.
FIGURE_KEY = ("indicator", "period", "dimension", "category")


@dataclass(frozen=True)
class Release:
    """One release on disk."""

    name: str
    path: Path
    manifest: dict

    @property
    def year(self) -> int:
        return int(self.manifest["year"])

    @property
    def report(self) -> Path:
        return self.path / f"annual-report-{self.year}.html"


def releases(root: Path) -> list[Release]:
    """Every release under `root`, oldest first (by year, then number)."""
    found = []
    for path in Path(root).glob("*-r*"):
        m = RELEASE_NAME.match(path.name)
        if m and (path / MANIFEST).is_file():
            found.append((int(m["year"]), int(m["n"]), path))
    return [_open(path) for _, _, path in sorted(found)]


def release(root: Path, name: str) -> Release:
    """The release called `name` (e.g. 2024-r1); UnusableInput when there is none."""
    if not RELEASE_NAME.match(name) or not (Path(root) / name / MANIFEST).is_file():
        known = ", ".join(r.name for r in releases(root)) or "none yet"
        raise UnusableInput(f"no release called {name[:20]!r} (releases: {known})")
    return _open(Path(root) / name)


def _open(path: Path) -> Release:
    return Release(path.name, path, json.loads((path / MANIFEST).read_text(encoding="utf-8")))


def make_release(
    root: Path,
    research_db: Path,
    year: int,
    k: int,
    basis: dict,
    who: str,
    revised: list[dict] | None = None,
    now: dt.datetime | None = None,
) -> Release:
    """Snapshot the research database and the report of `year` as the next release of that year.

    `basis` is what the release rests on (submissions and approvals), recorded in the manifest as given;
    `revised` the earlier published figures this release revises (`revisions`), which its report lists.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    numbers = (RELEASE_NAME.match(r.name) for r in releases(root) if r.year == year)
    number = 1 + max((int(m["n"]) for m in numbers if m), default=0)
    name = f"{year}-r{number}"
    building = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        tables = _export_tables(research_db, building / "tables")
        revised = [r for r in revised or [] if _year(r["period"]) != year]
        (building / REVISED).write_text(json.dumps(revised, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        report = building / f"annual-report-{year}.html"
        report.write_text(_render_from_tables(building / "tables", year, k, revised), encoding="utf-8")
        files = sorted(p for p in building.rglob("*") if p.is_file())
        manifest = {
            "release": name,
            "year": year,
            "made_at": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
            "made_by": who,
            "disclosure_k": k,
            "code_version": code_version(),
            "data_standard_version": codelist_version(),
            "tables": tables,
            "basis": basis,
            "sha256": {str(p.relative_to(building)): _sha256(p) for p in files},
        }
        (building / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.rename(building, root / name)  # refuses to replace a release made meanwhile under the same name
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _freeze(root / name)
    return _open(root / name)


def verify(rel: Release) -> list[str]:
    """What does not match in a release (empty: it is intact and its report reproduces byte for byte)."""
    problems = []
    expected = rel.manifest.get("sha256", {})
    present = {str(p.relative_to(rel.path)) for p in rel.path.rglob("*") if p.is_file()} - {MANIFEST}
    for name in sorted(present | set(expected)):
        path = rel.path / name
        if name not in expected:
            problems.append(f"{name}: not part of the release")
        elif not path.is_file():
            problems.append(f"{name}: missing")
        elif _sha256(path) != expected[name]:
            problems.append(f"{name}: changed since the release was made")
    if not problems:
        revised = json.loads((rel.path / REVISED).read_text(encoding="utf-8"))
        again = _render_from_tables(rel.path / "tables", rel.year, int(rel.manifest["disclosure_k"]), revised)
        if again.encode("utf-8") != rel.report.read_bytes():
            problems.append(f"{rel.report.name}: does not reproduce from the release's tables")
    return problems


def figures(source: Path | Release) -> dict[tuple, dict]:
    """Every published figure (a cell of `indicators`) of a release or a research database, by its key."""
    con = duckdb.connect()
    try:
        if isinstance(source, Release):
            table = source.path / "tables" / "indicators.parquet"
            con.execute(f"CREATE VIEW indicators AS SELECT * FROM read_parquet('{_quoted(table)}')")
        else:
            con.execute(f"ATTACH '{_quoted(Path(source))}' AS research (READ_ONLY)")
            con.execute("CREATE VIEW indicators AS SELECT * FROM research.indicators")
        rows = con.execute(f"SELECT {', '.join(FIGURE_KEY)}, value, suppressed FROM indicators").fetchall()
    finally:
        con.close()
    return {r[:4]: {"value": r[4], "suppressed": bool(r[5])} for r in rows}


def compare(old: dict[tuple, dict], new: dict[tuple, dict]) -> list[dict]:
    """The figures whose published value differs (a figure that appears or disappears included), in key order."""
    changed = []
    for key in sorted(set(old) | set(new), key=lambda k: tuple("" if v is None else str(v) for v in k)):
        a, b = old.get(key), new.get(key)
        if (a or {}).get("value") != (b or {}).get("value") or (a is None) != (b is None):
            changed.append(
                dict(zip(FIGURE_KEY, key, strict=True))
                | {"published": (a or {}).get("value"), "now": (b or {}).get("value")}
            )
    return changed


def revisions(root: Path, research_db: Path, reasons: dict[int | None, list[str]]) -> list[dict]:
    """Figures already published whose value the current research database changes: per figure, the value in
    the latest release that published it, the value now, that release, and why (the accepted revisions of that
    year, `reasons`, with those of whole-history submissions under None; else a rebuild without a recorded
    revision)."""
    now = figures(research_db)
    latest: dict[tuple, tuple[Release, dict]] = {}
    for rel in releases(root):  # oldest first: a later release's figure replaces an earlier one
        for key, cell in figures(rel).items():
            latest[key] = (rel, cell)
    out = []
    for key, (rel, cell) in sorted(latest.items(), key=lambda kv: tuple(str(v) for v in kv[0])):
        for change in compare({key: cell}, {key: now[key]} if key in now else {}):
            why = reasons.get(_year(key[1]), []) + reasons.get(None, [])
            reason = "; ".join(why) if why else "rebuild, no revision recorded"
            out.append(change | {"release": rel.name, "reason": reason})
    return out


def _year(period) -> int | None:
    text = str(period)
    return int(text[:4]) if text[:4].isdigit() else None


def code_version() -> str:
    """The package version, with the git commit when the code runs from a checkout."""
    version = metadata.version("rapporteur")
    here = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{version}+{commit}" if commit else version


def _export_tables(research_db: Path, folder: Path) -> list[str]:
    """Every table of the research database as Parquet, rows in a fixed order; return their names."""
    if not Path(research_db).is_file():
        raise RapporteurError("no research database yet: run `rapporteur run` first")
    folder.mkdir(parents=True)
    con = duckdb.connect(str(research_db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        for name in names:
            con.execute(
                f'COPY (SELECT * FROM "{name}" ORDER BY ALL) TO ? (FORMAT parquet, COMPRESSION zstd)',
                [str(folder / f"{name}.parquet")],
            )
    finally:
        con.close()
    return names


def _render_from_tables(folder: Path, year: int, k: int, revised: list[dict]) -> str:
    """The annual report of `year`, rendered from a release's Parquet tables (in a throwaway database)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "research.duckdb"
        con = duckdb.connect(str(db))
        try:
            for path in sorted(folder.glob("*.parquet")):
                con.execute(f'CREATE TABLE "{path.stem}" AS SELECT * FROM read_parquet(?)', [str(path)])
        finally:
            con.close()
        return render_annual_report(db, year, k, revised)


def _quoted(path: Path) -> str:
    """A path of ours as the body of an SQL string literal (a view cannot take a parameter)."""
    return str(path).replace("'", "''")


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _freeze(folder: Path) -> None:
    """Read-only files and folders: a release is not edited by mistake (the checksums catch the rest)."""
    for path in sorted(folder.rglob("*"), reverse=True):
        path.chmod(0o444 if path.is_file() else 0o555)
    folder.chmod(0o555)


def _thaw(folder: Path) -> None:
    if folder.exists():
        folder.chmod(0o755)
        for path in folder.rglob("*"):
            path.chmod(0o644 if path.is_file() else 0o755)
