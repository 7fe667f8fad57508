"""The physical:host plugin's database functions; callers import ``api``."""
