"""The climate command and the Python client against a real climate-all."""
