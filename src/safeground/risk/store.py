"""Model directories: fitted models with the metadata needed to trust and repeat them.

A model directory holds ``model.json`` (what was fitted on which data: a SHA-256 of the input
files, the features, the seed, the date, the metrics, library versions) and one
``<kind>.joblib`` per model; the LightGBM booster is also written as ``lightgbm.txt``, LightGBM's
own portable text format.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import joblib
import lightgbm
import numpy as np
import sklearn

from safeground.risk.errors import ModelNotFoundError
from safeground.risk.models import RiskModel

METADATA = "model.json"


def data_sha256(paths: Iterable[str | Path]) -> str:
    """One SHA-256 over the bytes of the input files, in sorted path order."""
    h = hashlib.sha256()
    for p in sorted(Path(x) for x in paths):
        h.update(p.name.encode())
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (dt.date, Path)):
        return str(value)
    return value


def save(model_dir: str | Path, models: dict[str, RiskModel], metadata: dict[str, Any]) -> Path:
    """Write the models and ``model.json``; returns the metadata path."""
    root = Path(model_dir)
    root.mkdir(parents=True, exist_ok=True)
    entries = {}
    for kind, model in models.items():
        joblib.dump(model, root / f"{kind}.joblib")
        entry = {"file": f"{kind}.joblib", "config": model.config.to_dict(),
                 "label_frequency": model.label_frequency_,
                 "calibrated_on": model.calibrated_on_, "train": model.train_summary_,
                 "importance": model.importance(),
                 "imputation": {"zero_fill_prefixes": list(model.config.zero_fill),
                                "fill_values": getattr(model, "fill_", {})}}
        if model.config.kind == "lightgbm":
            text = "lightgbm.txt" if kind == "lightgbm" else f"{kind}.lightgbm.txt"
            model.estimator.save_model(str(root / text))
            entry["booster_text"] = text
        entries[kind] = entry
    meta = {"created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "versions": {"lightgbm": lightgbm.__version__, "scikit-learn": sklearn.__version__},
            **metadata, "models": entries}
    path = root / METADATA
    path.write_text(json.dumps(_jsonable(meta), indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def load(model_dir: str | Path) -> tuple[dict[str, RiskModel], dict[str, Any]]:
    """Read a model directory. Raises ModelNotFoundError when it holds no fitted model."""
    root = Path(model_dir)
    path = root / METADATA
    if not path.exists():
        raise ModelNotFoundError(f"'{root}' holds no fitted risk model (no {METADATA})",
                                 details={"value": str(root)})
    meta = json.loads(path.read_text(encoding="utf-8"))
    models = {}
    for kind, entry in meta.get("models", {}).items():
        f = root / entry["file"]
        if not f.exists():
            raise ModelNotFoundError(f"'{root}' lacks {entry['file']}", details={"value": str(f)})
        # joblib files are written by this module into the user's own model directory
        models[kind] = joblib.load(f)
    return models, meta


def append_record(model_dir: str | Path, key: str, entry: dict[str, Any]) -> None:
    """Append ``entry`` to the list ``key`` of an existing ``model.json`` (e.g. what a scoring
    run had to fill in)."""
    path = Path(model_dir) / METADATA
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.setdefault(key, []).append(_jsonable(entry))
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")


def write_metrics(model_dir: str | Path, metrics: dict[str, Any]) -> None:
    """Add evaluation metrics to an existing ``model.json``."""
    path = Path(model_dir) / METADATA
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["metrics"] = _jsonable(metrics)
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
