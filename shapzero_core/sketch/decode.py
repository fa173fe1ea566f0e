"""q-SFT decoding: subsampled transforms, bin tests, NSO index recovery, peeling and the least-squares refit.

Everything is vectorised across bins (method.md §3.4-3.7). Notation: ``C`` groups, ``B = q^b`` bins per
group, ``P`` offsets, ``L = n + 1`` delays per offset; a bin's measurement vector has ``P * L`` entries,
ordered ``(p, l)``.

* :func:`subsampled_transforms` — the b-dimensional FFT of every block: ``U[c, j, (p, l)] =
  sum_{k : M_c^T k = j} F[k] w^{<k, d_{p,l}>}`` (aliasing equation) for the mean-centred model.
* :func:`peel` — the SHAP zero variant of the peeling decoder: classify bins (zeroton / singleton /
  multiton) with the noise cutoff ``(1 + gamma) sigma^2 / q^b``, peel the most confident 10 % of the
  singletons per iteration from every group, re-test only the touched bins.
* :func:`refit` — beyond the paper: the least-squares values of the recovered coefficients on *all*
  training samples. By Parseval the squared error over a block's samples equals ``q^b`` times the squared
  error over its transform, and a coefficient touches one bin per group, so the normal equations are a
  sparse ``K x K`` system.
* :func:`symmetrize` — the model is real, so ``F[-k] = conj(F[k])``: complete the support and average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .plan import SketchPlan

__all__ = [
    "PeelResult",
    "bin_indices",
    "peel",
    "refit",
    "signatures",
    "subsampled_transforms",
    "symmetrize",
    "synthesize",
]

_CLASSIFY_CHUNK = 1 << 14  # bins classified per vectorised step (bounds the temporary arrays)


def _roots(q: int) -> np.ndarray:
    return np.exp(2j * np.pi * np.arange(q) / q)


def subsampled_transforms(values: np.ndarray, plan: SketchPlan) -> tuple[np.ndarray, float]:
    """Transforms of every block of the mean-centred model.

    Parameters
    ----------
    values : numpy.ndarray
        ``float64 (C, P, n + 1, q^b)``: model values of every training block (row ``l * q^b + t`` of block
        ``(c, p)`` at ``[c, p, l, t]``).
    plan : SketchPlan

    Returns
    -------
    U : numpy.ndarray
        ``complex128 (C, q^b, P * (n + 1))``.
    mu : float
        Mean of all training values (subtracted before the transform).
    """
    C, P, L, B = values.shape
    q, b = plan.q, plan.b
    mu = float(values.mean())
    V = (values - mu).reshape(C, P, L, *([q] * b))
    U = np.fft.fftn(V, axes=tuple(range(3, 3 + b))) / B
    U = U.reshape(C, P, L, B).transpose(0, 3, 1, 2).reshape(C, B, P * L)
    return np.ascontiguousarray(U), mu


def bin_indices(K: np.ndarray, M: np.ndarray, q: int) -> np.ndarray:
    """Bin of every frequency in every group.

    Parameters
    ----------
    K : numpy.ndarray
        ``int (T, n)`` frequencies.
    M : numpy.ndarray
        ``int8 (C, n, b)`` subsampling matrices.
    q : int

    Returns
    -------
    numpy.ndarray
        ``int64 (C, T)``: flat index (lexicographic, first digit most significant) of ``M_c^T k mod q``.
    """
    b = M.shape[2]
    place = q ** np.arange(b - 1, -1, -1, dtype=np.int64)
    J = np.einsum("tn,cnb->ctb", K.astype(np.int64), M.astype(np.int64)) % q  # (C, T, b)
    return J @ place


def signatures(K: np.ndarray, offsets: np.ndarray, q: int) -> np.ndarray:
    """Delay signatures ``s_k = w^{D k}`` of every frequency.

    Parameters
    ----------
    K : numpy.ndarray
        ``int (T, n)``.
    offsets : numpy.ndarray
        ``int8 (P, n)``.
    q : int

    Returns
    -------
    numpy.ndarray
        ``complex128 (T, P * (n + 1))``; entry ``(p, l)`` is ``w^{<k, r_p> - k_l}`` (``k_0 = 0``).
    """
    K64 = K.astype(np.int64)
    a = K64 @ offsets.astype(np.int64).T  # (T, P)
    lagged = np.concatenate([np.zeros((K.shape[0], 1), np.int64), K64], axis=1)  # (T, L)
    ph = np.mod(a[:, :, None] - lagged[:, None, :], q)  # (T, P, L)
    return _roots(q)[ph].reshape(K.shape[0], -1)


def _recover_index(u: np.ndarray, P: int, n: int, q: int) -> np.ndarray:
    """NSO1 soft index recovery: ``k_i`` = the root of unity nearest to ``angle(mean_p u_p0 conj(u_pi))``."""
    u3 = u.reshape(u.shape[0], P, n + 1)
    z = np.mean(u3[:, :, :1] * np.conj(u3[:, :, 1:]), axis=1)  # (T, n)
    return np.mod(np.rint(np.angle(z) * (q / (2 * np.pi))), q).astype(np.int64)


@dataclass(frozen=True)
class PeelResult:
    """Output of :func:`peel`.

    Attributes
    ----------
    locations : numpy.ndarray
        ``int8 (K, n)`` recovered frequencies (unique).
    coefficients : numpy.ndarray
        ``complex128 (K,)`` their peeled values (a frequency peeled twice counts with the sum).
    iterations : int
        Peeling iterations run.
    remaining_multitons : int
        Bins still neither empty nor explained when peeling stopped.
    """

    locations: np.ndarray
    coefficients: np.ndarray
    iterations: int
    remaining_multitons: int


def peel(
    U: np.ndarray,
    plan: SketchPlan,
    noise_sd: float,
    *,
    gamma: float = 0.5,
    conf_fraction: float = 0.1,
    max_iter: int = 1000,
    rel_eps: float = 1e-12,
) -> PeelResult:
    """Peeling decoder of SHAP zero (method.md §3.5-3.7), vectorised over bins.

    Parameters
    ----------
    U : numpy.ndarray
        ``complex128 (C, q^b, P * (n + 1))`` from :func:`subsampled_transforms` (not modified).
    plan : SketchPlan
    noise_sd : float
        ``sigma``; the per-entry cutoff is ``(1 + gamma) sigma^2 / q^b`` plus ``rel_eps`` times the mean
        entry energy (numerical floor for noiseless models).
    gamma, conf_fraction, max_iter
        Threshold slack, fraction of the detected singletons peeled per iteration, iteration limit.

    Returns
    -------
    PeelResult
    """
    U = U.copy()
    C, B, PL = U.shape
    n, q, P = plan.n, plan.q, plan.P
    energy = np.einsum("cbm,cbm->cb", U.real, U.real) + np.einsum("cbm,cbm->cb", U.imag, U.imag)
    floor = rel_eps * float(energy.mean()) / PL
    cutoff = (floor + (1.0 + gamma) * noise_sd**2 / B) * PL  # on ||u||^2
    active = energy > cutoff  # zerotons are disabled for good (SHAP zero variant)
    to_check = active.copy()
    single = np.zeros((C, B), dtype=bool)
    s_res = np.full((C, B), np.inf)
    s_rho = np.zeros((C, B), dtype=np.complex128)
    s_k = np.zeros((C, B, n), dtype=np.int8)
    found: dict[bytes, complex] = {}
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (reported)
        cs, js = np.nonzero(to_check & active)
        to_check[:] = False
        for s in range(0, cs.size, _CLASSIFY_CHUNK):
            c, j = cs[s : s + _CLASSIFY_CHUNK], js[s : s + _CLASSIFY_CHUNK]
            u = U[c, j]
            e = (u.real**2 + u.imag**2).sum(1)
            zero = e <= cutoff
            active[c[zero], j[zero]] = False
            k = _recover_index(u, P, n, q)
            sig = signatures(k, plan.offsets, q)
            rho = np.einsum("tm,tm->t", np.conj(sig), u) / PL
            r = u - rho[:, None] * sig
            res = (r.real**2 + r.imag**2).sum(1)
            Mc = plan.M[c].astype(np.int64)  # (T, n, b)
            jj = (np.einsum("tn,tnb->tb", k, Mc) % q) @ (q ** np.arange(plan.b - 1, -1, -1, dtype=np.int64))
            ok = (~zero) & (jj == j) & (res <= cutoff)
            single[c, j] = ok
            s_res[c, j] = np.where(ok, res, np.inf)
            s_rho[c, j] = rho
            s_k[c, j] = k.astype(np.int8)
        sc, sj = np.nonzero(single)
        if sc.size == 0:
            break
        take = max(1, int(conf_fraction * sc.size))
        order = np.argsort(s_res[sc, sj], kind="stable")[:take]
        sc, sj = sc[order], sj[order]
        K = s_k[sc, sj].astype(np.int64)
        rho = s_rho[sc, sj]
        K, first = np.unique(K, axis=0, return_index=True)  # one peel per frequency per iteration
        rho = rho[first]
        single[sc, sj] = False
        bins = bin_indices(K, plan.M, q)  # (C, T)
        sig = signatures(K, plan.offsets, q)  # (T, PL)
        cc = np.repeat(np.arange(C), K.shape[0])
        bb = bins.ravel()
        keep = active[cc, bb]
        cc, bb = cc[keep], bb[keep]
        tt = np.tile(np.arange(K.shape[0]), C)[keep]
        np.add.at(U, (cc, bb), -(rho[tt, None] * sig[tt]))
        to_check[cc, bb] = True
        single[cc, bb] = False
        for kk, v in zip(K.astype(np.int8), rho, strict=True):
            key = kk.tobytes()
            found[key] = found.get(key, 0j) + v  # what was subtracted from the bins, in total
    remaining = int(np.count_nonzero(active & ~single & (energy > 0)))
    if found:
        locs = np.frombuffer(b"".join(found), dtype=np.int8).reshape(-1, n).copy()
        coefs = np.array(list(found.values()), dtype=np.complex128)
    else:
        locs = np.zeros((0, n), np.int8)
        coefs = np.zeros(0, np.complex128)
    return PeelResult(locs, coefs, it, remaining)


def symmetrize(locations: np.ndarray, coefficients: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Make a transform conjugate-symmetric (the transform of a real function).

    The support is completed with ``-k mod q`` of every ``k`` and each pair gets
    ``(F[k] + conj(F[-k])) / 2`` (a missing partner counts as 0).

    Parameters
    ----------
    locations : numpy.ndarray
        ``int (K, n)``.
    coefficients : numpy.ndarray
        ``complex128 (K,)``.
    q : int

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``int8 (K', n)`` unique locations and ``complex128 (K',)`` values.
    """
    n = locations.shape[1]
    if locations.shape[0] == 0:
        return np.zeros((0, n), np.int8), np.zeros(0, np.complex128)
    loc = locations.astype(np.int64)
    allk = np.concatenate([loc, np.mod(-loc, q)])
    allv = np.concatenate([coefficients, np.conj(coefficients)]) / 2
    uniq, inv = np.unique(allk, axis=0, return_inverse=True)
    val = np.zeros(uniq.shape[0], np.complex128)
    np.add.at(val, inv.ravel(), allv)
    return uniq.astype(np.int8), val


def refit(U: np.ndarray, plan: SketchPlan, locations: np.ndarray, ridge: float = 1e-16) -> np.ndarray:
    """Least-squares coefficients of a fixed support on all training samples.

    Solves ``min_F sum_{c,j,(p,l)} |U[c, j, (p,l)] - sum_{k : bin_c(k) = j} F[k] s_k[(p,l)]|^2``, which by
    Parseval is the squared error on every training sample divided by ``q^b``. Each coefficient touches one
    bin per group, so the normal matrix is sparse (non-zero only for frequencies sharing a bin).

    Parameters
    ----------
    U : numpy.ndarray
        ``complex128 (C, q^b, P * (n + 1))`` transforms of the *unpeeled* mean-centred samples.
    plan : SketchPlan
    locations : numpy.ndarray
        ``int (K, n)`` unique frequencies; include ``0`` (the mean correction) and be closed under ``-k``
        so that the solution is conjugate-symmetric.
    ridge : float
        Relative Tikhonov term on the diagonal (numerical safety only).

    Returns
    -------
    numpy.ndarray
        ``complex128 (K,)``.
    """
    K = locations.shape[0]
    if K == 0:
        return np.zeros(0, np.complex128)
    C, B, PL = U.shape
    bins = bin_indices(locations, plan.M, plan.q)  # (C, K)
    sig = signatures(locations, plan.offsets, plan.q)  # (K, PL)
    # rows of the design: (group, bin) pairs that hold at least one frequency
    flat = (np.arange(C)[:, None] * B + bins).ravel()  # (C*K,)
    used, row_of = np.unique(flat, return_inverse=True)
    row_of = row_of.reshape(C, K)
    R = used.size
    rows = (row_of[:, :, None] * PL + np.arange(PL)[None, None, :]).ravel()  # (C*K*PL,)
    cols = np.broadcast_to(np.arange(K)[None, :, None], (C, K, PL)).ravel()
    vals = np.broadcast_to(sig[None, :, :], (C, K, PL)).ravel()
    A = sp.csr_matrix((vals, (rows, cols)), shape=(R * PL, K))
    y = U.reshape(C * B, PL)[used].ravel()
    AH = A.conj().T.tocsr()
    G = (AH @ A).tocsc()
    rhs = AH @ y
    G = G + sp.identity(K, format="csc") * (ridge * C * PL)
    return np.asarray(spla.spsolve(G, rhs), dtype=np.complex128).reshape(K)


def synthesize(plan: SketchPlan, locations: np.ndarray, coefficients: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The transforms a sparse spectrum produces (the right-hand side of the aliasing equation).

    Parameters
    ----------
    plan : SketchPlan
    locations : numpy.ndarray
        ``int (K, n)``.
    coefficients : numpy.ndarray
        ``complex128 (K,)``.
    shape : tuple
        ``(C, q^b, P * (n + 1))``, the shape of the measured transforms.

    Returns
    -------
    numpy.ndarray
        ``complex128`` of ``shape``.
    """
    out = np.zeros(shape, np.complex128)
    if locations.shape[0] == 0:
        return out
    bins = bin_indices(locations, plan.M, plan.q)
    contrib = coefficients[:, None] * signatures(locations, plan.offsets, plan.q)  # (K, PL)
    for c in range(shape[0]):
        np.add.at(out[c], bins[c], contrib)
    return out
