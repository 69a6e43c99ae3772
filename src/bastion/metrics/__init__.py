"""Public 2FA metrics: aggregate figures, daily snapshots, the /stats/2fa page and /metrics."""
