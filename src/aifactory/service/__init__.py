"""The operations service: a FastAPI app over a SQLAlchemy database (SQLite by default, PostgreSQL by URL).

``create_app(settings)`` in :mod:`aifactory.service.app` builds the app; :mod:`aifactory.service.admin`
holds the use cases the CLI calls (database upgrade, bootstrap).
"""
