"""Field data intake and open exchange.

Field forms (ODK Collect, KoboCollect, Survey123) and partners' geodata come in through
``import_path``: read, converted to dated reports, checked at the gate, proposed for
reconciliation and left in the holding area for approval. Exporters give the record back as
GeoPackage, GeoJSON, HXL CSV and the IMAS land release summary. See docs/intake.md.
"""

from safeground.intake.importer import ImportSummary, detect, import_path

__all__ = ["ImportSummary", "detect", "import_path"]
