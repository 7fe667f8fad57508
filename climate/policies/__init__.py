"""Climate's policy defaults, in code (one module per resource).

``list_rules()`` is what the ``oslo.policy.policies`` entry point returns,
so ``oslopolicy-sample-generator --namespace climate`` writes a sample
policy file from these defaults; an operator's policy file overrides any of
them.  Each installed resource plugin brings its own rules
(``ResourcePlugin.policies``).
"""

import itertools

from climate import plugins
from climate.policies import base, leases, metrics


def list_rules():
    """Every rule Climate registers: the shared ones first, then the
    leases', the metrics', then each installed plugin's (by entry point
    name)."""
    rules = {}
    for rule in itertools.chain(
        base.list_rules(),
        leases.list_rules(),
        metrics.list_rules(),
        *(cls.policies() for cls in plugins.installed().values()),
    ):
        # A plugin class that inherits another's rules lists them again.
        rules.setdefault(rule.name, rule)
    return list(rules.values())
