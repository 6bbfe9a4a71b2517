"""Statistical disclosure control: small-cell suppression of count tables and k-anonymity of microdata."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

Generaliser = Callable[[pd.Series], pd.Series]
_ALL = "__all__"  # constant key column standing for the grand-total grouping


# --------------------------------------------------------------------------- count tables


def default_margins(dims: Sequence[str]) -> list[list[str]]:
    """For every dimension d, the grouping by the other dimensions: all row and column totals."""
    return [[x for x in dims if x != d] for d in dims]


def _keyed(frame: pd.DataFrame, grouping: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """The frame and key columns of a grouping; the empty grouping becomes one constant key."""
    if grouping:
        return frame, list(grouping)
    return frame.assign(**{_ALL: 0}), [_ALL]


def _group_ids(table: pd.DataFrame, grouping: Sequence[str]) -> np.ndarray:
    """Integer group number of each row under a grouping (NA is a group of its own)."""
    if not grouping:
        return np.zeros(len(table), dtype=np.int64)
    return table.groupby(list(grouping), dropna=False, sort=False).ngroup().to_numpy()


def _check_table(table: pd.DataFrame, dims: Sequence[str], count: str) -> np.ndarray:
    """The counts as int64, after refusing missing, negative or duplicated cells."""
    values = table[count]
    if values.isna().any():
        raise ValueError(f"{count!r} has missing values; a count table needs every cell")
    vals = values.to_numpy(dtype=np.int64)
    if (vals < 0).any():
        raise ValueError(f"{count!r} has negative counts")
    if table.duplicated(list(dims)).any():
        raise ValueError(f"more than one row per combination of {list(dims)}")
    return vals


def _violating(gid: np.ndarray, supp: np.ndarray, vals: np.ndarray, k: int) -> np.ndarray:
    """Per group: has suppressed cells, but fewer than two or summing to less than k."""
    n = np.bincount(gid, weights=supp)
    s = np.bincount(gid, weights=np.where(supp, vals, 0))
    return (n > 0) & ((n < 2) | (s < k))


def suppress_counts(
    table: pd.DataFrame,
    dims: list[str],
    count: str,
    k: int = 5,
    margins: list[list[str]] | None = None,
    secondary: bool = True,
) -> pd.DataFrame:
    """Suppress cells with 0 < count < k, then enough other cells that no margin gives them away.

    Returns the rows with `count` as Int64 (NA where suppressed), `suppressed` and `suppression`
    ("", "primary", "secondary"). Groups that cannot be protected by cells alone (every cell
    already suppressed) are listed in ``result.attrs["unprotected_groups"]``; pass the result as
    ``cells`` to `margin_totals` so their totals are withheld too.
    """
    vals = _check_table(table, dims, count)
    supp = (vals > 0) & (vals < k)
    primary = supp.copy()
    groupings = [list(g) for g in (default_margins(dims) if margins is None else margins)]
    gids = [_group_ids(table, g) for g in groupings]
    while secondary:
        bad = [_violating(gid, supp, vals, k)[gid] for gid in gids]
        cand = np.flatnonzero(~supp & np.logical_or.reduce(bad, initial=False))
        if not len(cand):
            break
        # one cell at a time: non-zero first, then fewest groups newly opened minus groups it helps
        # close, then smallest value; this keeps the pattern small (e.g. a rectangle in 2-D)
        score = np.zeros(len(cand), dtype=np.int64)
        for gid, b in zip(gids, bad, strict=True):
            opened = np.bincount(gid, weights=supp)[gid[cand]] == 0
            score += opened.astype(np.int64) - b[cand]
        best = np.lexsort((vals[cand], score, vals[cand] == 0))[0]
        supp[cand[best]] = True
    out = table.copy()
    out[count] = pd.arrays.IntegerArray(vals.copy(), supp.copy())
    out["suppressed"] = supp
    out["suppression"] = np.where(primary, "primary", np.where(supp, "secondary", ""))
    unprotected = []
    for g, gid in zip(groupings, gids, strict=True):
        for b in np.flatnonzero(_violating(gid, supp, vals, k)):
            unprotected.append((tuple(g), tuple(table[g].iloc[int(np.argmax(gid == b))])))
    out.attrs["unprotected_groups"] = unprotected
    return out


def margin_totals(
    table: pd.DataFrame,
    dims: list[str],
    count: str,
    groupings: list[list[str]] | None = None,
    k: int = 5,
    cells: pd.DataFrame | None = None,
) -> dict[tuple[str, ...], pd.DataFrame]:
    """The published totals of each grouping, from the ORIGINAL counts, with their own suppression.

    One frame per grouping (key: tuple of its dims), with the grouping's dims, `count` (Int64, NA
    where suppressed), `suppressed` and `suppression`. A total with 0 < t < k is "primary". When
    `cells` (the output of `suppress_counts`) is given, a total whose group still has exactly one
    suppressed cell, or suppressed cells summing to less than k, is "secondary".
    """
    vals = _check_table(table, dims, count)
    groupings = default_margins(dims) if groupings is None else groupings
    work = table[list(dims)].assign(_v=vals)
    if cells is None:
        work["_s"] = False
    else:
        flags = cells[list(dims)].assign(_s=cells["suppressed"].to_numpy(dtype=bool))
        work = work.merge(flags, on=list(dims), how="left", validate="one_to_one")
        work["_s"] = work["_s"].fillna(False).astype(bool)
    work["_sv"] = np.where(work["_s"], vals, 0)
    out = {}
    for g in groupings:
        frame, keys = _keyed(work, g)
        agg = frame.groupby(keys, dropna=False, sort=True).agg(t=("_v", "sum"), n=("_s", "sum"), s=("_sv", "sum"))
        agg = agg.reset_index()
        primary = (agg["t"] > 0) & (agg["t"] < k)
        leak = (agg["n"] > 0) & ((agg["n"] < 2) | (agg["s"] < k)) & ~primary
        res = agg[list(g)].copy()
        res[count] = pd.array(agg["t"].to_numpy(), dtype="Int64")
        res.loc[primary | leak, count] = pd.NA
        res["suppressed"] = (primary | leak).to_numpy()
        res["suppression"] = np.where(primary, "primary", np.where(leak, "secondary", ""))
        out[tuple(g)] = res
    return out


def recoverable_cells(
    published: pd.DataFrame,
    dims: Sequence[str],
    count: str,
    margins_published: dict[tuple[str, ...], pd.DataFrame] | None,
    k: int,
) -> list[dict]:
    """Suppressed cells that subtraction within one published group total reveals.

    "exact": the only suppressed cell of a group whose total is published (or, with
    `margins_published` None, of any default margin group, assuming every total is published).
    "bounded": a group's suppressed cells sum to a published residual in [1, k-1].
    """
    supp = published["suppressed"] if "suppressed" in published else published[count].isna()
    supp = supp.to_numpy(dtype=bool)
    if margins_published is None:
        margins_published = {tuple(g): None for g in default_margins(dims)}
    work = published[list(dims)].copy()
    work["_s"] = supp
    work["_v"] = np.where(supp, 0, published[count].fillna(0).to_numpy(dtype=np.int64))
    found: list[dict] = []
    for g, totals in margins_published.items():
        frame, keys = _keyed(work, g)
        agg = frame.groupby(keys, dropna=False, sort=False).agg(n=("_s", "sum"), pub=("_v", "sum")).reset_index()
        if totals is None:
            agg["total"] = pd.array([pd.NA] * len(agg), dtype="Int64")
            known = pd.Series(True, index=agg.index)
        else:
            tot, _ = _keyed(totals, g)
            agg = agg.merge(tot[keys + [count]].rename(columns={count: "total"}), on=keys, how="left")
            known = agg["total"].notna()
        residual = agg["total"] - agg["pub"]
        exact = (agg["n"] == 1) & known
        bounded = (agg["n"] >= 2) & known & (residual >= 1) & (residual <= k - 1)
        flagged = agg.loc[(exact | bounded).fillna(False).to_numpy(dtype=bool), keys]
        flagged = flagged.assign(
            _kind=np.where(exact[flagged.index], "exact", "bounded"), _res=residual[flagged.index].to_numpy()
        )
        hits = frame[frame["_s"]].reset_index(drop=True).merge(flagged, on=keys, how="inner")
        for rec in hits.to_dict("records"):
            res = rec["_res"]
            found.append(
                {
                    "margin": tuple(g),
                    "cell": {d: rec[d] for d in dims},
                    "kind": rec["_kind"],
                    "value": None if pd.isna(res) or rec["_kind"] != "exact" else int(res),
                    "upper": None if pd.isna(res) else int(res),
                }
            )
    return found


# --------------------------------------------------------------------------- microdata


def _band(width: int) -> Generaliser:
    """Numbers to "lo-hi" bands of the given width; missing stays missing."""
    if width < 1:
        raise ValueError("band width must be at least 1")

    def generalise(s: pd.Series) -> pd.Series:
        num = pd.to_numeric(s, errors="coerce")
        lo = (np.floor(num / width) * width).astype("Int64")
        label = lo.astype("string") + "-" + (lo + width - 1).astype("string")
        return label.astype(object).where(num.notna(), None)

    return generalise


def age_band(width: int) -> Generaliser:
    """Ages to bands of `width` years, e.g. 5 -> "20-24"."""
    return _band(width)


def year_band(width: int) -> Generaliser:
    """Years to periods of `width` years, e.g. 10 -> "1980-1989"."""
    return _band(width)


def top_codes(n: int) -> Generaliser:
    """Keep the n most frequent values; the rest become "other" (missing stays missing)."""

    def generalise(s: pd.Series) -> pd.Series:
        keep = s.value_counts(dropna=True).index[:n]
        return s.astype(object).where(s.isin(keep) | s.isna(), "other")

    return generalise


def suppress_all(s: pd.Series) -> pd.Series:
    """Every value becomes "*"."""
    return pd.Series("*", index=s.index, dtype=object)


def _class_sizes(codes: list[np.ndarray], n: int) -> np.ndarray:
    """Size of each row's equivalence class, given integer codes per quasi-identifier."""
    key = np.zeros(n, dtype=np.int64)
    for c in codes:
        key, _ = pd.factorize(key * (int(c.max(initial=0)) + 2) + c + 1)
    return np.bincount(key)[key] if len(key) else key


def is_k_anonymous(frame: pd.DataFrame, quasi_identifiers: list[str], k: int) -> bool:
    """Every equivalence class on the quasi-identifiers has at least k rows (an empty frame is)."""
    if frame.empty:
        return True
    return int(frame.groupby(list(quasi_identifiers), dropna=False).size().min()) >= k


def k_anonymise(
    frame: pd.DataFrame,
    quasi_identifiers: list[str],
    k: int = 5,
    hierarchies: dict[str, list[Generaliser]] | None = None,
    max_suppression: float = 0.0,
) -> tuple[pd.DataFrame, dict]:
    """Generalise quasi-identifiers greedily, then drop rows left in classes smaller than k.

    Each hierarchy is a list of functions from least to most general, each applied to the
    original column; a quasi-identifier without one gets [suppress_all], an empty list none.
    Each step takes the quasi-identifier whose next level leaves the fewest rows in small
    classes. Generalisation stops once the violating rows are at most `max_suppression` of all
    rows (default 0). The report gives levels, steps, rows suppressed and the k achieved.
    """
    qis = list(quasi_identifiers)
    hier = {q: list((hierarchies or {}).get(q, [suppress_all])) for q in qis}
    cache: dict[tuple[str, int], tuple[pd.Series, np.ndarray]] = {}

    def level(q: str, lv: int) -> tuple[pd.Series, np.ndarray]:
        if (q, lv) not in cache:
            col = frame[q] if lv == 0 else hier[q][lv - 1](frame[q])
            cache[(q, lv)] = (col, pd.factorize(col, use_na_sentinel=False)[0].astype(np.int64))
        return cache[(q, lv)]

    levels = dict.fromkeys(qis, 0)
    steps: list[str] = []
    sizes = _class_sizes([level(q, 0)[1] for q in qis], len(frame))
    while (sizes < k).sum() > max_suppression * len(frame):
        best = None
        for q in qis:
            if levels[q] >= len(hier[q]):
                continue
            trial = _class_sizes([level(p, levels[p] + (p == q))[1] for p in qis], len(frame))
            bad = int((trial < k).sum())
            if best is None or bad < best[0]:
                best = (bad, q, trial)
        if best is None:
            break
        _, q, sizes = best
        levels[q] += 1
        steps.append(q)
    keep = sizes >= k
    out = frame.copy()
    for q in qis:
        if levels[q]:
            out[q] = level(q, levels[q])[0]
    out = out[keep]
    report = {
        "k": k,
        "levels": levels,
        "steps": steps,
        "rows_in": len(frame),
        "rows_suppressed": int((~keep).sum()),
        "k_achieved": int(sizes[keep].min()) if keep.any() else None,
    }
    return out, report
