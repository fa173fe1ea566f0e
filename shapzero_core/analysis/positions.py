"""Position x letter summaries across sequences: mean SHAP logos, interactions split over their positions,
differences between two subsets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..alphabet import Alphabet
from .explanation import Explanation, _as_index, _need_interactions


# ============================================================================================== logos
@dataclass(frozen=True)
class PositionLetterSummary:
    """Mean SHAP at each position over the sequences carrying each letter.

    Attributes
    ----------
    mean : numpy.ndarray
        ``float64 (n, q)``; NaN where no sequence carries the letter.
    std : numpy.ndarray
        ``float64 (n, q)`` population standard deviation (NaN where count is 0).
    count : numpy.ndarray
        ``int64 (n, q)`` number of sequences carrying letter ``a`` at position ``i``.
    alphabet : Alphabet
    """

    mean: np.ndarray
    std: np.ndarray
    count: np.ndarray
    alphabet: Alphabet

    def matrix(self, fill: float = 0.0) -> pd.DataFrame:
        """``(n, q)`` DataFrame for a logo: index = 1-based position, columns = letters, NaN -> ``fill``."""
        return _matrix(np.nan_to_num(self.mean, nan=fill), self.alphabet)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``position`` (1-based), ``letter``, ``mean``, ``std``, ``sem``, ``count``."""
        n, q = self.mean.shape
        cnt = self.count.ravel()
        with np.errstate(invalid="ignore", divide="ignore"):
            sem = self.std.ravel() / np.sqrt(cnt)
        return pd.DataFrame(
            {
                "position": np.repeat(np.arange(1, n + 1), q),
                "letter": np.tile(list(self.alphabet.letters), n),
                "mean": self.mean.ravel(),
                "std": self.std.ravel(),
                "sem": sem,
                "count": cnt,
            }
        )


def _matrix(M: np.ndarray, alphabet: Alphabet) -> pd.DataFrame:
    df = pd.DataFrame(M, columns=list(alphabet.letters), index=np.arange(1, M.shape[0] + 1))
    df.index.name = "position"
    return df


def _grouped_stats(values: np.ndarray, X: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (position, letter) count, mean, std of ``values (N, n)`` grouped by ``X (N, n)``."""
    n = X.shape[1]
    key = (np.arange(n, dtype=np.int64) * q + X.astype(np.int64)).ravel()
    v = values.ravel()
    cnt = np.bincount(key, minlength=n * q).reshape(n, q)
    s1 = np.bincount(key, weights=v, minlength=n * q).reshape(n, q)
    s2 = np.bincount(key, weights=v * v, minlength=n * q).reshape(n, q)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, s1 / cnt, np.nan)
    return cnt.astype(np.int64), mean, std_from_moments(s1, s2, cnt)


#: Variances below this fraction of the mean square are round-off of ``E[x²] - E[x]²`` and shown as 0.
ROUNDOFF_VAR = 1e-10


def std_from_moments(s1: np.ndarray, s2: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    """Standard deviation from sums ``s1 = Σx``, ``s2 = Σx²`` and counts (same shapes, float64 out; NaN where
    ``cnt == 0``). A variance within round-off of zero (below :data:`ROUNDOFF_VAR` × the mean square: equal
    values) is exactly 0, not ~1e-9."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ms = np.where(cnt > 0, s2 / cnt, np.nan)
        var = ms - np.where(cnt > 0, s1 / cnt, np.nan) ** 2
    var = np.where(var <= ROUNDOFF_VAR * ms, 0.0, var)
    return np.sqrt(var)


def position_letter_summary(expl: Explanation, mask: np.ndarray | None = None) -> PositionLetterSummary:
    """Mean SHAP value at every (position, letter) over the (selected) sequences carrying that letter.

    Parameters
    ----------
    expl : Explanation
    mask : numpy.ndarray, optional
        ``bool (N,)`` or row indices: restrict to a subset (see :func:`select`).

    Returns
    -------
    PositionLetterSummary
        ``mean``, ``std``, ``count`` of shape ``(n, q)``.
    """
    idx = _as_index(mask, expl.N)
    cnt, mean, std = _grouped_stats(expl.shap[idx], expl.X[idx], expl.alphabet.q)
    return PositionLetterSummary(mean=mean, std=std, count=cnt, alphabet=expl.alphabet)


@dataclass(frozen=True)
class SplitSummary:
    """The paper's interaction summary: every interaction value split equally over its positions.

    For each sequence and each interaction set ``T`` (orders in ``[min_order, max_order]``), ``value / |T|``
    is credited to every position of ``T`` with the letter the sequence carries there; positive and
    negative parts are accumulated separately and averaged over the sequences carrying the letter.

    Attributes
    ----------
    positive, negative : numpy.ndarray
        ``float64 (n, q)`` mean positive (>= 0) and negative (<= 0) parts; NaN where count is 0.
    count : numpy.ndarray
        ``int64 (n, q)``.
    min_order, max_order : int
    alphabet : Alphabet
    """

    positive: np.ndarray
    negative: np.ndarray
    count: np.ndarray
    min_order: int
    max_order: int
    alphabet: Alphabet

    @property
    def net(self) -> np.ndarray:
        """``positive + negative`` (with orders from 1 up, this is the mean SHAP value)."""
        return self.positive + self.negative

    def matrix(self, part: str = "net") -> pd.DataFrame:
        """``(n, q)`` logo matrix of ``"positive"``, ``"negative"`` or ``"net"`` (NaN -> 0)."""
        if part not in ("positive", "negative", "net"):
            raise ValueError(f"part must be 'positive', 'negative' or 'net', got {part!r}")
        return _matrix(np.nan_to_num(getattr(self, part), nan=0.0), self.alphabet)

    def to_frame(self) -> pd.DataFrame:
        """Tidy: ``position`` (1-based), ``letter``, ``positive``, ``negative``, ``net``, ``count``."""
        n, q = self.positive.shape
        return pd.DataFrame(
            {
                "position": np.repeat(np.arange(1, n + 1), q),
                "letter": np.tile(list(self.alphabet.letters), n),
                "positive": self.positive.ravel(),
                "negative": self.negative.ravel(),
                "net": self.net.ravel(),
                "count": self.count.ravel(),
            }
        )


def split_interaction_summary(
    expl: Explanation, min_order: int = 2, max_order: int | None = None, mask: np.ndarray | None = None
) -> SplitSummary:
    """Split interaction values over their positions and average positive and negative parts (see
    :class:`SplitSummary`). Requires ``expl.interactions``.

    With ``min_order=1`` and the ``"mobius"`` index this reproduces the SHAP summary exactly
    (``net == position_letter_summary(expl).mean``), since ``phi_i = sum_{T ∋ i} a(T) / |T|``.
    """
    inter = _need_interactions(expl)
    idx = _as_index(mask, expl.N)
    n, q = expl.n, expl.alphabet.q
    orders = inter.orders
    hi = int(orders.max()) if max_order is None and orders.size else (max_order or 0)
    cols = np.flatnonzero((orders >= min_order) & (orders <= hi))
    X = expl.X[idx]
    if cols.size:
        rows = np.repeat(np.arange(cols.size), orders[cols])
        members = np.concatenate([np.asarray(inter.sets[c], dtype=np.intp) for c in cols])
        Msplit = np.zeros((cols.size, n))
        np.add.at(Msplit, (rows, members), 1.0 / orders[cols][rows])
        V = inter.values[idx][:, cols]
        pos = np.maximum(V, 0.0) @ Msplit  # (N, n)
        neg = np.minimum(V, 0.0) @ Msplit
    else:
        pos = np.zeros(X.shape)
        neg = np.zeros(X.shape)
    cnt, mpos, _ = _grouped_stats(pos, X, q)
    _, mneg, _ = _grouped_stats(neg, X, q)
    return SplitSummary(mpos, mneg, cnt, int(min_order), int(hi), expl.alphabet)


def difference_summary(
    expl: Explanation, mask_a: np.ndarray, mask_b: np.ndarray
) -> tuple[pd.DataFrame, PositionLetterSummary, PositionLetterSummary]:
    """Difference logo: mean SHAP of subset A minus subset B at every (position, letter).

    Returns
    -------
    diff : pandas.DataFrame
        ``(n, q)`` matrix (index 1-based positions, columns letters); 0 where either subset lacks the letter.
    a, b : PositionLetterSummary
        The two summaries (for counts and spreads).
    """
    a = position_letter_summary(expl, mask_a)
    b = position_letter_summary(expl, mask_b)
    d = a.mean - b.mean
    return _matrix(np.nan_to_num(d, nan=0.0), expl.alphabet), a, b
