"""After every run: each submission's rows are all accounted for, in the ledger and in what is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from errors import RepositoryBusy
from schemas.standard import feed as feed_spec
from warehouse.repository import connect, repository_path

# Per submission: the ledger's counts against the rows and quarantined rows the repository really holds.
ACCOUNTS_SQL = """
SELECT s.submission_id, s.rows_in, s.rows_loaded, s.rows_quarantined,
       coalesce(r.n, 0) AS held_rows, coalesce(q.n, 0) AS held_quarantined
FROM submissions s
LEFT JOIN (SELECT submission_id, count(*) AS n FROM {table} GROUP BY ALL) r USING (submission_id)
LEFT JOIN (SELECT submission_id, count(DISTINCT row_number) AS n FROM quarantine GROUP BY ALL) q USING (submission_id)
ORDER BY s.submission_id
"""


def unreconciled(warehouse_dir: Path, feed: str, db_key: bytes, ledger: list[dict] | None = None) -> list[str]:
    """One line per submission of `feed` whose rows do not add up: rows_in = rows_loaded + rows_quarantined,
    with the loaded and quarantined rows really stored, and the inbox ledger (`ledger`, its rows) agreeing."""
    path = repository_path(warehouse_dir, feed)
    if not path.exists():
        return []
    with connect(path, read_only=True, key=db_key) as con:
        rows = con.execute(ACCOUNTS_SQL.format(table=feed_spec(feed).table)).fetchall()
    inbox = {r["submission_id"]: r for r in ledger or [] if r["feed"] == feed and r["status"] == "loaded"}
    problems = []
    for sid, rows_in, loaded, quarantined, held_rows, held_quarantined in rows:
        if rows_in != loaded + quarantined or (loaded, quarantined) != (held_rows, held_quarantined):
            problems.append(
                f"submission {sid} does not reconcile: {rows_in} rows in, {loaded} loaded + {quarantined} quarantined "
                f"in its ledger, {held_rows} + {held_quarantined} stored"
            )
        mine = inbox.pop(sid, None)
        if mine is not None and (mine["rows_in"], mine["rows_loaded"], mine["rows_quarantined"]) != (
            rows_in,
            loaded,
            quarantined,
        ):
            problems.append(f"submission {sid}: the inbox ledger's counts differ from the repository's")
    problems += [f"submission {sid} is marked loaded but the repository does not hold it" for sid in inbox]
    return problems


@dataclass
class Reconciliation:
    """What the check after a command found: problems (rows that do not add up) and what it could not
    check (a repository another process is writing). Its `state` goes into a command's --json."""

    problems: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return "failed" if self.problems else "not checked" if self.unchecked else "ok"

    def as_dict(self) -> dict:
        return {"status": self.state, "problems": self.problems, "not_checked": self.unchecked}


def reconcile(warehouse_dir: Path, feeds, db_key: bytes, ledger: list[dict]) -> Reconciliation:
    """`unreconciled` for each feed; a repository open in another process is noted as not checked, since
    what the command itself did is already done and stored."""
    result = Reconciliation()
    for feed in feeds:
        try:
            result.problems += unreconciled(warehouse_dir, feed, db_key, ledger)
        except RepositoryBusy:
            result.unchecked.append(f"{repository_path(warehouse_dir, feed).name} is open in another process")
    return result
