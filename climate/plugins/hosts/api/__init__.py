"""The physical:host plugin's API routes (used by the API process only)."""
