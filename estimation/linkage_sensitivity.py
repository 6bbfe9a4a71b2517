"""How far the estimate moves when record linkage misses links or makes false ones at a measured rate.

A missed link splits one person seen by several lists into two persons: it takes cases out of the
overlaps and adds them to lower-order histories, which raises the estimate. A false link merges two
persons seen by different lists into one: it adds to the overlaps and lowers the estimate. We apply one
more dose of each error, at the measured pair recall and precision, to the year's table and re-estimate
(stepwise point estimate, no bootstrap; median over random replicates): the shift is a first-order
measure of the bias the same error already put into the published figure.

The default rates are those docs/linkage.md measured on the generator's own noise (pooled over three
seeds): pair recall 0.9736, precision 0.9977. They are not yet measured on noise made independently of
the generator, so they may be optimistic.
"""

from __future__ import annotations

import numpy as np

from estimation.mse import MSEInputError, estimate

MEASURED_RECALL = 0.9736
MEASURED_PRECISION = 0.9977
REPLICATES = 25


def _split(histories: np.ndarray, counts: np.ndarray, recall: float, rng: np.random.Generator) -> list:
    """Persons (as list-index sets) after missing each of a person's k - 1 links with probability 1 - recall."""
    people = []
    for h, n in zip(histories.tolist(), counts.tolist(), strict=True):
        on = [i for i, b in enumerate(h) if b]
        for _ in range(int(n)):
            if len(on) > 1 and rng.random() > recall ** (len(on) - 1):
                j = on[rng.integers(len(on))]
                people += [frozenset(x for x in on if x != j), frozenset([j])]
            else:
                people.append(frozenset(on))
    return people


def _merge(histories: np.ndarray, counts: np.ndarray, precision: float, rng: np.random.Generator) -> list:
    """Persons after false links: a share 1 - precision of the persons are merged with another person
    whose lists they do not share."""
    people = [
        frozenset(i for i, b in enumerate(h) if b)
        for h, n in zip(histories.tolist(), counts.tolist(), strict=True)
        for _ in range(int(n))
    ]
    order = rng.permutation(len(people))
    merges = rng.binomial(len(people), 1.0 - precision)
    out, used = [], set()
    for a in order:
        if merges and a not in used:
            partner = next((b for b in order if b != a and b not in used and not people[a] & people[b]), None)
            if partner is not None:
                used |= {a, partner}
                out.append(people[a] | people[partner])
                merges -= 1
                continue
        if a not in used:
            used.add(a)
            out.append(people[a])
    return out


def _table(people: list, t: int) -> tuple[np.ndarray, np.ndarray]:
    histories, counts = np.unique(
        np.array([[int(i in p) for i in range(t)] for p in people], dtype=np.int8), axis=0, return_counts=True
    )
    return histories, counts


def linkage_sensitivity(
    lists,
    histories,
    counts,
    recall: float = MEASURED_RECALL,
    precision: float = MEASURED_PRECISION,
    seed=None,
    replicates: int = REPLICATES,
) -> dict[str, float]:
    """Relative change of the stepwise estimate under missed links and under false links, and the base.

    Returns {"estimate": base, "missed": median relative change, "false": median relative change}.
    """
    if not (0 < recall <= 1 and 0 < precision <= 1):
        raise MSEInputError("recall and precision must lie in (0, 1]")
    histories, counts = np.asarray(histories), np.asarray(counts)
    base = estimate(lists, histories, counts, nboot=0).estimate
    rng = np.random.default_rng(seed)
    shifts: dict[str, list[float]] = {"missed": [], "false": []}
    for _ in range(replicates):
        for kind, perturb, rate in (("missed", _split, recall), ("false", _merge, precision)):
            h, c = _table(perturb(histories, counts, rate, rng), len(lists))
            try:
                shifts[kind].append(estimate(lists, h, c, nboot=0).estimate / base - 1.0)
            except MSEInputError:
                continue
    return {"estimate": base, **{k: float(np.median(v)) if v else float("nan") for k, v in shifts.items()}}
