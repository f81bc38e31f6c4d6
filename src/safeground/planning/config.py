"""Planning settings: productivity, travel, cost, stage shares, benefit and priority weights.

The defaults live in ``defaults.toml`` and ``priorities.toml`` beside this module, readable by
the authority that owns them. ``load_config(path)`` lays a user's TOML (or JSON) file over the
defaults: only the keys it gives change. The result is a frozen, typed ``PlanningConfig``;
nothing downstream reads raw dictionaries.

Raises ``ConfigError`` (code ``PLAN_CONFIG_INVALID``) for unknown keys, wrong types or values out
of range.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from safeground.errors import ConfigError
from safeground.i18n import N_
from safeground.record.domain.settlements import AccessRule
from safeground.record.problems import register

register({
    "PLAN_CONFIG_INVALID": N_("planning setting '{key}': {reason}"),
    "PLAN_INSTANCE_INVALID": N_("{what}: {reason}"),
})

ASSETS = ("nts", "ts", "manual", "dog", "machine")
#: Which assets can carry out which stage of land release (docs/domain.md §2).
STAGE_ASSETS: dict[str, tuple[str, ...]] = {
    "nts": ("nts",),
    "ts": ("ts",),
    "clearance": ("manual", "dog", "machine"),
}
STAGES = ("nts", "ts", "clearance")
#: How the planner values a released area's casualty risk (``[benefit] casualty_model``).
CASUALTY_MODELS = ("exposure", "density")
#: How a graded priority criterion turns a count into points (``priority.py``).
PRIORITY_SCALES = ("log", "linear", "rank")


@dataclass(frozen=True, slots=True)
class StageShares:
    contamination_probability: float
    nts_required: bool
    max_cancel: float
    max_reduce: float


@dataclass(frozen=True, slots=True)
class PlanningConfig:
    """Every planning figure, typed. Build with ``load_config``."""

    days_per_week: float = 5.0
    team_rate: dict[str, float] = field(default_factory=dict)      # asset -> m²/day
    rates_from_record: bool = True          # plans from the record measure rates there
    record_min_activities: int = 3          # ... for an asset with at least this many
    terrain: dict[str, dict[str, float]] = field(default_factory=dict)
    mobilisation_days: float = 1.0
    commute_limit_km: float = 40.0
    speed_km_per_hour: float = 30.0
    working_hours_per_day: float = 8.0
    relocation_days: float = 2.0
    relocation_km_per_day: float = 150.0
    monthly_cost: dict[str, float] = field(default_factory=dict)
    stages: dict[str, StageShares] = field(default_factory=dict)
    evidence_per_item: float = 0.15
    share_concentration: float = 8.0
    productivity_cv: float = 0.25
    items_per_contaminated_m2: float = 0.002
    return_share: float = 1.0
    casualty_rate_per_week: float = 0.002
    casualty_value: float = 2000.0
    casualty_model: str = "exposure"                 # "exposure" or "density" (model.py)
    density_casualty_rate: float = 0.00075
    resident_trips_per_day: float = 0.03
    visitor_trips_per_day: float = 0.02
    exposure_scale_m: float = 750.0
    road_value_per_week: float = 150.0
    water_value_per_week: float = 150.0
    reconstruction_value_per_week: float = 200.0
    released_m2_value_per_week: float = 0.0005
    priority_weights: dict[str, float] = field(default_factory=dict)
    capabilities: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(STAGE_ASSETS))
    access: AccessRule = field(default_factory=AccessRule)
    casualties_full: float = 10.0
    displaced_full: float = 100000.0
    casualties_scale: str = "log"                    # "log", "linear" or "rank" (priority.py)
    displaced_scale: str = "log"

    def terrain_factor(self, terrain: str, asset: str) -> float:
        row = self.terrain.get(terrain) or self.terrain["open"]
        return float(row.get(asset, 0.0))

    def day_cost(self, asset: str) -> float:
        """Cost of one team-day: the monthly cost over the working days of a month."""
        return self.monthly_cost[asset] / (self.days_per_week * 52.0 / 12.0)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read planning config {path}: {exc}",
                          code="PLAN_CONFIG_INVALID") from exc


def _merge(base: dict[str, Any], over: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        name = f"{prefix}{key}"
        if key not in base and not prefix.startswith("productivity.terrain"):
            raise ConfigError(f"unknown planning setting '{name}'", code="PLAN_CONFIG_INVALID",
                              details={"key": name})
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _merge(base[key], value, name + ".")
        else:
            out[key] = value
    return out


def _defaults() -> tuple[dict[str, Any], dict[str, Any]]:
    pkg = resources.files("safeground.planning")
    return (tomllib.loads(pkg.joinpath("defaults.toml").read_text(encoding="utf-8")),
            tomllib.loads(pkg.joinpath("priorities.toml").read_text(encoding="utf-8")))


def _positive(name: str, value: Any, allow_zero: bool = True) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"planning setting '{name}' must be a number, not {value!r}",
                          code="PLAN_CONFIG_INVALID", details={"key": name}) from exc
    if v < 0 or (v == 0 and not allow_zero) or v != v:
        raise ConfigError(f"planning setting '{name}' must be {'>=' if allow_zero else '>'} 0",
                          code="PLAN_CONFIG_INVALID", details={"key": name})
    return v


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"planning setting '{name}' must be true or false, not {value!r}",
                          code="PLAN_CONFIG_INVALID", details={"key": name})
    return value


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"planning setting '{name}' must be one of {', '.join(allowed)}, "
                          f"not {value!r}", code="PLAN_CONFIG_INVALID", details={"key": name})
    return str(value)


def load_config(path: str | Path | None = None,
                overrides: dict[str, Any] | None = None) -> PlanningConfig:
    """The defaults, with the file at ``path`` and then ``overrides`` laid over them.

    ``overrides`` uses the file's layout, e.g. ``{"productivity": {"dog_multiplier": 2.5}}``;
    a top-level ``"priorities"`` key reaches ``priorities.toml``.
    Raises ``ConfigError`` for unreadable files, unknown keys or bad values.
    """
    main, prio = _defaults()
    layers: list[dict[str, Any]] = []
    if path is not None:
        layers.append(_read(Path(path)))
    if overrides:
        layers.append(overrides)
    for layer in layers:
        layer = dict(layer)
        if "priorities" in layer:
            prio = _merge(prio, layer.pop("priorities"), "priorities.")
        main = _merge(main, layer)
    return _build(main, prio)


def _build(main: dict[str, Any], prio: dict[str, Any]) -> PlanningConfig:
    p = main["productivity"]
    manual = _positive("productivity.manual_m2_per_deminer_day", p["manual_m2_per_deminer_day"],
                       allow_zero=False) * _positive("productivity.deminers_per_team",
                                                     p["deminers_per_team"], allow_zero=False)
    rates = {
        "nts": _positive("productivity.nts_m2_per_day", p["nts_m2_per_day"], allow_zero=False),
        "ts": _positive("productivity.ts_m2_per_day", p["ts_m2_per_day"], allow_zero=False),
        "manual": manual,
        "dog": manual * _positive("productivity.dog_multiplier", p["dog_multiplier"]),
        "machine": _positive("productivity.machine_m2_per_day", p["machine_m2_per_day"]),
    }
    terrain = {name: {a: _positive(f"productivity.terrain.{name}.{a}", row.get(a, 0.0))
                      for a in ASSETS} for name, row in p["terrain"].items()}
    if "open" not in terrain:
        raise ConfigError("planning setting 'productivity.terrain.open' is required",
                          code="PLAN_CONFIG_INVALID")
    stages = {}
    for cls in ("SHA", "CHA"):
        s = main["stages"][cls]
        shares = StageShares(
            contamination_probability=_positive(f"stages.{cls}.contamination_probability",
                                                s["contamination_probability"]),
            nts_required=bool(s["nts_required"]),
            max_cancel=_positive(f"stages.{cls}.max_cancel", s["max_cancel"]),
            max_reduce=_positive(f"stages.{cls}.max_reduce", s["max_reduce"]))
        for key in ("contamination_probability", "max_cancel", "max_reduce"):
            if getattr(shares, key) > 1:
                raise ConfigError(f"planning setting 'stages.{cls}.{key}' must be <= 1",
                                  code="PLAN_CONFIG_INVALID")
        stages[cls] = shares
    t, b, u = main["travel"], main["benefit"], main["uncertainty"]
    weights = {k: _positive(f"priorities.weights.{k}", v) for k, v in prio["weights"].items()}
    if sum(weights.values()) <= 0:
        raise ConfigError("priority weights sum to zero", code="PLAN_CONFIG_INVALID")
    caps = {}
    for stage in STAGES:
        assets = tuple(str(a) for a in main["capabilities"].get(stage, STAGE_ASSETS[stage]))
        if not assets or any(a not in ASSETS for a in assets):
            raise ConfigError(f"planning setting 'capabilities.{stage}' must list assets from "
                              f"{', '.join(ASSETS)}", code="PLAN_CONFIG_INVALID")
        caps[stage] = assets
    acc = main["access"]
    access = AccessRule(**{k: _positive(f"access.{k}", acc[k],
                                        allow_zero=k not in ("default_radius_m", "road_reach_m"))
                           for k in ("margin_m", "default_radius_m", "road_touch_m",
                                     "road_reach_m", "road_corridor_m")})
    return PlanningConfig(
        capabilities=caps, access=access,
        days_per_week=_positive("calendar.days_per_week", main["calendar"]["days_per_week"],
                                allow_zero=False),
        team_rate=rates, terrain=terrain,
        rates_from_record=_flag("productivity.from_record", p["from_record"]),
        record_min_activities=int(_positive("productivity.record_min_activities",
                                            p["record_min_activities"], allow_zero=False)),
        mobilisation_days=_positive("travel.mobilisation_days", t["mobilisation_days"]),
        commute_limit_km=_positive("travel.commute_limit_km", t["commute_limit_km"]),
        speed_km_per_hour=_positive("travel.speed_km_per_hour", t["speed_km_per_hour"], False),
        working_hours_per_day=_positive("travel.working_hours_per_day",
                                        t["working_hours_per_day"], False),
        relocation_days=_positive("travel.relocation_days", t["relocation_days"]),
        relocation_km_per_day=_positive("travel.relocation_km_per_day",
                                        t["relocation_km_per_day"], False),
        monthly_cost={a: _positive(f"cost.{a}", main["cost"][a]) for a in ASSETS},
        stages=stages,
        evidence_per_item=_positive("evidence.per_item", main["evidence"]["per_item"]),
        share_concentration=_positive("uncertainty.share_concentration",
                                      u["share_concentration"], False),
        productivity_cv=_positive("uncertainty.productivity_cv", u["productivity_cv"]),
        items_per_contaminated_m2=_positive("uncertainty.items_per_contaminated_m2",
                                            u["items_per_contaminated_m2"]),
        return_share=_positive("benefit.return_share", b["return_share"]),
        casualty_rate_per_week=_positive("benefit.casualty_rate_per_week",
                                         b["casualty_rate_per_week"]),
        casualty_value=_positive("benefit.casualty_value", b["casualty_value"]),
        casualty_model=_choice("benefit.casualty_model", b["casualty_model"], CASUALTY_MODELS),
        density_casualty_rate=_positive("benefit.density_casualty_rate",
                                        b["density_casualty_rate"]),
        resident_trips_per_day=_positive("benefit.resident_trips_per_day",
                                         b["resident_trips_per_day"]),
        visitor_trips_per_day=_positive("benefit.visitor_trips_per_day",
                                        b["visitor_trips_per_day"]),
        exposure_scale_m=_positive("benefit.exposure_scale_m", b["exposure_scale_m"], False),
        road_value_per_week=_positive("benefit.road_value_per_week", b["road_value_per_week"]),
        water_value_per_week=_positive("benefit.water_value_per_week",
                                       b["water_value_per_week"]),
        reconstruction_value_per_week=_positive("benefit.reconstruction_value_per_week",
                                                b["reconstruction_value_per_week"]),
        released_m2_value_per_week=_positive("benefit.released_m2_value_per_week",
                                             b["released_m2_value_per_week"]),
        priority_weights=weights,
        casualties_full=_positive("priorities.scales.casualties_full",
                                  prio["scales"]["casualties_full"], False),
        displaced_full=_positive("priorities.scales.displaced_full",
                                 prio["scales"]["displaced_full"], False),
        casualties_scale=_choice("priorities.scales.casualties", prio["scales"]["casualties"],
                                 PRIORITY_SCALES),
        displaced_scale=_choice("priorities.scales.displaced", prio["scales"]["displaced"],
                                PRIORITY_SCALES),
    )


DEFAULT_CONFIG = load_config()
