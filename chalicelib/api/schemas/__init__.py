"""Request and response models of the HTTP API: parsed and shaped in ``api/``, declared on each route
(``api/http.py``'s ``endpoint``) and turned into the OpenAPI document (``api/openapi.py``)."""
