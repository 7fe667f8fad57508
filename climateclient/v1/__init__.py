"""Managers of the reservation API v1, one module per resource."""
