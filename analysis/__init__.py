"""Reproductions of Frankle et al. (2021) and Singh & Liu (2021) on any zoo, and their report.

Scripts to read and adapt: :mod:`analysis.frankle`, :mod:`analysis.singh_liu`, :mod:`analysis.link`;
:mod:`analysis.reproduce` runs them into one report (``python -m analysis reproduce``);
:mod:`analysis.browser` checks a report in headless Chromium.
"""
