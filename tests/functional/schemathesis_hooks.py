"""Schemathesis hooks of tests/functional/test_openapi.py: a check that no
answer carries a Python traceback, beside schemathesis' own checks."""

import schemathesis


@schemathesis.check
def no_traceback(ctx, response, case):
    """Climate answers errors with a message, never a traceback."""
    text = response.text or ""
    if "Traceback (most recent call last)" in text or 'File "/' in text:
        raise AssertionError(f"a traceback in the answer: {text[:300]}")
