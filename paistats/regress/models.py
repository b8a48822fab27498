"""Regressions of accuracy change on distribution shift (statsmodels' formula API)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from paistats.inference._result import InferenceError

RESPONSE = "delta_accuracy"
SHIFT_TERMS = ("wasserstein_rel_init", "wasserstein_rel_trained")


@dataclass
class RegressionResult:
    """A fitted regression and its tidy coefficient table.

    Attributes
    ----------
    result : statsmodels results object
        ``RegressionResults`` (OLS) or ``MixedLMResults``.
    coefficients : pandas.DataFrame
        One row per fixed-effect term: ``term``, ``estimate``, ``std_error``, ``statistic``,
        ``pvalue``, ``ci_low``, ``ci_high`` (at ``1 − alpha``).
    formula, model, cov_type, groups : str
    n_obs, n_groups : int
    notes : tuple of str
        statsmodels' warnings during the fit (e.g. a random-effect variance on the boundary, 0).
    """

    result: object
    coefficients: pd.DataFrame
    formula: str
    model: str
    cov_type: str
    groups: str | None
    n_obs: int
    n_groups: int
    notes: tuple[str, ...] = ()


def default_formula(table: pd.DataFrame) -> str:
    """``delta_accuracy ~ wasserstein_rel_init + wasserstein_rel_trained`` plus fixed effects for
    pruner, sparsity, arch and dataset when they take more than one value.

    Answers "how does distribution shift (init and trained, parameter-weighted W1/σ) relate to the
    change in accuracy, comparing runs of the same pruner and sparsity?".
    """
    terms = [t for t in SHIFT_TERMS if t in table.columns]
    if not terms:
        raise InferenceError(f"no default shift column ({', '.join(SHIFT_TERMS)}) in the table; pass a formula")
    for factor in ("pruner", "sparsity", "arch", "dataset"):
        if factor in table.columns and table[factor].nunique() > 1:
            terms.append(f"C({factor})")
    return f"{RESPONSE} ~ " + " + ".join(terms)


def _tidy(params, bse, stat, pvalues, ci, terms) -> pd.DataFrame:
    return pd.DataFrame({"term": terms, "estimate": params[terms].to_numpy(), "std_error": bse[terms].to_numpy(),
                         "statistic": stat[terms].to_numpy(), "pvalue": pvalues[terms].to_numpy(),
                         "ci_low": ci.loc[terms, 0].to_numpy(), "ci_high": ci.loc[terms, 1].to_numpy()})


def _check(table: pd.DataFrame, group: str | None) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise InferenceError("regression needs a non-empty DataFrame (from paistats.shift_table)")
    if group is not None:
        if group not in table.columns:
            raise InferenceError(f"grouping column {group!r} is not in the table (columns: {', '.join(table.columns)})")
        if table[group].nunique() < 2:
            raise InferenceError(f"only {table[group].nunique()} {group} group(s): clustering needs at least 2 "
                                 "(build more seeds)")
    return table


def _design_ok(model, formula: str) -> None:
    exog = model.exog
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


def ols(table: pd.DataFrame, formula: str | None = None, *, cluster: str | None = "seed",
        alpha: float = 0.05) -> RegressionResult:
    """OLS with cluster-robust standard errors (default clustered by seed).

    Runs of one seed share an initialization and data order, so their errors correlate; clustering
    by seed uses ``cov_type="cluster"`` with statsmodels' small-sample correction and t tests on
    G − 1 degrees of freedom (G = number of seeds). ``cluster=None`` gives the naive (iid) errors.

    Parameters
    ----------
    table : DataFrame
        :func:`paistats.shift_table` output (any columns).
    formula : str, optional
        Any patsy formula; default :func:`default_formula`.
    """
    table = _check(table, cluster)
    formula = formula or default_formula(table)
    model = _model(smf.ols, formula, table)
    _design_ok(model, formula)
    if cluster is None:
        res, cov = model.fit(), "nonrobust"
        n_groups = len(model.endog)
    else:
        groups = pd.factorize(table.loc[model.data.row_labels, cluster])[0]
        res = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
        cov, n_groups = f"cluster({cluster})", int(np.unique(groups).size)
    terms = list(res.params.index)
    coef = _tidy(res.params, res.bse, res.tvalues, res.pvalues, res.conf_int(alpha), terms)
    return RegressionResult(res, coef, formula, "OLS", cov, cluster, int(res.nobs), n_groups)


def mixedlm(table: pd.DataFrame, formula: str | None = None, *, groups: str = "seed",
            alpha: float = 0.05) -> RegressionResult:
    """Linear mixed model with a random intercept per ``groups`` (seed or pruner), REML.

    ``statsmodels.formula.api.mixedlm(formula, table, groups=table[groups])``; the coefficient
    table holds the fixed effects (Wald z tests, as statsmodels reports them).
    """
    table = _check(table, groups)
    formula = formula or default_formula(table)
    model = _model(smf.mixedlm, formula, table, groups=table[groups])
    _design_ok(model, formula)
    with warnings.catch_warnings(record=True) as caught, np.errstate(invalid="ignore"):
        warnings.simplefilter("always")
        res = model.fit(reml=True)
        res.bse_fe  # computed (and warned about) inside the catch
    notes = tuple(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))
    if not res.converged:
        raise InferenceError(f"mixed model {formula!r} did not converge; simplify the formula or use ols()")
    terms = list(model.exog_names)
    coef = _tidy(res.fe_params, res.bse_fe, res.tvalues[terms], res.pvalues[terms], res.conf_int(alpha), terms)
    if not np.isfinite(coef["std_error"]).all():
        bad = coef.loc[~np.isfinite(coef["std_error"]), "term"].tolist()
        raise InferenceError(f"mixed model {formula!r} has no finite standard error for {bad} (singular fit with "
                             f"{table[groups].nunique()} {groups} groups); use ols() or a simpler formula")
    return RegressionResult(res, coef, formula, "MixedLM", f"random intercept ({groups})", groups, int(res.nobs),
                            int(table[groups].nunique()), notes)


def fit(table: pd.DataFrame, formula: str | None = None, *, model: str = "ols", **kw) -> RegressionResult:
    """``ols`` (default, cluster-robust by seed) or ``mixed`` (random intercepts)."""
    if model == "ols":
        return ols(table, formula, **kw)
    if model in ("mixed", "mixedlm"):
        return mixedlm(table, formula, **kw)
    raise InferenceError(f"unknown model {model!r}; choose 'ols' or 'mixed'")
