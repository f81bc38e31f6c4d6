"""The web app, the JSON API and OGC API – Features, with users, roles and the audit trail.

``create_app(settings)`` builds the FastAPI application (``safeground.web.app``);
``safeground serve`` runs it. See docs/web.md.
"""

from safeground.web.app import create_app

__all__ = ["create_app"]
