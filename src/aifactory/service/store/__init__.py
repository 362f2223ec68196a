"""The service's store: database rows to domain objects and back, and the one place for the queries
and row locks the routes and the worker share (no dialect branch outside :mod:`.locks`)."""
