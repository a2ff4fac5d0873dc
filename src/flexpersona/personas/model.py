"""The persona model: a scikit-learn clusterer that assigns (new) households to personas with soft membership.

:class:`PersonaModel` wraps one of four clustering algorithms behind the scikit-learn estimator contract
(``fit``, ``predict``, ``predict_proba``, ``fit_predict``, ``random_state``):

``gmm``
    Gaussian mixture (``covariance_type``, ``n_init`` restarts); membership = mixture posterior.
``kmeans``
    k-means (``n_init`` restarts); membership = posterior of the equivalent equal-weight spherical Gaussian
    mixture with one shared variance (the within-cluster variance), whose arg-max is the nearest centre.
``ward``
    agglomerative clustering with Ward linkage; membership = posterior of a Gaussian per persona (mean,
    full covariance and weight of its members).
``hdbscan``
    HDBSCAN (the number of personas is found by the algorithm, ``n_personas`` is ignored); noise points
    and new households are assigned through the same per-persona Gaussian posterior, so every household
    gets a persona.

Personas are ordered by the centre of feature ``sort_feature`` (ascending, or descending with
``sort_descending``): with ``high_response_pct`` first, persona 0 is the one with the strongest peak reduction.
``labels_`` are the model's own assignments of the training rows (``predict`` of the training data), so
``fit(X).predict(X) == fit_predict(X)``.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import RobustScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from ..threads import single_threaded

log = logging.getLogger(__name__)

ALGORITHMS = ("gmm", "kmeans", "ward", "hdbscan")
SCALERS = ("robust", "standard", "none")
#: Ridge added to per-persona covariances (in scaled units) so that tiny personas stay invertible.
_REG_COVAR = 1e-3

class PersonaModel(ClusterMixin, BaseEstimator):
    """Cluster households on response features and assign personas with soft membership.

    Parameters
    ----------
    algorithm : {"gmm", "kmeans", "ward", "hdbscan"}
        Clustering algorithm.
    n_personas : int
        Number of personas (ignored by ``hdbscan``).
    covariance_type : {"full", "tied", "diag", "spherical"}
        Covariance of the Gaussian mixture (``gmm`` only).
    scaler : {"robust", "standard", "none"}
        Feature scaling before clustering: median/IQR (robust to outlying households), z-score, or none.
    n_init : int
        Restarts of k-means or the mixture; the best is kept.
    min_cluster_size : int or None
        HDBSCAN's minimum cluster size; ``None`` = max(5, 5 % of the households).
    sort_feature : int or None
        Column whose persona centres order the personas (``None`` keeps the algorithm's order).
    sort_descending : bool
        Order by that column's centre descending instead of ascending.
    random_state : int, RandomState or None
        Seed of the restarts.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Persona index (0-based, in the sorted order) of each training household.
    cluster_centers_ : ndarray of shape (n_personas_, n_features)
        Persona centres in the units of the input features (e.g. percent).
    n_personas_ : int
        Number of personas fitted (may differ from ``n_personas`` for ``hdbscan``).
    weights_ : ndarray of shape (n_personas_,)
        Prior share of each persona.
    n_features_in_ : int
        Number of features seen in ``fit``.
    """

    def __init__(
        self,
        algorithm: str = "gmm",
        n_personas: int = 4,
        *,
        covariance_type: str = "full",
        scaler: str = "robust",
        n_init: int = 5,
        min_cluster_size: int | None = None,
        sort_feature: int | None = 0,
        sort_descending: bool = False,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.algorithm = algorithm
        self.n_personas = n_personas
        self.covariance_type = covariance_type
        self.scaler = scaler
        self.n_init = n_init
        self.min_cluster_size = min_cluster_size
        self.sort_feature = sort_feature
        self.sort_descending = sort_descending
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------------
    @single_threaded
    def fit(self, X, y=None):
        """Fit the scaler and the clustering; set ``labels_``, ``cluster_centers_`` and the soft model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Response features (e.g. High and Low response [%]).
        y : ignored

        Returns
        -------
        self
        """
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        if self.algorithm not in ALGORITHMS:
            msg = f"algorithm must be one of {ALGORITHMS}, got {self.algorithm!r}"
            raise ValueError(msg)
        if self.scaler not in SCALERS:
            msg = f"scaler must be one of {SCALERS}, got {self.scaler!r}"
            raise ValueError(msg)
        n = X.shape[0]
        k = int(self.n_personas)
        if self.algorithm != "hdbscan" and (k < 1 or k > n):
            msg = f"n_personas must be between 1 and n_samples = {n}, got {k}"
            raise ValueError(msg)
        # Passed through unchanged, so PersonaModel(random_state=42) reproduces KMeans(random_state=42) exactly.
        seed = self.random_state

        self.scaler_ = self._make_scaler().fit(X)
        Z = self.scaler_.transform(X)
        self._fit_scaled(Z, k, seed)
        self._sort_personas()
        self.labels_ = self.predict(X)
        self.cluster_centers_ = self._centres_in_input_units()
        return self

    def _make_scaler(self):
        if self.scaler == "robust":
            return RobustScaler()
        if self.scaler == "standard":
            return StandardScaler()
        return StandardScaler(with_mean=False, with_std=False)

    def _fit_scaled(self, Z: np.ndarray, k: int, seed) -> None:
        algo = self.algorithm
        if algo == "gmm":
            gm = GaussianMixture(
                n_components=k, covariance_type=self.covariance_type, n_init=self.n_init, random_state=seed
            ).fit(Z)
            self._kind = "gmm"
            self.mixture_ = gm
            self.means_ = gm.means_.copy()
            self.weights_ = gm.weights_.copy()
            return
        if algo == "kmeans":
            km = KMeans(n_clusters=k, n_init=self.n_init, random_state=seed).fit(Z)
            self._kind = "spherical"
            self.means_ = km.cluster_centers_.copy()
            self.weights_ = np.full(k, 1.0 / k)
            var = km.inertia_ / (Z.shape[0] * Z.shape[1])
            self.variance_ = float(max(var, 1e-12))
            return
        if algo == "ward":
            if k > 1:
                labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(Z)
            else:
                labels = np.zeros(len(Z), int)
        else:
            mcs = self.min_cluster_size or max(5, int(0.05 * len(Z)))
            mcs = max(2, min(mcs, len(Z)))
            labels = HDBSCAN(min_cluster_size=mcs, copy=True).fit_predict(Z)
            if (labels >= 0).sum() == 0:
                labels = np.zeros(len(Z), int)
        self._kind = "gaussian"
        self._fit_gaussians(Z, labels)

    def _fit_gaussians(self, Z: np.ndarray, labels: np.ndarray) -> None:
        """Per-persona Gaussian (mean, full covariance + ridge, weight) from hard labels (noise = -1 left out)."""
        ids = np.unique(labels[labels >= 0])
        p = Z.shape[1]
        means, covs, weights = [], [], []
        pooled = np.atleast_2d(np.cov(Z, rowvar=False)) if len(Z) > 1 else np.eye(p)
        for c in ids:
            members = Z[labels == c]
            means.append(members.mean(axis=0))
            cov = np.atleast_2d(np.cov(members, rowvar=False)) if len(members) > p else pooled.copy()
            covs.append(cov + _REG_COVAR * np.eye(p))
            weights.append(len(members))
        self.means_ = np.asarray(means)
        self.covariances_ = np.asarray(covs)
        w = np.asarray(weights, dtype=float)
        self.weights_ = w / w.sum()

    def _sort_personas(self) -> None:
        k = len(self.means_)
        if self.sort_feature is None or k < 2:
            self._order = np.arange(k)
        else:
            key = self.means_[:, int(self.sort_feature)]
            self._order = np.argsort(-key if self.sort_descending else key, kind="stable")
        self.n_personas_ = k
        self.weights_ = self.weights_[self._order]

    def _centres_in_input_units(self) -> np.ndarray:
        return self.scaler_.inverse_transform(self.means_[self._order])

    # -- prediction ------------------------------------------------------------------------------
    def _log_joint(self, Z: np.ndarray) -> np.ndarray:
        """log p(x, persona) in the algorithm's order, shape (n, k)."""
        if self._kind == "gmm":
            return np.log(np.clip(self.mixture_.predict_proba(Z), 1e-300, None))
        if self._kind == "spherical":
            d2 = ((Z[:, None, :] - self.means_[None, :, :]) ** 2).sum(axis=2)
            return -0.5 * d2 / self.variance_
        out = np.empty((Z.shape[0], len(self.means_)))
        for j, (mu, cov, w) in enumerate(zip(self.means_, self.covariances_, self.weights_[np.argsort(self._order)])):
            diff = Z - mu
            sign, logdet = np.linalg.slogdet(cov)
            sol = np.linalg.solve(cov, diff.T).T
            out[:, j] = np.log(w) - 0.5 * (logdet + (diff * sol).sum(axis=1))
        return out

    def predict_proba(self, X) -> np.ndarray:
        """Soft membership of each household in each persona (rows sum to 1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_personas_)
            Posterior probability of each persona, in persona order.
        """
        check_is_fitted(self, "scaler_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        lj = self._log_joint(self.scaler_.transform(X))[:, self._order]
        return np.exp(lj - logsumexp(lj, axis=1, keepdims=True))

    def predict(self, X) -> np.ndarray:
        """Persona index (0-based, sorted order) of each household: the persona of highest membership.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), int
        """
        return np.argmax(self.predict_proba(X), axis=1).astype(np.int64)
