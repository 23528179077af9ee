"""The text classifier: hashed word and character n-grams, TF-IDF, logistic regression.

Features are computed for a whole batch at once with numpy: every n-gram's 64-bit
polynomial hash comes from prefix sums over the batch's code points, so no Python loop
runs per n-gram (scikit-learn's char analyzers cost ~200 µs per chat line here; this
costs a few). The 64-bit hash itself is the vocabulary key, so there are no bucket
collisions; the fitted vocabulary keeps keys seen in at least `min_df` training texts.

Every training text is also added diacritic-stripped, so a message typed without
accents meets the same weights.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final, NamedTuple, Self

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from classifiers.normalize import fold_diacritics, normalize

_U64 = np.uint64
_BASE = 0x100000001B3  # odd, hence invertible modulo 2**64
_BASE_INV = pow(_BASE, -1, 2**64)
_MIX1 = np.uint64(0xFF51AFD7ED558CCD)
_MIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_PAIR = np.uint64(0x9E3779B97F4A7C15)
_SEPARATOR = "\n"  # not a word character, so no word runs across two documents


class _Powers:
    """B**k and B**-k modulo 2**64, grown on demand and shared by all instances."""

    def __init__(self) -> None:
        self.up = np.ones(1, dtype=_U64)
        self.down = np.ones(1, dtype=_U64)

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.up) < n:
            size = max(n, 2 * len(self.up))
            with np.errstate(over="ignore"):
                self.up = np.cumprod(np.full(size, _BASE, dtype=_U64), dtype=_U64)
                self.up = np.concatenate(([_U64(1)], self.up[:-1]))
                self.down = np.cumprod(np.full(size, _BASE_INV, dtype=_U64), dtype=_U64)
                self.down = np.concatenate(([_U64(1)], self.down[:-1]))
        return self.up[:n], self.down[:n]


_POWERS = _Powers()


def _word_table() -> np.ndarray:
    table = np.zeros(0x10000, dtype=bool)
    for cp in range(0x10000):
        ch = chr(cp)
        table[cp] = ch.isalnum() or ch == "_"
    table[0xFFFF] = False  # code points past the BMP map here: emoji, never words
    return table


_IS_WORD = _word_table()


def _mix(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: spreads a polynomial hash over all bits."""
    with np.errstate(over="ignore"):
        h = h ^ (h >> _U64(33))
        h = h * _MIX1
        h = h ^ (h >> _U64(33))
        h = h * _MIX2
        return h ^ (h >> _U64(33))


class _KeyTable:
    """Open-addressing hash table from 64-bit keys to column numbers, probed with numpy.

    `np.searchsorted` of millions of unsorted keys into a sorted vocabulary is cache
    hostile; the keys are already well mixed, so their top bits make a good slot.
    """

    def __init__(self, vocab: np.ndarray) -> None:
        bits = max(4, int(np.ceil(np.log2(max(1, len(vocab)) * 4))))  # load factor <= 1/4
        self.mask = (1 << bits) - 1
        self.shift = _U64(64 - bits)
        self.keys = np.zeros(1 << bits, dtype=_U64)
        self.cols = np.full(1 << bits, -1, dtype=np.int64)
        slots = (vocab >> self.shift).astype(np.int64)
        pending = np.arange(len(vocab), dtype=np.int64)
        placed = np.zeros(len(vocab), dtype=bool)
        while len(pending):
            slot = slots[pending]
            empty = self.cols[slot] == -1
            taken, first = np.unique(slot[empty], return_index=True)
            winners = pending[empty][first]
            self.keys[taken] = vocab[winners]
            self.cols[taken] = winners
            placed[winners] = True
            pending = pending[~placed[pending]]
            slots[pending] = (slots[pending] + 1) & self.mask

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Column of each key, -1 where the key is not in the vocabulary."""
        out = np.full(len(keys), -1, dtype=np.int64)
        slot = (keys >> self.shift).astype(np.int64)
        idx = np.arange(len(keys), dtype=np.int64)
        while len(idx):
            s = slot[idx]
            col = self.cols[s]
            occupied = col >= 0
            hit = occupied & (self.keys[s] == keys[idx])
            out[idx[hit]] = col[hit]
            go_on = occupied & ~hit
            idx = idx[go_on]
            slot[idx] = (s[go_on] + 1) & self.mask
        return out


class _Batch:
    """Code points of a batch of documents joined by a separator, with prefix hashes."""

    def __init__(self, docs: Sequence[str], pad: bool) -> None:
        parts = [f" {d} " for d in docs] if pad else list(docs)
        joined = _SEPARATOR.join(parts)
        self.codes = np.frombuffer(
            joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32
        ).astype(_U64)
        lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
        self.starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])).astype(np.int64)
        self.ends = self.starts + lengths
        n = len(self.codes)
        up, down = _POWERS.get(n + 1)
        self.up = up
        with np.errstate(over="ignore"):
            prefix = up[:n] * np.cumsum(self.codes * down[:n], dtype=_U64)
        self.prefix = np.concatenate(([_U64(0)], prefix))
        self.n_docs = len(parts)
        self.doc_pos = np.repeat(np.arange(len(parts), dtype=np.int64), lengths + 1)[:n]

    def substring_hashes(self, start: np.ndarray, length: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return self.prefix[start + length] - self.prefix[start] * self.up[length]

    def doc_of(self, positions: np.ndarray) -> np.ndarray:
        return np.asarray(self.doc_pos[positions])


class _Grams(NamedTuple):
    """N-gram occurrences: document, hashed key, and [start, end) in the batch's code points."""

    rows: np.ndarray
    keys: np.ndarray
    start: np.ndarray
    end: np.ndarray


def _char_ngrams(batch: _Batch, lo: int, hi: int, salt: int) -> _Grams:
    positions = np.arange(len(batch.codes), dtype=np.int64)
    room = batch.ends[batch.doc_pos] - positions  # characters left in the document from here
    sizes = np.arange(lo, hi + 1, dtype=np.int64)
    # All sizes at once (one pass of numpy calls, not one per size: single messages are
    # dominated by per-call overhead).
    start, size_idx = np.nonzero(room[:, None] >= sizes[None, :])
    length = sizes[size_idx]
    h = batch.substring_hashes(start, length)
    with np.errstate(over="ignore"):
        keys = _mix(h ^ (length.astype(_U64) + _U64(salt * 131)))
    return _Grams(batch.doc_pos[start], keys, start, start + length)


def _word_ngrams(batch: _Batch, max_n: int, salt: int) -> _Grams:
    is_word = _IS_WORD[np.minimum(batch.codes, _U64(0xFFFF)).astype(np.int64)]
    edges = np.diff(np.concatenate(([False], is_word, [False])).astype(np.int8))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    doc = batch.doc_of(starts)
    h = _mix(batch.substring_hashes(starts, ends - starts) ^ _U64(salt * 131))
    rows, keys, first, last = [doc], [h], [starts], [ends]
    prev = h
    valid = np.ones(len(h), dtype=bool)
    for n in range(2, max_n + 1):
        if len(prev) < 2:
            break
        # An n-gram is valid when its last two words share a document and its prefix was.
        valid = valid[:-1] & (doc[n - 1 :] == doc[n - 2 : -1])
        with np.errstate(over="ignore"):
            prev = _mix(prev[:-1] * _PAIR + h[n - 1 :] + _U64(n))
        rows.append(doc[n - 1 :][valid])
        keys.append(prev[valid])
        first.append(starts[: len(starts) - n + 1][valid])
        last.append(ends[n - 1 :][valid])
    return _Grams(*(np.concatenate(parts) for parts in (rows, keys, first, last)))


def scores_to_proba(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax of scores / temperature; a single column is the binary logit of class 1."""
    scores = scores / temperature
    if scores.shape[1] == 1:
        positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
        return np.column_stack([1.0 - positive, positive])
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True))


# Settings of the learner alone: models differing only in these can share features.
LEARNER_PARAMS: Final = frozenset({"C", "nb_scaling", "blend", "class_weight", "max_iter"})

_SHARED_VIEWS: ContextVar[dict[str, tuple[str, str]] | None] = ContextVar(
    "_SHARED_VIEWS", default=None
)


@contextmanager
def shared_views() -> Iterator[None]:
    """While training fits several models on the same texts, normalise each text once.

    Scoped to the block, so a running bot keeps no messages in memory.
    """
    token = _SHARED_VIEWS.set({})
    try:
        yield
    finally:
        _SHARED_VIEWS.reset(token)


class TextClassifier(ClassifierMixin, BaseEstimator):
    """Multi-class text classifier for any set of string labels.

    Parameters
    ----------
    C: inverse L2 regularisation of the logistic regression.
    word_ngram_max: word n-grams 1..word_ngram_max on the normalised and the folded text.
    char_ngram_range: character n-grams on the folded text (padded with spaces).
    min_df: keep features seen in at least this many training texts.
    augment_folded: also train on each text with its diacritics stripped.
    class_weight: passed to LogisticRegression ("balanced" or None).
    max_chars: characters of each normalised text used for features (bounds latency).
    max_iter: optimiser iterations.
    nb_scaling: one-vs-rest logistic regression on features scaled by their naive-Bayes
        log-count ratio (NB-SVM) instead of a multinomial logistic regression.
    blend: with `nb_scaling`, average its scores with a plain multinomial logistic
        regression's on the same features: still one linear model (weights averaged),
        better than either alone across the chat sets and VFND (bench_models.py).

    Defaults were chosen by `bench/bench_models.py`: trained on the seed corpus, measured
    on held-out sets whose authors never saw it (as written and diacritic-stripped, with
    calibration error) and on VFND, against the plain TF-IDF + LR baseline. Diacritics are
    handled by the folded views, so training on folded copies (`augment_folded`) is off.
    """

    _key_table: _KeyTable | None
    _block_index: np.ndarray | None
    _weights: np.ndarray | None
    coef_: np.ndarray
    intercept_: np.ndarray

    def __init__(
        self,
        C: float = 30.0,
        word_ngram_max: int = 2,
        char_ngram_range: tuple[int, int] = (1, 4),
        min_df: int = 2,
        augment_folded: bool = False,
        class_weight: str | None = "balanced",
        max_chars: int = 5000,
        max_iter: int = 2000,
        nb_scaling: bool = True,
        blend: bool = True,
    ) -> None:
        self.C = C
        self.word_ngram_max = word_ngram_max
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.augment_folded = augment_folded
        self.class_weight = class_weight
        self.max_chars = max_chars
        self.max_iter = max_iter
        self.nb_scaling = nb_scaling
        self.blend = blend

    # --- features ---------------------------------------------------------------------

    def _views(self, X: Sequence[str]) -> tuple[list[str], list[str]]:
        texts: list[str] = []
        folded: list[str] = []
        cache = _SHARED_VIEWS.get()
        for raw in X:
            raw = raw if isinstance(raw, str) else str(raw)
            views = cache.get(raw) if cache is not None else None
            if views is None:
                norm = normalize(raw)
                views = (norm.text, norm.folded)
                if cache is not None:
                    cache[raw] = views
            texts.append(views[0][: self.max_chars])
            folded.append(views[1][: self.max_chars])
        return texts, folded

    def _grams(self, texts: list[str], folded: list[str]) -> list[_Grams]:
        """The three blocks of n-grams: words of the text, words and characters of its folded
        view (padded with a space at each end)."""
        lo, hi = self.char_ngram_range
        text_batch = _Batch(texts, pad=False)
        folded_batch = _Batch(folded, pad=True)
        return [
            _word_ngrams(text_batch, self.word_ngram_max, salt=1),
            _word_ngrams(folded_batch, self.word_ngram_max, salt=2),
            _char_ngrams(folded_batch, lo, hi, salt=3),
        ]

    def _raw_blocks(
        self, texts: list[str], folded: list[str]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(g.rows, g.keys) for g in self._grams(texts, folded)]

    def _values(
        self, blocks: list[tuple[np.ndarray, np.ndarray]], n_docs: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, value): sublinear TF-IDF, L2-normalised per row within each block."""
        rows = np.concatenate([r for r, _ in blocks])
        col = self._table().lookup(np.concatenate([k for _, k in blocks]))
        known = col >= 0
        n_cols = len(self.vocabulary_)
        pair, counts = np.unique(rows[known] * n_cols + col[known], return_counts=True)
        row_u, col_u = np.divmod(pair, n_cols)
        values = (1.0 + np.log(counts)) * self.idf_[col_u]
        # Blocks are normalised separately so the many character n-grams do not drown
        # the word n-grams.
        n_blocks = len(self.block_sizes_)
        group = row_u * n_blocks + self._block_of()[col_u]
        norms = np.sqrt(np.bincount(group, weights=values * values, minlength=n_docs * n_blocks))
        values /= norms[group]
        return row_u, col_u, values

    def _table(self) -> _KeyTable:
        table: _KeyTable | None = getattr(self, "_key_table", None)
        if table is None:
            table = _KeyTable(self.vocabulary_)
            self._key_table = table
        return table

    def _block_of(self) -> np.ndarray:
        block_of: np.ndarray | None = getattr(self, "_block_index", None)
        if block_of is None:
            block_of = np.repeat(np.arange(len(self.block_sizes_)), self.block_sizes_)
            self._block_index = block_of
        return block_of

    def __getstate__(self) -> dict[str, Any]:
        # Lookup table, block index and transposed weights are derived: never saved.
        state: dict[str, Any] = super().__getstate__()
        for derived in ("_key_table", "_block_index", "_weights"):
            state.pop(derived, None)
        return state

    def _matrix(self, blocks: list[tuple[np.ndarray, np.ndarray]], n_docs: int) -> sp.csr_matrix:
        row, col, values = self._values(blocks, n_docs)
        return sp.csr_matrix((values, (row, col)), shape=(n_docs, len(self.vocabulary_)))

    def transform(self, X: Sequence[str]) -> sp.csr_matrix:
        """The TF-IDF feature matrix the logistic regression sees."""
        texts, folded = self._views(X)
        return self._matrix(self._raw_blocks(texts, folded), len(texts))

    def _scores(self, X: Sequence[str]) -> np.ndarray:
        """Linear scores; one message avoids scipy.sparse, whose per-call overhead dominated."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("this TextClassifier is not fitted yet: call fit() first")
        texts, folded = self._views(X)
        n_docs = len(texts)
        row, col, values = self._values(self._raw_blocks(texts, folded), n_docs)
        weights: np.ndarray | None = getattr(self, "_weights", None)
        if weights is None:
            # Row per feature: one message gathers a few hundred rows, contiguously.
            weights = np.ascontiguousarray(self.coef_.T)
            self._weights = weights
        if n_docs == 1:
            contribution = weights[col] * values[:, None]
            return contribution.sum(axis=0, keepdims=True) + self.intercept_
        # Batches: a CSR product in C, without a (pairs x classes) temporary. The pairs
        # come out of np.unique sorted by row, so the CSR arrays are built directly.
        indptr = np.concatenate(([0], np.cumsum(np.bincount(row, minlength=n_docs))))
        features = sp.csr_matrix((values, col, indptr), shape=(n_docs, len(self.vocabulary_)))
        scores = np.asarray(features @ weights) + self.intercept_
        return scores

    # --- estimator API ----------------------------------------------------------------

    def fit(self, X: Sequence[str], y: Sequence[str]) -> Self:
        """Fit on texts and string labels (at least two distinct labels)."""
        features, labels, classes = self.fit_features(X, y)
        return self.fit_learner(features, labels, classes)

    def fit_features(
        self, X: Sequence[str], y: Sequence[str]
    ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """Learn the vocabulary and IDF; the training matrix, labels and classes for
        `fit_learner` (training compares learners on one featurisation this way)."""
        labels = np.asarray([str(label) for label in y], dtype=str)
        if len(labels) != len(X):
            raise ValueError(f"{len(X)} texts but {len(labels)} labels")
        classes = np.unique(labels)
        if len(classes) < 2:
            raise ValueError(f"need at least two classes, got {classes.tolist()}")
        texts, folded = self._views(X)
        if self.augment_folded:
            texts, folded = texts + folded, folded + folded
            labels = np.concatenate([labels, labels])
        n_docs = len(texts)
        blocks = self._raw_blocks(texts, folded)
        vocabularies: list[np.ndarray] = []
        idfs: list[np.ndarray] = []
        for rows, keys in blocks:
            # Document frequency: count each (document, key) pair once.
            with np.errstate(over="ignore"):
                pair = keys ^ _mix(rows.astype(_U64) + _PAIR)
            _, first = np.unique(pair, return_index=True)
            uniq, df = np.unique(keys[first], return_counts=True)
            keep = df >= self.min_df
            vocabularies.append(uniq[keep])
            idfs.append(np.log((1.0 + n_docs) / (1.0 + df[keep])) + 1.0)
        self.vocabulary_ = np.concatenate(vocabularies)
        self.idf_ = np.concatenate(idfs)
        self.block_sizes_ = [len(v) for v in vocabularies]
        self._key_table = None
        self._block_index = None
        return self._matrix(blocks, n_docs), labels, classes

    def sharing_features(self, **learner: Any) -> TextClassifier:
        """A copy with this one's fitted featurisation and other learner settings."""
        if set(learner) - LEARNER_PARAMS:
            raise ValueError(f"not learner settings: {sorted(set(learner) - LEARNER_PARAMS)}")
        other = TextClassifier(**{**self.get_params(), **learner})
        other.vocabulary_, other.idf_ = self.vocabulary_, self.idf_
        other.block_sizes_ = self.block_sizes_
        other._key_table, other._block_index = self._key_table, self._block_index
        return other

    def fit_learner(self, features: sp.csr_matrix, labels: np.ndarray, classes: np.ndarray) -> Self:
        # L-BFGS on sparse features only does vector BLAS calls: extra BLAS threads add
        # nothing but spin-waiting, which made fits 10-100x slower on a busy 2-core box.
        with threadpool_limits(limits=1, user_api="blas"):
            if self.nb_scaling:
                self._fit_nb_logistic(features, labels, classes)
            else:
                self._fit_logistic(features, labels)
            if self.blend:
                nb_coef, nb_intercept = self.coef_, self.intercept_
                self._fit_logistic(features, labels)
                self.coef_ = (self.coef_ + nb_coef) / 2
                self.intercept_ = (self.intercept_ + nb_intercept) / 2
        self._weights = None
        self.n_features_ = int(features.shape[1])
        self.temperature_ = 1.0
        return self

    def _fit_logistic(self, features: sp.csr_matrix, labels: np.ndarray) -> None:
        lr = LogisticRegression(
            C=self.C, class_weight=self.class_weight, max_iter=self.max_iter, solver="lbfgs"
        )
        lr.fit(features, labels)
        self.classes_ = np.asarray(lr.classes_, dtype=str)
        self.coef_ = np.asarray(lr.coef_, dtype=np.float64)
        self.intercept_ = np.asarray(lr.intercept_, dtype=np.float64)

    def _fit_nb_logistic(
        self, features: sp.csr_matrix, labels: np.ndarray, classes: np.ndarray
    ) -> None:
        """One-vs-rest logistic regression on features scaled by their naive-Bayes
        log-count ratio (Wang & Manning's NB-SVM, with a logistic loss).

        The ratio r_c = log((p_c / |p_c|) / (q_c / |q_c|)) of a feature's mass in class c
        and outside it; the scaled model's weights fold back into plain weights w_c * r_c,
        so prediction stays one sparse product.
        """
        alpha = 1.0
        binary = features.copy()
        binary.data = np.ones_like(binary.data)
        # Two classes are one problem: the second class against the first.
        positives = classes[1:] if len(classes) == 2 else classes
        coefs, intercepts = [], []
        for label in positives:
            inside = labels == label
            p = alpha + np.asarray(binary[inside].sum(axis=0)).ravel()
            q = alpha + np.asarray(binary[~inside].sum(axis=0)).ravel()
            r = np.log((p / p.sum()) / (q / q.sum()))
            lr = LogisticRegression(
                C=self.C, class_weight=self.class_weight, max_iter=self.max_iter, solver="lbfgs"
            )
            lr.fit(features @ sp.diags(r), inside.astype(int))
            coefs.append(lr.coef_[0] * r)
            intercepts.append(lr.intercept_[0])
        self.classes_ = np.asarray(classes, dtype=str)
        # Two classes: one column of scores, as scikit-learn's binary models give.
        self.coef_ = np.asarray(coefs, dtype=np.float64)
        self.intercept_ = np.asarray(intercepts, dtype=np.float64)

    def decision_function(self, X: Sequence[str]) -> np.ndarray:
        """Raw linear scores (one column for two classes, as scikit-learn does)."""
        return self._scores(X)

    def word_contributions(self, words: Sequence[str], label: str) -> np.ndarray | None:
        """Each word's share of `label`'s log-odds for the text `" ".join(words)`: the sum of
        the contributions (TF-IDF value times the label's weight against the others') of
        every n-gram the word takes part in, as leaving the word out would remove them.

        First order: the change of each block's norm without the word is ignored, which
        keeps an explanation at one featurisation instead of one per word. None when the
        words do not fold character for character (offsets would not line up).
        """
        classes = [str(c) for c in self.classes_]
        if label not in classes or not words:
            return None
        text = " ".join(words)
        folded = fold_diacritics(text)
        if len(folded) != len(text) or len(text) > self.max_chars:
            return None
        grams = self._grams([text], [folded])
        # The folded view is padded with one space in front: its offsets move back by one.
        start = np.concatenate([g.start - shift for g, shift in zip(grams, (0, 1, 1), strict=True)])
        end = np.concatenate([g.end - shift for g, shift in zip(grams, (0, 1, 1), strict=True)])
        col = self._table().lookup(np.concatenate([g.keys for g in grams]))
        known = col >= 0
        start, end, col = start[known], end[known], col[known]
        _, cols, values = self._values([(g.rows, g.keys) for g in grams], 1)
        temperature = float(getattr(self, "temperature_", 1.0))
        coef = self.coef_[:, cols]  # only the text's features: the rest contribute nothing
        if len(coef) == 1:  # binary: one column, the second class's logit
            weights = coef[0] * (1.0 if classes.index(label) == 1 else -1.0)
        else:
            # Log-odds of `label` against the others: d/dz of z_c - logsumexp(z_k, k != c).
            scores = (coef @ values + self.intercept_) / temperature
            c = classes.index(label)
            others = np.delete(np.arange(len(classes)), c)
            q = np.exp(scores[others] - scores[others].max())
            weights = coef[c] - (q / q.sum()) @ coef[others]
        per_feature = values * weights / temperature
        # A feature seen k times in the text: each occurrence carries a k-th of it.
        at = np.searchsorted(cols, col)
        share = per_feature[at] / np.bincount(at, minlength=len(cols))[at]
        # Words are joined by single spaces: word i spans [bounds[i], bounds[i] + len).
        lengths = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
        bounds = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
        first = np.searchsorted(bounds + lengths, start, side="right")
        last = np.searchsorted(bounds, end, side="left") - 1
        touching = first <= last  # an n-gram of spaces alone belongs to no word
        first, share = first[touching], share[touching]
        spans = last[touching] - first + 1
        # Each n-gram's share goes to every word it touches, one by one. (A running sum of
        # +share at its first word and -share after its last would leave rounding residue,
        # about 1e-16, on words no n-gram touches, which must be credited with exactly 0.)
        offsets = np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans)
        totals = np.zeros(len(words))
        np.add.at(totals, np.repeat(first, spans) + offsets, np.repeat(share, spans))
        return totals

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Probabilities, one column per entry of `classes_`."""
        if len(X) == 0:
            return np.zeros((0, len(self.classes_)))
        return scores_to_proba(self.decision_function(X), getattr(self, "temperature_", 1.0))

    def calibrate(self, scores: np.ndarray, labels: Sequence[str]) -> float:
        """Fit `temperature_` on held-aside scores (e.g. out-of-fold) by minimum log-loss.

        Class-balanced, regularised logistic regression is under-confident; one scalar
        temperature fixes most of that without changing any prediction's ranking.
        """
        index = {str(c): i for i, c in enumerate(self.classes_)}
        y = np.asarray([index[str(label)] for label in labels])
        best, best_loss = 1.0, np.inf
        for temperature in np.geomspace(0.05, 5.0, 121):
            probs = scores_to_proba(scores, float(temperature))
            loss = -np.mean(np.log(np.maximum(probs[np.arange(len(y)), y], 1e-12)))
            if loss < best_loss:
                best, best_loss = float(temperature), loss
        self.temperature_ = best
        return best

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
