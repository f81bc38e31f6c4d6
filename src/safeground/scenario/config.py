"""What a generated scenario is made of: one frozen, validated configuration."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

from safeground.errors import ConfigError

#: The ceasefire that ended the 2020 war; exposure and accident clocks start here.
CEASEFIRE = dt.date(2020, 11, 10)

#: Default region: the districts returned in 2020, about 10,000 km².
DEFAULT_AREA_KM2 = 10_000.0
DEFAULT_SETTLEMENTS = 320
DEFAULT_DISPLACED = 700_000


@dataclass(frozen=True, slots=True)
class ScenarioConfig:
    """Parameters of a synthetic post-conflict region.

    ``region`` is ``"default"`` (the Karabakh-like region, scaled to ``area_km2``),
    ``"rectangle"`` (a small synthetic rectangle of ``rect_km`` for tests) or a path to any
    polygon file readable by pyogrio (GeoJSON, GeoPackage, ...), optionally filtered by
    ``region_names`` matched against its ``shapeName`` / ``name`` attribute.
    ``n_settlements`` and ``displaced_population`` default to the 2020 figures scaled by area.
    ``mining_intensity`` scales every truth process (1.0 = calibrated default).
    """

    seed: int = 0
    region: str = "default"
    area_km2: float | None = None
    rect_km: tuple[float, float] = (24.0, 16.0)
    region_names: tuple[str, ...] = ()
    n_settlements: int | None = None
    displaced_population: int | None = None
    resolution_m: float = 100.0
    mining_intensity: float = 1.0
    ceasefire: dt.date = CEASEFIRE
    #: End of the observation window written to the record (first five months after ceasefire).
    record_end: dt.date = dt.date(2021, 4, 10)
    #: Accident model: per-probe trigger hazard per item within the 25 m cell (calibrated).
    accident_beta: float = 0.00055
    #: Early operations in the record window (``scenario/operations.py``): survey and clearance
    #: by the default fleet under today's practice, written to the record as it proceeds.
    operations: bool = True
    #: Days from the ceasefire to the first team at work (emergency tasks began within weeks).
    operations_start_days: int = 21
    #: Days over which the fleet mobilises, one team after another (0: all on the first day).
    operations_ramp_days: int = 120
    #: Share of the fleet's planning productivity reached in these first months (winter, new
    #: teams, no base camps yet: a stated assumption, see docs/scenario.md).
    operations_productivity: float = 0.5

    def __post_init__(self) -> None:
        if self.region not in ("default", "rectangle") and not Path(self.region).exists():
            raise ConfigError(f"region must be 'default', 'rectangle' or an existing file, "
                              f"not {self.region!r}", code="SCENARIO_REGION_INVALID")
        if self.area_km2 is not None and not 1.0 <= self.area_km2 <= 500_000:
            raise ConfigError(f"area_km2 {self.area_km2} outside 1..500000",
                              code="SCENARIO_AREA_INVALID")
        if not 10.0 <= self.resolution_m <= 1000.0:
            raise ConfigError("resolution_m must lie in 10..1000", code="SCENARIO_RES_INVALID")
        if self.record_end <= self.ceasefire:
            raise ConfigError("record_end must come after the ceasefire",
                              code="SCENARIO_DATES_INVALID")
        if self.operations_start_days < 0 or self.operations_ramp_days < 0:
            raise ConfigError("operations_start_days and operations_ramp_days must be >= 0",
                              code="SCENARIO_OPERATIONS_INVALID")
        if not 0.0 < self.operations_productivity <= 1.0:
            raise ConfigError("operations_productivity must lie in (0, 1]",
                              code="SCENARIO_OPERATIONS_INVALID")
        if self.mining_intensity < 0:
            raise ConfigError("mining_intensity must be >= 0", code="SCENARIO_INTENSITY_INVALID")

    @classmethod
    def small(cls, seed: int = 0, **kw: object) -> ScenarioConfig:
        """A small synthetic rectangle (24 × 16 km) for tests and quick demos."""
        return cls(seed=seed, region="rectangle", **kw)  # type: ignore[arg-type]

    @property
    def operations_start(self) -> dt.date:
        """The day the first team starts work (``ceasefire + operations_start_days``)."""
        return self.ceasefire + dt.timedelta(days=self.operations_start_days)

    def with_(self, **kw: object) -> ScenarioConfig:
        return replace(self, **kw)  # type: ignore[arg-type]
