"""What fields and vocabulary values are called, in words: one table for the web pages, the
forms, the reports and the charts, translated by the catalogues (``safeground.i18n``).

``field(name)`` and ``value(code)`` give the label in the language in use; a name or code
with no label here is shown as it is, with ``_`` read as a space (a test checks that every
field of ``REPORT_SPECS`` and every vocabulary value has one).
"""

from __future__ import annotations

from typing import Any

from safeground.i18n import N_, _

#: payload and header fields
FIELDS: dict[str, str] = {
    "accident_id": N_("Accident"),
    "activity_at_time": N_("Activity at the time"),
    "activity_id": N_("Activity"),
    "activity_type": N_("Activity type"),
    "address": N_("Address"),
    "admin_area_id": N_("Administrative area"),
    "age": N_("Age"),
    "asset": N_("Asset"),
    "benchmark": N_("Benchmark"),
    "beneficiaries": N_("Beneficiaries"),
    "boys": N_("Boys"),
    "category": N_("Category"),
    "classification": N_("Classification"),
    "condition": N_("Condition"),
    "contamination": N_("Contamination"),
    "context": N_("Context"),
    "country": N_("Country"),
    "date_of_birth": N_("Date of birth"),
    "depth_cm": N_("Depth (cm)"),
    "description": N_("Description"),
    "device_category": N_("Device category"),
    "displaced_population": N_("Displaced population"),
    "disposal": N_("Disposal"),
    "end_date": N_("End date"),
    "estimated_area_m2": N_("Estimated area (m²)"),
    "girls": N_("Girls"),
    "hazardous_area_id": N_("Hazardous area"),
    "kind": N_("Kind"),
    "land_use": N_("Land use"),
    "level": N_("Level"),
    "men": N_("Men"),
    "method": N_("Method"),
    "model": N_("Model"),
    "name": N_("Name"),
    "nonconformities": N_("Nonconformities"),
    "notes": N_("Notes"),
    "organisation_id": N_("Organisation"),
    "outcome": N_("Outcome"),
    "parent_id": N_("Parent area"),
    "pcode": N_("P-code"),
    "pre_conflict_population": N_("Pre-conflict population"),
    "provider": N_("Provider"),
    "qa_passed": N_("QA passed"),
    "quantity": N_("Quantity"),
    "release": N_("Release"),
    "reliability": N_("Reliability"),
    "result": N_("Result"),
    "return_status": N_("Return status"),
    "returned_population": N_("Returned population"),
    "service": N_("Service"),
    "settlement_id": N_("Settlement"),
    "sex": N_("Sex"),
    "size": N_("Size"),
    "source": N_("Source"),
    "start_date": N_("Start date"),
    "status": N_("Status"),
    "team_id": N_("Team"),
    "victim_id": N_("Victim"),
    "women": N_("Women"),
    # the report header and what the record derives
    "id": N_("Id"),
    "organisation": N_("Organisation"),
    "author": N_("Author"),
    "date_of_information": N_("Date of information"),
    "area_m2": N_("Area (m²)"),
    "remaining_m2": N_("Remaining (m²)"),
    "original_m2": N_("Original area (m²)"),
    "reopened_m2": N_("Reopened (m²)"),
    "cancelled_m2": N_("Cancelled (m²)"),
    "reduced_m2": N_("Reduced (m²)"),
    "cleared_m2": N_("Cleared (m²)"),
    "items_found": N_("Items found"),
    "killed": N_("Killed"),
    "injured": N_("Injured"),
    "last_report_id": N_("Last report"),
    "updated_at": N_("Updated"),
    "created_at": N_("Created"),
    "report_type": N_("Report type"),
    "first_date": N_("First date"),
    "last_date": N_("Last date"),
    "first_report_id": N_("First report"),
    "reports": N_("Reports"),
    "object_id": N_("Object"),
}

#: vocabulary values (``safeground.record.vocabulary``): one label per code, whatever list
#: it is in (``military`` is the same word as a context, a victim status and a kind)
VALUES: dict[str, str] = {
    # report types
    "organisation": N_("organisation"),
    "team": N_("team"),
    "admin_area": N_("administrative area"),
    "settlement": N_("settlement"),
    "hazardous_area": N_("hazardous area"),
    "evidence": N_("evidence"),
    "activity": N_("activity"),
    "land_release": N_("land release"),
    "ordnance": N_("explosive ordnance"),
    "accident": N_("accident"),
    "victim": N_("victim"),
    "risk_education": N_("risk education"),
    "referral": N_("referral"),
    "qa_visit": N_("QA/QC visit"),
    # report status
    "submitted": N_("submitted"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    # hazardous areas
    "SHA": N_("SHA"),
    "CHA": N_("CHA"),
    "open": N_("open"),
    "worked_on": N_("worked on"),
    "closed": N_("closed"),
    "AP": N_("anti-personnel mines"),
    "AT": N_("anti-vehicle mines"),
    "ERW": N_("explosive remnants of war"),
    "cluster": N_("cluster munitions"),
    "IED": N_("improvised explosive devices"),
    # land use
    "built_up": N_("built-up"),
    "farmland": N_("farmland"),
    "pasture": N_("pasture"),
    "forest": N_("forest"),
    "road": N_("road"),
    "water": N_("water"),
    "infrastructure": N_("infrastructure"),
    "other": N_("other"),
    # evidence
    "direct": N_("direct"),
    "indirect": N_("indirect"),
    "observed": N_("observed"),
    "verbal": N_("verbal"),
    "records": N_("records"),
    "eo_observed": N_("explosive ordnance observed"),
    "detonation": N_("detonation"),
    "marking": N_("hazard marking"),
    "records_reliable": N_("reliable records"),
    "find": N_("find"),
    "combat_zone": N_("combat zone"),
    "military_position": N_("military position"),
    "unused_land": N_("unused land"),
    "records_unreliable": N_("unreliable records"),
    "imagery": N_("imagery"),
    "high": N_("high"),
    "medium": N_("medium"),
    "low": N_("low"),
    # activities and release
    "planned": N_("planned"),
    "ongoing": N_("ongoing"),
    "suspended": N_("suspended"),
    "completed": N_("completed"),
    "nts": N_("non-technical survey"),
    "ts": N_("technical survey"),
    "clearance": N_("clearance"),
    "bac": N_("battle area clearance"),
    "eod_spot": N_("EOD spot task"),
    "post_clearance": N_("post-clearance inspection"),
    "manual": N_("manual"),
    "dog": N_("mine detection dogs"),
    "machine": N_("machine"),
    "eod": N_("EOD"),
    "eore": N_("EORE"),
    "desk": N_("desk assessment"),
    "mixed": N_("mixed"),
    "cancelled": N_("cancelled"),
    "reduced": N_("reduced"),
    "cleared": N_("cleared"),
    # explosive ordnance
    "AP_mine": N_("anti-personnel mine"),
    "AT_mine": N_("anti-vehicle mine"),
    "UXO": N_("unexploded ordnance"),
    "AXO": N_("abandoned explosive ordnance"),
    "submunition": N_("submunition"),
    "small_arms": N_("small arms ammunition"),
    "armed": N_("armed"),
    "unarmed": N_("unarmed"),
    "damaged": N_("damaged"),
    "unknown": N_("unknown"),
    "destroyed_in_situ": N_("destroyed in situ"),
    "removed_and_destroyed": N_("removed and destroyed"),
    "rendered_safe": N_("rendered safe"),
    "not_disposed": N_("not disposed"),
    # accidents and victims
    "civilian": N_("civilian"),
    "demining": N_("demining"),
    "military": N_("military"),
    "deminer": N_("deminer"),
    "killed": N_("killed"),
    "injured": N_("injured"),
    "female": N_("female"),
    "male": N_("male"),
    # risk education
    "session": N_("group session"),
    "house_to_house": N_("house to house"),
    "school": N_("school"),
    "media": N_("media"),
    "digital": N_("digital"),
    # quality management
    "QA": N_("QA"),
    "QC": N_("QC"),
    "pass": N_("pass"),
    "fail": N_("fail"),
    # organisations
    "national_authority": N_("national authority"),
    "ngo": N_("NGO"),
    "commercial": N_("commercial"),
    "un": N_("UN"),
    "government": N_("government"),
    # referrals
    "medical": N_("medical"),
    "rehabilitation": N_("rehabilitation"),
    "psychosocial": N_("psychosocial"),
    "economic": N_("economic"),
    "social": N_("social"),
    "education": N_("education"),
    "referred": N_("referred"),
    "in_progress": N_("in progress"),
    "declined": N_("declined"),
    # what the review queue proposes for a report
    "new": N_("new"),
    "update": N_("update"),
    "duplicate": N_("probable duplicate"),
    "link": N_("link"),
    # settlements
    "not_returned": N_("not returned"),
    "partial": N_("partly returned"),
    "returned": N_("returned"),
}


#: the prioritisation criteria (the planner's ``points_<criterion>`` columns)
CRITERIA: dict[str, str] = {
    "casualties": N_("casualties"),
    "socio_economic": N_("socio-economic impact"),
    "resettlement": N_("resettlement"),
    "reconstruction": N_("reconstruction"),
    "food_security": N_("food security"),
    "other": N_("other priorities"),
    "displaced_people": N_("displaced people"),
}


def _plain(code: str) -> str:
    return code.replace("_", " ")


def field(name: Any) -> str:
    """A field's label in the language in use (``depth_cm`` -> ``Depth (cm)``)."""
    key = str(name)
    label = FIELDS.get(key)
    return _(label) if label else _plain(key)


def value(code: Any) -> str:
    """A vocabulary value's label in the language in use (``AP_mine`` -> ``anti-personnel
    mine``); anything else (an id, a number, a name) as it is."""
    if code is None:
        return ""
    key = str(code)
    label = VALUES.get(key)
    return _(label) if label else key


def criterion(code: Any) -> str:
    """A prioritisation criterion's name in the language in use (``food_security`` ->
    ``food security``)."""
    key = str(code)
    label = CRITERIA.get(key)
    return _(label) if label else _plain(key)


def capital(text: str) -> str:
    """``text`` with its first letter upper case (a label at the start of a line)."""
    return text[:1].upper() + text[1:]
