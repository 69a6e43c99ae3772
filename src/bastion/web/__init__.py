"""Web UI: server-rendered pages, templates and the WebAuthn glue script."""
