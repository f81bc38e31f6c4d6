"""Evidence-based contamination risk model (docs/domain.md §6).

Where the mines are when nobody kept records: features from dated evidence (only what was known
at the prediction date) and context layers; positive-unlabelled models (a transparent logistic
baseline and LightGBM) with a search-bias correction and calibrated probabilities; evaluation on
spatial and forward-in-time hold-outs beside two baselines; risk surfaces as Cloud-Optimised
GeoTIFFs computed window by window on Dask; per-area expected contamination, explanations and
an evidence-scoring rule set that proposes SHA or CHA.

Modules: ``grid`` (cells), ``events`` (dated evidence), ``context`` (geography), ``fields`` and
``features`` (what the model sees), ``models`` (PU learning, calibration, contributions),
``evaluation`` (metrics, splits), ``forecast`` (forward-in-time fit and evaluation),
``reland`` and ``colombia`` (the real data sets), ``twin`` (the scenario), ``surface`` (COG on
Dask), ``areas`` (per-area risk), ``classification`` (SHA/CHA rules), ``store`` (model
directories), ``sources`` (event layouts), ``cli`` (``safeground risk ...``).
"""
