"""``safeground scenario ...``: generate a synthetic post-conflict region on disk."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from safeground.errors import SafegroundError
from safeground.scenario.config import ScenarioConfig
from safeground.scenario.scenario import generate

app = typer.Typer(help="Synthetic post-conflict regions with hidden ground truth.",
                  no_args_is_help=True)


@app.callback()
def _main() -> None:
    """Scenario commands."""


@app.command("generate")
def generate_cmd(
    out: Path = typer.Option(..., "--out", help="output directory (created)"),
    seed: int = typer.Option(0, "--seed", help="random seed; the same seed gives the same files"),
    region: str = typer.Option("default", "--region",
                               help="'default' (Karabakh-like), 'rectangle' (small test region) "
                                    "or a polygon file path (GeoJSON, GeoPackage)"),
    region_name: list[str] = typer.Option([], "--region-name",
                                          help="keep only these features of a region file "
                                               "(by shapeName/name); repeatable"),
    area_km2: float | None = typer.Option(None, "--area-km2",
                                          help="scale the default region or rectangle to this "
                                               "area"),
    settlements: int | None = typer.Option(None, "--settlements",
                                           help="number of settlements (default: 320 per "
                                                "10,000 km²)"),
    displaced: int | None = typer.Option(None, "--displaced",
                                         help="displaced population (default: 700,000 per "
                                              "10,000 km²)"),
    resolution_m: float = typer.Option(100.0, "--resolution-m",
                                       help="cell size of the context rasters (metres)"),
) -> None:
    """Generate a region, its hidden truth and its field reports, and write them to OUT."""
    console = Console()
    try:
        cfg = ScenarioConfig(seed=seed, region=region, region_names=tuple(region_name),
                             area_km2=area_km2, n_settlements=settlements,
                             displaced_population=displaced, resolution_m=resolution_m)
        t0 = time.perf_counter()
        sc = generate(cfg)
        t1 = time.perf_counter()
        sc.write(out)
        t2 = time.perf_counter()
    except SafegroundError as exc:
        console.print(f"[red]error[/red] {exc.code}: {exc.message}")
        raise typer.Exit(2) from exc
    table = Table(title=f"Scenario seed {seed} -> {out}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for k, v in sc.calibration().items():
        table.add_row(k, f"{v:,}" if isinstance(v, int) else str(v))
    table.add_row("records", f"{len(sc.book):,}")
    table.add_row("generation s", f"{t1 - t0:.1f}")
    table.add_row("writing s", f"{t2 - t1:.1f}")
    console.print(table)
    console.print(f"reports: {out / 'reports'}  (import the files in name order)")
