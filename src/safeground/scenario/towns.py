"""The real towns of the districts returned in 2020, for the default region.

Coordinates (WGS 84, decimal degrees) and pre-conflict populations after GeoNames
(geonames.org, CC BY 4.0); Aghdam, Fuzuli and Shusha are the figures given for the reference
case, the others are rounded approximations of the GeoNames / 1989-census town figures and are
marked ``approximate``. They seed the demonstration region only: nothing in Safeground depends
on their exact values.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Town:
    name: str
    district: str
    lon: float
    lat: float
    pre_conflict_population: int
    approximate: bool = True


#: Attribution printed in docs/scenario.md and written into every generated scenario manifest.
SOURCE = "Town coordinates and populations after GeoNames (geonames.org, CC BY 4.0); rounded."

TOWNS: tuple[Town, ...] = (
    Town("Aghdam", "Aghdam", 46.9297, 39.9911, 37_700, approximate=False),
    Town("Fuzuli", "Fuzuli", 47.1431, 39.6003, 25_100, approximate=False),
    Town("Shusha", "Shusha", 46.7528, 39.7583, 19_400, approximate=False),
    Town("Jabrayil", "Jabrayil", 47.0245, 39.3999, 6_000),
    Town("Kalbajar", "Kalbajar", 46.0383, 40.1067, 7_200),
    Town("Zangilan", "Zangilan", 46.6525, 39.0857, 6_500),
    Town("Qubadli", "Qubadli", 46.5797, 39.3439, 5_800),
    Town("Lachin", "Lachin", 46.5461, 39.6383, 7_800),
    Town("Khojaly", "Khojaly", 46.7903, 39.9133, 6_300),
    Town("Khojavend", "Khojavend", 47.1128, 39.7955, 5_400),
    Town("Hadrut", "Khojavend", 47.0286, 39.5200, 3_200),
)
