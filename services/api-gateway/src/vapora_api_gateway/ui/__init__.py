"""The web UI: a no-build ES-module app over the REST API, served by the gateway itself (docs/ui.md)."""
