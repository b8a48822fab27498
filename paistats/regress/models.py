"""Regressions of accuracy change on distribution shift (statsmodels' formula API)."""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from paistats._deprecate import renamed_keywords, warn_renamed
from paistats.errors import InferenceError, shown
from paistats.vocabulary import PRUNER, SEED, SPARSITY, Columns

RESPONSE = Columns.DELTA_ACCURACY
SHIFT_TERMS = ("wasserstein_rel_init", "wasserstein_rel_trained")


@dataclass
class RegressionResult:
    """A fitted regression and its tidy coefficient table.

    Attributes
    ----------
    result : statsmodels results object
        The fitted ``RegressionResults`` (OLS) or ``MixedLMResults`` (``.summary()``,
        ``.get_prediction()``, …).
    coefficients : pandas.DataFrame
        One row per fixed-effect term: ``term``, ``estimate``, ``std_error``, ``statistic``,
        ``pvalue``, ``ci_low``, ``ci_high`` (at ``1 − alpha``).
    formula : str
        The patsy formula fitted.
    kind : {"OLS", "MixedLM"}
        Which model was fitted (``.model``, its old name, still reads it with a FutureWarning).
    cov_type : str
        How the standard errors were computed (``"cluster(seed), CR3 jackknife"``, …).
    groups : str or None
        The column whose labels cluster the rows (OLS) or get a random intercept (MixedLM); None:
        naive errors.
    n_obs, n_groups : int
        Rows used and distinct groups among them.
    notes : tuple of str
        statsmodels' warnings during the fit (e.g. a random-effect variance on the boundary, 0).
    n_dropped : int
        Rows of the table left out because a column of the formula is NaN there.
    """

    result: object
    coefficients: pd.DataFrame
    formula: str
    kind: str
    cov_type: str
    groups: str | None
    n_obs: int
    n_groups: int
    notes: tuple[str, ...] = ()
    n_dropped: int = 0

    @property
    def model(self) -> str:
        """Deprecated: the model's name is :attr:`kind` (the fitted results are :attr:`result`)."""
        warn_renamed("RegressionResult.model", "RegressionResult.kind", stacklevel=2)
        return self.kind


def default_formula(table: pd.DataFrame) -> str:
    """``delta_accuracy ~ wasserstein_rel_init + wasserstein_rel_trained`` plus fixed effects for
    pruner, sparsity, arch and dataset when they take more than one value.

    A general starting formula, not an answer: it pools every variant in the table (shuffle, reinit
    and invert, disconnected runs included) with no variant term, and puts trained shift (an outcome
    of training) beside init shift. For the immunity question use :func:`paistats.regress.immunity`;
    for invert, :func:`paistats.regress.invert_cost`.

    Parameters
    ----------
    table : DataFrame
        :func:`paistats.shift_table` output.

    Returns
    -------
    str
        A patsy formula.
    """
    terms = [t for t in SHIFT_TERMS if t in table.columns]
    if not terms:
        raise InferenceError(f"no default shift column ({', '.join(SHIFT_TERMS)}) in the table; pass a formula")
    for factor in (PRUNER, SPARSITY, "arch", "dataset"):
        if factor in table.columns and table[factor].nunique() > 1:
            terms.append(f"C({factor})")
    return f"{RESPONSE} ~ " + " + ".join(terms)


def _tidy(params, bse, stat, pvalues, ci, terms) -> pd.DataFrame:
    return pd.DataFrame({"term": terms, "estimate": params[terms].to_numpy(), "std_error": bse[terms].to_numpy(),
                         "statistic": stat[terms].to_numpy(), "pvalue": pvalues[terms].to_numpy(),
                         "ci_low": ci.loc[terms, 0].to_numpy(), "ci_high": ci.loc[terms, 1].to_numpy()})


def _check(table: pd.DataFrame, group: str | None) -> pd.DataFrame:
    """The table, if it is a non-empty DataFrame holding the ``group`` column."""
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise InferenceError("regression needs a non-empty DataFrame (from paistats.shift_table)")
    if group is not None and group not in table.columns:
        raise InferenceError(f"grouping column {group!r} is not in the table (columns: "
                             f"{', '.join(map(str, table.columns))}); pass groups=<one of them>")
    return table


def _groups(table: pd.DataFrame, rows, group: str) -> np.ndarray:
    """Integer cluster codes of the rows a model uses; NaN labels and a single group are refused."""
    labels = table.loc[rows, group]
    if labels.isna().any():
        raise InferenceError(f"{int(labels.isna().sum())} row(s) have no {group!r} label (NaN); drop or label those "
                             "rows before fitting")
    codes = pd.factorize(labels)[0]
    if np.unique(codes).size < 2:
        raise InferenceError(f"only {np.unique(codes).size} {group} group(s): grouping needs at least 2 "
                             "(build more seeds)")
    return codes


def _design_ok(model, formula: str) -> None:
    exog = model.exog
    if exog.shape[0] == 0:
        raise InferenceError(f"no complete row for formula {formula!r} (every row has a NaN in its columns)")
    if np.linalg.matrix_rank(exog) < exog.shape[1]:
        const = [n for n, col in zip(model.exog_names, exog.T) if n != "Intercept" and np.ptp(col) == 0]
        what = f"constant regressor(s) {const}" if const else "collinear regressors"
        raise InferenceError(f"formula {formula!r} has {what}; drop them from the formula")
    if np.ptp(model.endog) == 0:
        raise InferenceError(f"the response of {formula!r} is constant; nothing to explain")


def _model(fn, formula, table, **kw):
    try:
        return fn(formula, table, **kw)
    except Exception as e:  # patsy's errors are multi-line
        msg = " ".join(str(e).split())
        raise InferenceError(f"formula {formula!r} does not fit the table: {msg[:200]}") from None


def _used_rows(formula: str, table: pd.DataFrame):
    """(OLS model, row labels it uses): rows with a NaN in any column of the formula are dropped."""
    empty = [c for c in table.columns if isinstance(c, str) and re.search(rf"(?<![\w.]){re.escape(c)}(?![\w.])", formula)
             and table[c].isna().all()]
    if empty:
        raise InferenceError(f"no complete row for formula {formula!r}: column(s) {empty} are NaN in every row")
    model = _model(smf.ols, formula, table)
    return model, model.data.row_labels


def cluster_jackknife(exog: np.ndarray, endog: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-cluster-out (CR3 / CV3) covariance of OLS coefficients.

    ``V = (G − 1) / G · Σ_g (β̂₍₋g₎ − β̂)(β̂₍₋g₎ − β̂)ᵀ`` where ``β̂₍₋g₎`` is the OLS fit without cluster
    ``g`` (MacKinnon, Nielsen & Webb 2023, "Cluster-robust inference: a guide to empirical
    practice", their CV3). With few clusters it is far less anti-conservative than CR1; pair it
    with t tests on G − 1 degrees of freedom.

    Parameters
    ----------
    exog : ndarray (n_obs, k)
        Design matrix (full column rank).
    endog : ndarray (n_obs,)
        Response.
    groups : ndarray (n_obs,)
        Cluster label of each row (at least 2 clusters).

    Returns
    -------
    cov : ndarray (k, k)
        The CR3 covariance of the coefficients (units of the coefficients squared).
    betas : ndarray (G, k)
        The leave-one-cluster-out coefficients, in the order of ``numpy.unique(groups)``.

    Raises
    ------
    InferenceError
        Dropping some cluster leaves a rank-deficient design (a regressor or factor level seen in
        that cluster only).
    """
    exog, endog = np.asarray(exog, float), np.asarray(endog, float)
    labels = np.unique(groups)
    beta = np.linalg.lstsq(exog, endog, rcond=None)[0]
    betas = np.empty((labels.size, exog.shape[1]))
    for i, g in enumerate(labels):
        keep = groups != g
        x = exog[keep]
        if np.linalg.matrix_rank(x) < exog.shape[1]:
            raise InferenceError(f"without cluster {shown(g)} the design is collinear (a regressor or factor level is seen "
                                 "in that cluster only); the jackknife (CR3) needs every level in ≥ 2 clusters: "
                                 "coarsen the factors or use vcov='CR1'")
        betas[i] = np.linalg.lstsq(x, endog[keep], rcond=None)[0]
    dev = betas - beta
    return (labels.size - 1) / labels.size * dev.T @ dev, betas


def _with_cov(res, cov: np.ndarray, n_groups: int, label: str):
    """statsmodels results whose inference (bse, t tests on G − 1 df, conf_int, get_prediction) uses ``cov``."""
    inner = getattr(res, "_results", res)  # the wrapper forwards reads to the results it wraps
    inner.cov_params_default = cov
    inner.cov_type = label
    inner.df_resid_inference = n_groups - 1
    inner._cache = {}
    return res


@renamed_keywords(cluster="groups")
def ols(table: pd.DataFrame, formula: str | None = None, *, groups: str | None = SEED, vcov: str = "CR3",
        alpha: float = 0.05) -> RegressionResult:
    """OLS with cluster-robust standard errors (default: leave-one-seed-out jackknife, CR3).

    Runs of one seed share an initialization and data order, so their errors correlate. With the
    zoo's few seeds (5), CR1 (statsmodels' ``cov_type="cluster"``) is anti-conservative (its 95 %
    intervals covered 0.85 / 0.87 / 0.93 of planted slopes at 3 / 5 / 10 seeds); the default CR3
    jackknife (:func:`cluster_jackknife`) with t tests on G − 1 degrees of freedom covered
    0.957 / 0.947 / 0.943. Rows with a NaN in a column of the formula are dropped and counted
    (``n_dropped``).

    Parameters
    ----------
    table : DataFrame
        :func:`paistats.shift_table` output (any columns).
    formula : str, optional
        Any patsy formula; default :func:`default_formula`.
    groups : str or None
        Column of cluster labels (default ``seed``); ``None`` gives naive (iid) errors. The same
        name as :func:`mixedlm`'s (``cluster=``, the old name, still works with a FutureWarning).
    vcov : {"CR3", "CR1"}
        Cluster-robust covariance: the jackknife (default) or statsmodels' CR1.
    alpha : float
        Intervals at ``1 − alpha``.

    Returns
    -------
    RegressionResult
        ``kind`` ``"OLS"``; ``groups`` the cluster column.

    Raises
    ------
    InferenceError
        A missing or single-valued ``groups`` column, a formula that does not fit the table,
        collinear or constant regressors, an unknown ``vcov``.
    """
    cluster = groups
    table = _check(table, cluster)
    if vcov not in ("CR3", "CR1"):
        raise InferenceError(f"unknown vcov {vcov!r}; choose 'CR3' (jackknife, few clusters) or 'CR1'")
    formula = formula or default_formula(table)
    model, rows = _used_rows(formula, table)
    _design_ok(model, formula)
    if cluster is None:
        res, cov = model.fit(), "nonrobust"
        n_groups = len(model.endog)
    else:
        groups = _groups(table, rows, cluster)
        n_groups = int(np.unique(groups).size)
        res = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
        cov = f"cluster({cluster}), CR1"
        if vcov == "CR3":
            labels = table.loc[rows, cluster].to_numpy()
            v, _ = cluster_jackknife(model.exog, model.endog, labels if labels.dtype != object else groups)
            cov = f"cluster({cluster}), CR3 jackknife"
            res = _with_cov(res, v, n_groups, cov)
    terms = list(res.params.index)
    coef = _tidy(res.params, res.bse, res.tvalues, res.pvalues, res.conf_int(alpha), terms)
    return RegressionResult(res, coef, formula, "OLS", cov, cluster, int(res.nobs), n_groups,
                            n_dropped=len(table) - len(rows))


MIXED_METHODS = ("lbfgs", "bfgs", "powell", "nm")


def mixedlm(table: pd.DataFrame, formula: str | None = None, *, groups: str = SEED, alpha: float = 0.05,
            methods=MIXED_METHODS) -> RegressionResult:
    """Linear mixed model with a random intercept per ``groups`` (seed or pruner), REML.

    ``statsmodels.formula.api.mixedlm(formula, rows, groups=...)`` fitted with each optimizer of
    ``methods`` in turn until one converges to a fit with finite standard errors (lbfgs can stop at a
    zero random-effect variance with a NaN intercept error where powell or nm do not); the coefficient
    table holds the fixed effects (Wald z tests, as statsmodels reports them). Rows with a NaN in
    a column of the formula are dropped and counted, as in :func:`ols`.

    Parameters
    ----------
    table : DataFrame
        :func:`paistats.shift_table` output.
    formula : str, optional
        Any patsy formula; default :func:`default_formula`.
    groups : str
        Column whose labels get a random intercept (NaN labels are refused).
    alpha : float
        Intervals at ``1 − alpha``.
    methods : sequence of str
        scipy optimizers tried in order (default lbfgs, bfgs, powell, nm).

    Returns
    -------
    RegressionResult
        ``kind`` ``"MixedLM"``; ``notes`` holds statsmodels' warnings during the fit.

    Raises
    ------
    InferenceError
        No optimizer gave a converged fit with finite standard errors (each one's reason is
        named: no convergence, a singular fit, a linear-algebra error); always one line.
    """
    table = _check(table, groups)
    formula = formula or default_formula(table)
    _, rows = _used_rows(formula, table)
    codes = _groups(table, rows, groups)
    data = table.loc[rows]
    model = _model(smf.mixedlm, formula, data, groups=codes)
    _design_ok(model, formula)
    res, notes, failures = None, [], {}
    for method in methods:
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
            warnings.simplefilter("always")
            try:
                r = model.fit(reml=True, method=[method])
                finite = bool(np.isfinite(np.asarray(r.bse_fe)).all())  # computed (and warned about) in the catch
            except (np.linalg.LinAlgError, ValueError, ZeroDivisionError) as e:
                failures[method] = f"{type(e).__name__}: " + " ".join(str(e).split())[:100]
                continue
        notes = [" ".join(str(w.message).split()) for w in caught]
        if not r.converged:
            failures[method] = "did not converge"
        elif not finite:
            failures[method] = "no finite standard error (singular fit)"
        else:
            res = r
            break
    notes = tuple(dict.fromkeys(notes))
    if res is None:
        why = "; ".join(f"{m}: {w}" for m, w in failures.items())
        raise InferenceError(f"mixed model {formula!r} did not converge to a fit with finite standard errors with any "
                             f"of {', '.join(methods)} ({why}) with {np.unique(codes).size} {groups} groups; use ols() "
                             "or a simpler formula")
    terms = list(model.exog_names)
    coef = _tidy(res.fe_params, res.bse_fe, res.tvalues[terms], res.pvalues[terms], res.conf_int(alpha), terms)
    return RegressionResult(res, coef, formula, "MixedLM", f"random intercept ({groups})", groups, int(res.nobs),
                            int(np.unique(codes).size), notes, n_dropped=len(table) - len(rows))


@renamed_keywords(model="kind")
def fit(table: pd.DataFrame, formula: str | None = None, *, kind: str = "ols", **kw) -> RegressionResult:
    """``ols`` (default, CR3 cluster-robust by seed) or ``mixed`` (random intercepts).

    Parameters
    ----------
    table : DataFrame
        :func:`paistats.shift_table` output.
    formula : str, optional
        Any patsy formula; default :func:`default_formula`.
    kind : {"ols", "mixed"}
        Which model (``model=``, the old name, still works with a FutureWarning).
    **kw
        Passed to :func:`ols` or :func:`mixedlm` (``groups=``, ``alpha=``, …).

    Returns
    -------
    RegressionResult
    """
    if kind == "ols":
        return ols(table, formula, **kw)
    if kind in ("mixed", "mixedlm"):
        return mixedlm(table, formula, **kw)
    raise InferenceError(f"unknown model kind={kind!r}; choose 'ols' or 'mixed'")
