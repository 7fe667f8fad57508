"""Climate's nova-scheduler filter (``climate.scheduler.filters``) and the
decision it makes (``climate.scheduler.decision``, importable without
nova)."""
