"""Legacy sources for the migration tests, built by the tests (no binaries in the repository).

``imsma_core_gdb`` writes an IMSMA-Core-like Esri File Geodatabase with GDAL (OpenFileGDB):
hazard polygons in Web Mercator with Russian code values, hazard reduction, accidents,
victims, EO spot tasks, ``imsma_links`` text link fields, mixed date formats and the polygon
faults legacy systems are known for. ``imsma_ng_xlsx`` writes an IMSMA-NG-like Excel export
(several sheets, polygon vertices on a sheet of their own, Azerbaijani labels, Excel serial
dates). Each returns the path and ``EXPECTED``: what the migrated record must then hold.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import Transformer
from shapely.geometry import Point, Polygon

_TO_3857 = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
LON0, LAT0 = 47.0, 40.0
M_LON = 1 / 85_200.0   # degrees per metre at 40° N
M_LAT = 1 / 111_000.0


def square(i: int, size_m: float = 300.0, dx: float = 0.0) -> list[tuple[float, float]]:
    """Corners of a square (lon/lat) in row ``i`` of a grid 2 km apart."""
    lon = LON0 + (i % 10) * 2000 * M_LON + dx * M_LON
    lat = LAT0 + (i // 10) * 2000 * M_LAT
    w, h = size_m * M_LON, size_m * M_LAT
    return [(lon, lat), (lon + w, lat), (lon + w, lat + h), (lon, lat + h), (lon, lat)]


def merc(ring: list[tuple[float, float]]) -> Polygon:
    return Polygon([_TO_3857.transform(x, y) for x, y in ring])


RU_CHA, RU_SHA = "Подтвержденная опасная зона", "Предполагаемая опасная зона"


def imsma_core_gdb(folder: Path) -> tuple[Path, dict[str, Any]]:
    path = folder / "imsma_core.gdb"
    orgs = pd.DataFrame({"orgid": ["ORG-ANAMA", "ORG-HALO"],
                         "orgname": ["ANAMA", "HALO Trust"],
                         "orgtype": ["Национальный орган", "НПО"]})
    haz: list[dict[str, Any]] = []
    geoms: list[Polygon] = []

    def hazard(hid: str, cls: str, ring: list[tuple[float, float]], date: str,
               status: str = "Активная", contam: str = "ПП мины, ПТ мины") -> None:
        haz.append({"hazard_localid": hid, "hazard_type": cls, "contamination": contam,
                    "area_ha": "9,0", "dateofinfo": date, "org": "ORG-HALO",
                    "status": status, "hazard_name_ru": f"Поле {hid}",
                    "province": "Физули", "last_editor": "admin",
                    "imsma_guid": "{" + hid.lower() + "-guid}"})
        geoms.append(merc(ring))

    hazard("HA-001", RU_CHA, square(0), "12.03.2015")
    hazard("HA-002", RU_CHA, square(1), "2016-04-01")
    hazard("HA-003", RU_SHA, square(2), "01.06.2016", contam="НВБ")
    hazard("HA-004", RU_SHA, square(3), "2017-02-10", status="Отменена")   # cancelled whole
    hazard("HA-005", RU_SHA, square(4), "15.07.2018")
    hazard("HA-006", RU_CHA, square(5), "2018-08-01")
    bow = square(6)
    hazard("HA-007", RU_CHA, [bow[0], bow[2], bow[1], bow[3], bow[0]], "2018-09-01")  # bowtie
    two = square(7)
    hazard("HA-008", RU_SHA, [two[0], two[1], two[0], two[1]], "2018-09-02")  # 2 vertices
    hazard("HA-009", RU_SHA, square(0), "2018-09-03")             # the polygon of HA-001
    rep = square(8)
    hazard("HA-010", RU_CHA, [rep[0], rep[1], rep[1], rep[2], rep[3], rep[3], rep[0]],
           "2018-09-04")                                           # repeated vertices
    far = square(9)
    hazard("HA-011", RU_SHA, [far[0], (far[0][0] + 6000 * M_LON, far[0][1]),
                              (far[0][0], far[0][1] + 300 * M_LAT), far[0]], "2018-09-05")
    hazard("HA-012", RU_SHA, [(x + 20.0, y) for x, y in square(10)], "2018-09-06")  # abroad
    hazard("HA-003", RU_CHA, square(11), "2018-09-07")             # the id again
    hazard("HA-013", "Неизвестно", square(12), "2018-09-08")        # code with no mapping
    hazards = gpd.GeoDataFrame(pd.DataFrame(haz), geometry=geoms, crs="EPSG:3857")

    hr_rows = [("HR-001", "HA-001, ACC-001", "Очистка", "Очищена", "Ручной", 20, "Да",
                "10.05.2019", square(0, 150)),
               ("HR-002", "HA-002", "Техническое обследование", "Сокращена", "Техническое",
                None, None, "11.05.2019", square(1, 100)),
               ("HR-003", "HA-999", "Техническое обследование", "Сокращена", "Техническое",
                None, None, "12.05.2019", square(2, 100))]  # dangling link
    hr = gpd.GeoDataFrame(pd.DataFrame([
        {"hr_localid": a, "imsma_links": b, "hr_type": c, "release": d, "method": e,
         "depth_cm": f, "qa": g, "dateofinfo": h, "org": "ORG-HALO"}
        for a, b, c, d, e, f, g, h, _ in hr_rows]),
        geometry=[merc(r[-1]) for r in hr_rows], crs="EPSG:3857")

    acc_rows = [("ACC-001", "05/20/2017", "ПП мина", "Гражданский", "HA-001", square(0)[2]),
                ("ACC-002", "06/21/2017", "НВБ", "Гражданский", "", square(20)[0]),
                ("ACC-003", "07/22/2017", "ПТ мина", "Военный", "HA-777", square(21)[0])]
    acc_geoms = [Point(p) for *_, p in acc_rows]
    acc_geoms[1] = Point(acc_geoms[1].y, acc_geoms[1].x)          # latitude, longitude swapped
    accidents = gpd.GeoDataFrame(pd.DataFrame([
        {"acc_localid": a, "acc_date": b, "device": c, "context": d, "imsma_links": e,
         "village": "Алхан"} for a, b, c, d, e, _ in acc_rows]), geometry=acc_geoms,
        crs="EPSG:4326")
    victims = pd.DataFrame([
        {"victim_localid": "V-1", "imsma_links": "ACC-001", "gender": "Мужской",
         "outcome": "Погиб", "age": "34", "vstatus": "Гражданский", "dateofinfo": "2017-05-20"},
        {"victim_localid": "V-2", "imsma_links": "ACC-001", "gender": "Женский",
         "outcome": "Ранен", "age": "29", "vstatus": "Гражданский", "dateofinfo": "2017-05-20"},
        {"victim_localid": "V-3", "imsma_links": "ACC-002", "gender": "Мужской",
         "outcome": "Ранен", "age": "12", "vstatus": "Гражданский", "dateofinfo": "2017-06-21"},
        {"victim_localid": "V-4", "imsma_links": "ACC-404", "gender": "Мужской",
         "outcome": "Погиб", "age": "50", "vstatus": "Военный", "dateofinfo": "2017-06-21"},
    ])
    eo = gpd.GeoDataFrame(pd.DataFrame([
        {"task_localid": f"EOD-{i}", "org": "ORG-ANAMA", "task_date": f"{i + 1:02d}.03.2020",
         "item": item, "qty": q, "disposal": "Уничтожен на месте"}
        for i, (item, q) in enumerate([("НВБ", 3), ("ПП мина", 1), ("Суббоеприпас", 5)])]),
        geometry=[Point(square(30 + i)[0]) for i in range(3)], crs="EPSG:4326")
    nocrs = gpd.GeoDataFrame(pd.DataFrame([{"acc_localid": "ACC-OLD-1", "acc_date": "01/02/2010",
                                            "device": "НВБ", "context": "Гражданский",
                                            "imsma_links": "", "village": ""}]),
                             geometry=[Point(square(40)[0])], crs=None)
    layers: list[tuple[str, Any]] = [("Organisation", orgs), ("Hazard", hazards),
                                     ("HazardReduction", hr), ("Accident", accidents),
                                     ("Victim", victims), ("EO_Spot_Task", eo),
                                     ("Legacy_Accident", nocrs)]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, df in layers:
            pyogrio.write_dataframe(df, path, layer=name, driver="OpenFileGDB")
    expected = {
        # HA-001, 002, 003, 005, 006, 007 (repaired), 010 (repaired), and 004 (cancelled)
        "hazards": 8, "open": {"CHA": 5, "SHA": 2}, "closed": 1,
        "refused_hazards": {"HA-008": "GEOM_TOO_FEW_VERTICES",
                            "HA-009": "MIGRATE_DUPLICATE_POLYGON",
                            "HA-011": "GEOM_VERTEX_GAP", "HA-012": "GEOM_OUTSIDE_EXTENT",
                            "HA-003": "MIGRATE_DUPLICATE_ID", "HA-013": "MIGRATE_VALUE_UNMAPPED"},
        "repaired": {"HA-007": "make_valid", "HA-010": "repeated vertices",
                     "ACC-002": "swap axes"},
        "items": {"UXO": 3, "AP_mine": 1, "submunition": 5},
        "casualties": {"killed": 1, "injured": 2},   # V-4's accident does not exist
        "accidents": 3, "victims": 3, "releases": {"cleared": 1, "reduced": 1, "cancelled": 1},
        "links": {"HR-001": "HA-001", "V-1": "ACC-001", "ACC-001": "HA-001"},
        "dangling": {"HR-003", "V-4"},
    }
    return path, expected


AZ_CHA, AZ_SHA = "Təsdiqlənmiş təhlükəli ərazi", "Şübhəli təhlükəli ərazi"


def imsma_ng_xlsx(folder: Path) -> tuple[Path, dict[str, Any]]:
    path = folder / "imsma_ng_export.xlsx"
    orgs = pd.DataFrame({"Organisation ID": ["ORG-ANAMA", "ORG-HALO"],
                         "Name": ["ANAMA", "HALO Trust"],
                         "Type": ["Milli orqan", "QHT"]})
    hazards, points = [], []

    def hazard(hid: int, status: str, ring: list[tuple[float, float]], date: Any,
               cancelled: str = "Xeyr", area_km2: float = 0.09) -> None:
        hazards.append({"Hazard ID": hid, "Status": status, "Contamination": "PP minalar",
                        "Area (km2)": area_km2, "Date": date, "Cancelled": cancelled,
                        "Region": "Ağdam", "Land use": "Kənd təsərrüfatı",
                        "Operator": "ORG-HALO"})
        for n, (x, y) in enumerate(ring[:-1], start=1):
            points.append({"Hazard ID": hid, "Point No": n, "Latitude": y, "Longitude": x})

    hazard(1001, AZ_CHA, square(50), dt.datetime(2014, 5, 6))      # a date cell
    hazard(1002, AZ_SHA, square(51), 42_000)                       # an Excel serial number
    hazard(1003, AZ_SHA, square(52), "03.07.2016", cancelled="Bəli")
    bow = square(53)
    hazard(1004, AZ_CHA, [bow[0], bow[2], bow[1], bow[3], bow[0]], "2016-08-09")  # bowtie
    two = square(54)
    hazard(1005, AZ_SHA, [two[0], two[1], two[0]], "2016-08-10")  # 2 vertices
    hazard(1006, AZ_CHA, square(55), "31.12.2016")
    accidents = pd.DataFrame([
        {"Accident ID": "A-1", "Accident Date": "03/15/2018", "Latitude": square(50)[2][1],
         "Longitude": square(50)[2][0], "Device": "Tank əleyhinə mina",
         "Linked Hazards": "1001; 1006", "Witness": "Ramil", "Home address": "Qaraqaya 12"},
        {"Accident ID": "A-2", "Accident Date": "04/16/2018", "Latitude": square(60)[0][1],
         "Longitude": square(60)[0][0], "Device": "PP mina", "Linked Hazards": None,
         "Witness": None, "Home address": None}])
    victims = pd.DataFrame([
        {"Victim ID": "VA-1", "Accident ID": "A-1", "Gender": "Kişi", "Outcome": "Həlak olub",
         "Age": 41, "Date": "2018-03-15"},
        {"Victim ID": "VA-2", "Accident ID": "A-2", "Gender": "Qadın", "Outcome": "Yaralanıb",
         "Age": 8, "Date": "2018-04-16"}])
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        orgs.to_excel(xl, sheet_name="Organisations", index=False)
        pd.DataFrame(hazards).to_excel(xl, sheet_name="Hazards", index=False)
        pd.DataFrame(points).to_excel(xl, sheet_name="Hazard Polygon Points", index=False)
        accidents.to_excel(xl, sheet_name="Accidents", index=False)
        victims.to_excel(xl, sheet_name="Victims", index=False)
    expected = {"hazards": 5, "open": {"CHA": 3, "SHA": 1}, "closed": 1,
                "refused_hazards": {"1005": "GEOM_TOO_FEW_VERTICES"},
                "repaired": {"1004": "make_valid"},
                "casualties": {"killed": 1, "injured": 1}, "accidents": 2, "victims": 2,
                "links": {"A-1": "HA-1001"}, "several": {"A-1"},
                "dates": {"HA-1001": "2014-05-06", "HA-1002": "2014-12-27",
                          "HA-1003": "2016-07-03", "A-1": "2018-03-15"},
                "area_m2": {"HA-1001": 90_000.0}}
    return path, expected
