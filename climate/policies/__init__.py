"""Climate's policy defaults, in code (one module per resource).

``list_rules()`` is what the ``oslo.policy.policies`` entry point returns,
so ``oslopolicy-sample-generator --namespace climate`` writes a sample
policy file from these defaults; an operator's policy file overrides any of
them.
"""

import itertools

from climate.policies import allocations, base, hosts, leases, metrics


def list_rules():
    """Every rule Climate registers: the shared ones first."""
    return list(
        itertools.chain(
            base.list_rules(),
            leases.list_rules(),
            hosts.list_rules(),
            allocations.list_rules(),
            metrics.list_rules(),
        )
    )
