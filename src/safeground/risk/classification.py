"""Proposed classification of hazardous areas (SHA or CHA) from weighted evidence.

Users asked for automatic classification from weighted evidence (docs/domain.md §4). Each item of
evidence linked to an area (by ``hazardous_area_id`` or by lying within ``buffer_m`` of it)
scores ``category weight x reliability weight``; the model's mean probability over the area may
add ``model_weight x p``. The area is proposed CHA when the score reaches ``cha`` *and* it holds
direct evidence of at least ``direct_min_reliability`` (IMAS 04.10: CHA rests on direct
evidence), SHA when it reaches ``sha``, otherwise ``none`` (a candidate for cancellation by
non-technical survey). The rule set is a TOML file; ``evidence_rules.toml`` in this package holds
the defaults. A proposal is advice to the surveyor, never a change of the record.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from safeground.record.vocabulary import (
    DIRECT_CATEGORIES,
    EvidenceCategory,
    HazardClass,
    Reliability,
)
from safeground.risk.errors import invalid

DEFAULT_RULES = Path(__file__).with_name("evidence_rules.toml")
RELIABILITY_ORDER = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True, slots=True)
class EvidenceRules:
    cha: float
    sha: float
    buffer_m: float
    model_weight: float
    cha_requires_direct: bool
    direct_min_reliability: str
    category: dict[str, float]
    reliability: dict[str, float]

    @classmethod
    def load(cls, path: str | Path | None = None) -> EvidenceRules:
        """Read a rule set (default: the package's). Raises ValidationError (RISK_RULES)."""
        p = Path(path) if path else DEFAULT_RULES
        try:
            raw: dict[str, Any] = tomllib.loads(p.read_text(encoding="utf-8"))
            score, rules = raw["score"], raw.get("rules", {})
            out = cls(cha=float(score["cha"]), sha=float(score["sha"]),
                      buffer_m=float(score.get("buffer_m", 0.0)),
                      model_weight=float(score.get("model_weight", 0.0)),
                      cha_requires_direct=bool(rules.get("cha_requires_direct", True)),
                      direct_min_reliability=str(rules.get("direct_min_reliability", "medium")),
                      category={str(k): float(v) for k, v in raw["category"].items()},
                      reliability={str(k): float(v) for k, v in raw["reliability"].items()})
        except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
            raise invalid("RISK_RULES", where=p.name, reason=f"{type(exc).__name__}: {exc}") \
                from exc
        out.check(p.name)
        return out

    def check(self, where: str = "") -> None:
        """Raises ValidationError (RISK_RULES) on unknown names or inconsistent thresholds."""
        cats = {c.value for c in EvidenceCategory}
        unknown = set(self.category) - cats
        if unknown:
            raise invalid("RISK_RULES", where=where,
                          reason=f"unknown categories {sorted(unknown)}")
        if set(self.reliability) - {r.value for r in Reliability}:
            raise invalid("RISK_RULES", where=where, reason="unknown reliability level")
        if self.direct_min_reliability not in RELIABILITY_ORDER:
            raise invalid("RISK_RULES", where=where,
                          reason=f"direct_min_reliability '{self.direct_min_reliability}'")
        if not 0 <= self.sha <= self.cha:
            raise invalid("RISK_RULES", where=where, reason="need 0 <= sha <= cha")

    def item_score(self, category: str, reliability: str) -> float:
        return self.category.get(category, 0.0) * self.reliability.get(reliability, 0.0)


def _links(areas: gpd.GeoDataFrame, evidence: gpd.GeoDataFrame, id_col: str,
           buffer_m: float) -> pd.DataFrame:
    """(area id, evidence row) pairs: explicit links, plus evidence within the buffer."""
    pairs = []
    if "hazardous_area_id" in evidence:
        linked = evidence[evidence["hazardous_area_id"].notna()]
        pairs.append(pd.DataFrame({"area": linked["hazardous_area_id"].astype(str),
                                   "row": linked.index}))
    buf = areas[[id_col, "geometry"]].copy()
    buf["geometry"] = buf.geometry.buffer(buffer_m)
    near = gpd.sjoin(evidence[["geometry"]], buf, predicate="intersects", how="inner")
    pairs.append(pd.DataFrame({"area": near[id_col].astype(str), "row": near.index}))
    return pd.concat(pairs).drop_duplicates()


def classify(areas: gpd.GeoDataFrame, evidence: gpd.GeoDataFrame,
             rules: EvidenceRules | None = None, *, id_column: str = "object_id",
             probability: dict[str, float] | None = None,
             evidence_id: str = "object_id") -> pd.DataFrame:
    """Propose SHA / CHA / none per area with its score and the evidence that drove it.

    ``areas`` and ``evidence`` must share a metric CRS. ``evidence`` needs ``category`` and
    ``reliability`` columns. ``probability``: the model's mean probability per area id.
    Returns one row per area: ``proposed``, ``score``, ``direct_evidence``, ``drivers`` (a list
    of ``{evidence, category, reliability, points}``, largest first) — sorted by score.
    """
    rules = rules or EvidenceRules.load()
    probability = probability or {}
    min_rel = RELIABILITY_ORDER[rules.direct_min_reliability]
    links = _links(areas, evidence, id_column, rules.buffer_m) if len(evidence) else \
        pd.DataFrame({"area": [], "row": []})
    rows = []
    for area_id in areas[id_column].astype(str):
        items = evidence.loc[links.loc[links["area"] == area_id, "row"]] if len(links) else \
            evidence.iloc[:0]
        drivers = []
        direct = False
        for idx, item in items.iterrows():
            cat, rel = str(item.get("category")), str(item.get("reliability", "high"))
            pts = rules.item_score(cat, rel)
            drivers.append({"evidence": str(item.get(evidence_id, idx)), "category": cat,
                            "reliability": rel, "points": round(pts, 3)})
            if cat in DIRECT_CATEGORIES and RELIABILITY_ORDER.get(rel, -1) >= min_rel:
                direct = True
        p = probability.get(area_id)
        if p is not None and rules.model_weight > 0:
            drivers.append({"evidence": "risk model", "category": "model_probability",
                            "reliability": f"p={p:.3f}",
                            "points": round(rules.model_weight * p, 3)})
        score = sum(d["points"] for d in drivers)
        if score >= rules.cha and (direct or not rules.cha_requires_direct):
            proposed = HazardClass.CHA.value
        elif score >= rules.sha:
            proposed = HazardClass.SHA.value
        else:
            proposed = "none"
        drivers.sort(key=lambda d: -d["points"])
        rows.append({id_column: area_id, "proposed": proposed, "score": round(score, 3),
                     "direct_evidence": direct, "drivers": drivers})
    return pd.DataFrame(rows).sort_values("score", ascending=False, kind="stable") \
        .reset_index(drop=True)
