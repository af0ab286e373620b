"""The web layer: FastAPI app, native REST API, and the other API surfaces. Thin: routes call services."""
