"""The XLSForms field teams fill in with ODK Collect, KoboCollect or Survey123.

``spec.FORMS`` describes each form as sections, one per report type it produces; the ``.xlsx``
files beside this module are built from it (``builder.build_all``) and from ``REPORT_SPECS``, so
form choices and the gate checks cannot drift apart. The intake parsers read the same specs to
turn a submission back into dated field reports.
"""

from safeground.forms.spec import FORMS, FormSpec, Section, form_for

__all__ = ["FORMS", "FormSpec", "Section", "form_for"]
