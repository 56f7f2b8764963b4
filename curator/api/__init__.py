"""The HTTP service (API v0): one FastAPI app, one router per resource, key-based roles."""
