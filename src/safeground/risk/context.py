"""Context layers: the static geography around the evidence.

Vector layers (former line of contact, military positions, roads, rivers, settlements; for the
planner also funded reconstruction projects) and rasters (elevation, slope, land cover) in one
metric CRS. ``from_directory`` reads the layout the
scenario generator writes (``OUT/context/frontline.gpkg`` ... ``landcover.tif``); any programme
can supply the same files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import rasterio

#: vector layers the features know, in the order they appear in feature names
VECTOR_LAYERS = ("frontline", "positions", "roads", "rivers", "settlements")
#: vector layers only the planner reads (funded reconstruction projects, docs/planning.md §1)
PLANNING_LAYERS = ("reconstruction",)
#: raster layers, with the resampling used to bring them onto a grid
RASTER_LAYERS = {"elevation": "bilinear", "slope": "bilinear", "landcover": "nearest"}
#: settlement attributes tried, in order, for the population each settlement carries
POPULATION_COLUMNS = ("pre_conflict_population", "population", "pop", "displaced_population")


@dataclass(frozen=True)
class ContextLayers:
    """Context geography in ``crs``. Missing layers are simply absent from the mappings."""

    crs: str
    vectors: Mapping[str, gpd.GeoDataFrame] = field(default_factory=dict)
    rasters: Mapping[str, Path] = field(default_factory=dict)

    @classmethod
    def from_directory(cls, path: str | Path, crs: str | None = None) -> ContextLayers:
        """Read ``<name>.gpkg`` / ``<name>.geojson`` and ``<name>.tif`` files found in ``path``."""
        root = Path(path)
        vectors: dict[str, gpd.GeoDataFrame] = {}
        for name in (*VECTOR_LAYERS, *PLANNING_LAYERS):
            for suffix in (".gpkg", ".geojson", ".shp"):
                f = root / f"{name}{suffix}"
                if f.exists():
                    vectors[name] = gpd.read_file(f)
                    break
        rasters = {n: root / f"{n}.tif" for n in RASTER_LAYERS if (root / f"{n}.tif").exists()}
        if crs is None:
            crs = _first_crs(vectors, rasters)
        vectors = {k: (v.to_crs(crs) if v.crs is not None else v.set_crs(crs))
                   for k, v in vectors.items()}
        return cls(crs=crs, vectors=vectors, rasters=rasters)

    def population(self) -> tuple[gpd.GeoSeries, list[float]] | None:
        """Settlement points and the population each carries (1 each when none is given)."""
        s = self.vectors.get("settlements")
        if s is None or s.empty:
            return None
        col = next((c for c in POPULATION_COLUMNS if c in s), None)
        pop = s[col].fillna(0).astype(float).tolist() if col else [1.0] * len(s)
        return s.geometry.representative_point(), pop


def _first_crs(vectors: Mapping[str, gpd.GeoDataFrame], rasters: Mapping[str, Path]) -> str:
    for v in vectors.values():
        if v.crs is not None:
            return v.crs.to_string()
    for p in rasters.values():
        with rasterio.open(p) as src:
            if src.crs is not None:
                return src.crs.to_string()
    return "EPSG:32638"
