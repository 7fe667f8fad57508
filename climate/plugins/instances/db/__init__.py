"""The virtual:instance plugin's database functions; callers import ``api``."""
