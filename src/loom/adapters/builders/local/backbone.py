"""Sparse co-occurrence -> PPMI -> seeded truncated SVD -> token embeddings, and pooling.

The context of a token depends on the objective:
- next-event: tokens of the entity's NEXT event (ordered, rows = now, columns = next);
- masked-field: the other tokens of the SAME event (what a masked field is predicted from);
- contrastive: tokens of nearby events of the same entity, weighted 1/distance (symmetric).
Counts are sparse products of the event-token incidence matrix (scipy.sparse), so memory
grows with the number of events, never with vocabulary squared.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

#: Dense SVD below this vocabulary size (exact, deterministic); seeded randomized SVD above.
DENSE_SVD_MAX = 1024


def incidence(tokens: Any, vocab_size: int) -> Any:
    """CSR (events x vocab) with one 1 per (event, field token)."""
    import numpy as np
    from scipy import sparse

    n, k = tokens.shape
    data = np.ones(n * k, dtype=np.float32)
    indptr = np.arange(0, n * k + 1, k, dtype=np.int64)
    return sparse.csr_matrix((data, tokens.ravel().astype(np.int32), indptr), shape=(n, vocab_size))


def cooccurrence(tokens: Any, entity: Any, vocab_size: int, objective: str, window: int) -> Any:
    """Sparse (vocab x vocab) float64 counts for `objective` over entity-sorted events."""
    import numpy as np
    from scipy import sparse

    if objective == "masked-field":
        e = incidence(tokens, vocab_size)
        c = (e.T @ e).tocsr()
        c.setdiag(0)
    elif objective == "next-event":
        same = np.flatnonzero(entity[1:] == entity[:-1])
        c = (incidence(tokens[same], vocab_size).T @ incidence(tokens[same + 1], vocab_size)).tocsr()
    elif objective == "contrastive":
        e = incidence(tokens, vocab_size)
        c = (e.T @ e).tocsr()
        c.setdiag(0)
        for d in range(1, max(1, window) + 1):
            same = np.flatnonzero(entity[d:] == entity[:-d])
            if same.size == 0:
                break
            pair = incidence(tokens[same], vocab_size).T @ incidence(tokens[same + d], vocab_size)
            c = c + (pair + pair.T) * (1.0 / d)
        c = c.tocsr()
    else:
        raise ValueError(f"unknown objective {objective!r}")
    c = sparse.csr_matrix(c, dtype=np.float64)
    c.eliminate_zeros()
    return c


def ppmi(counts: Any, alpha: float = 0.75) -> Any:
    """Positive PMI of a sparse count matrix, with context-distribution smoothing (alpha)."""
    import numpy as np
    from scipy import sparse

    c = counts.tocsr()
    total = float(c.data.sum())
    if total <= 0:
        return sparse.csr_matrix(c.shape, dtype=np.float64)
    row = np.asarray(c.sum(axis=1)).ravel()
    col = np.asarray(c.sum(axis=0)).ravel() ** alpha
    col_p = col / col.sum()
    rows = np.repeat(np.arange(c.shape[0]), np.diff(c.indptr))
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(c.data / total) - np.log(row[rows] / total) - np.log(col_p[c.indices])
    data = np.where(np.isfinite(pmi), np.maximum(pmi, 0.0), 0.0)
    out = sparse.csr_matrix((data, c.indices.copy(), c.indptr.copy()), shape=c.shape)
    out.eliminate_zeros()
    return out


def truncated_svd(m: Any, dim: int, seed: int) -> Any:
    """Token embeddings U_k * sqrt(S_k), L2-normalized per token; signs fixed (deterministic)."""
    import numpy as np

    n = min(m.shape)
    k = max(1, min(dim, n - 1))
    if m.shape[0] <= DENSE_SVD_MAX and m.shape[1] <= DENSE_SVD_MAX:
        u, s, _ = np.linalg.svd(m.toarray(), full_matrices=False)
        u, s = u[:, :k], s[:k]
    else:
        from sklearn.utils.extmath import randomized_svd

        u, s, _ = randomized_svd(m, n_components=k, n_iter=4, random_state=seed)
    # sign convention: the largest-magnitude entry of each component is positive
    signs = np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(u.shape[1])])
    signs[signs == 0] = 1.0
    w = (u * signs) * np.sqrt(s)
    norms = np.linalg.norm(w, axis=1, keepdims=True)
    w = np.divide(w, norms, out=np.zeros_like(w), where=norms > 0)
    if w.shape[1] < dim:  # tiny vocabularies: pad so the width is what the budget says
        w = np.hstack([w, np.zeros((w.shape[0], dim - w.shape[1]))])
    return w.astype(np.float32)


def fingerprint(vocab: list[str], embeddings: Any, meta: dict[str, Any]) -> str:
    """sha256 of the vocabulary, the settings and the embeddings (rounded: BLAS-order safe)."""
    import numpy as np

    h = hashlib.sha256()
    h.update(json.dumps({"vocab": vocab, "meta": meta}, sort_keys=True).encode())
    h.update(np.round(embeddings.astype(np.float64), 4).astype("<f4").tobytes())
    return h.hexdigest()


def pool(tokens: Any, entity: Any, n_entities: int, embeddings: Any, recent: int) -> Any:
    """Entity embeddings: [mean over all events | mean over the last `recent` events]."""
    import numpy as np
    from scipy import sparse

    n = tokens.shape[0]
    vocab = embeddings.shape[0]
    e = incidence(tokens, vocab)
    ends = np.searchsorted(entity, np.arange(n_entities), side="right")
    from_end = ends[entity] - np.arange(n) - 1
    parts = []
    for mask in (np.ones(n, dtype=bool), from_end < recent):
        idx = np.flatnonzero(mask)
        p = sparse.csr_matrix(
            (np.ones(idx.size, dtype=np.float32), (entity[idx], idx)), shape=(n_entities, n)
        )
        counts = (p @ e) @ embeddings
        sizes = np.maximum(np.bincount(entity[idx], minlength=n_entities), 1)[:, None]
        parts.append(np.asarray(counts) / (sizes * tokens.shape[1]))
    return np.hstack(parts).astype(np.float32)
