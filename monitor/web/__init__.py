"""The web view and the operations endpoints (/healthz, /readyz, /metrics)."""
