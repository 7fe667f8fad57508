"""Policy enforcement: who may do what, from oslo.policy and the defaults in
``climate.policies``.

The API builds one ``Enforcer`` per application and asks it before every
action; an operator's policy file (``[oslo_policy] policy_file``) overrides
any default and is re-read when it changes.
"""

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from climate import exceptions, policies

CONF = cfg.CONF


def get_enforcer(conf=None):
    """A new enforcer with Climate's defaults registered.

    Also the ``oslo.policy.enforcer`` entry point, through which
    ``oslopolicy-checker`` and ``oslopolicy-policy-generator`` see the
    effective policy.
    """
    enforcer = oslo_policy.Enforcer(conf or CONF)
    enforcer.register_defaults(policies.list_rules())
    return enforcer


def authorize(enforcer, context, action, target=None):
    """Check that ``context`` may perform ``action`` on ``target``.

    :param target: the object acted on, at least its ``project_id``;
        default: the caller's own project.
    :raises PolicyNotAuthorized: the policy says no (also when the token's
        scope does not suit the action).
    """
    if target is None:
        target = {
            "project_id": context.project_id,
            "user_id": context.user_id,
        }
    try:
        allowed = enforcer.authorize(action, target, context)
    except oslo_policy.InvalidScope:
        allowed = False
    if not allowed:
        raise exceptions.PolicyNotAuthorized(
            action=action, requires=_requirement(enforcer, action)
        )


def _requirement(enforcer, action):
    """The check string of ``action``'s effective rule, so that a refusal
    says what would be allowed (``rule:context_is_admin``, ...)."""
    rule = enforcer.rules.get(action)
    return str(rule) if rule is not None else None


def check(enforcer, context, action, target=None):
    """Like ``authorize`` but answers True or False."""
    try:
        authorize(enforcer, context, action, target)
    except exceptions.PolicyNotAuthorized:
        return False
    return True


#: Reaching another project's lease: one rule, read by the API and the
#: manager alike.
ALL_PROJECTS = "climate:leases:get:all_projects"


def lease_scope(enforcer, context):
    """The project whose leases ``context`` may reach by id, or None for
    every project (``climate:leases:get:all_projects``).

    Whether the caller may then read, change or delete such a lease is
    the action's own rule; out of its scope a lease is not found.
    """
    if check(enforcer, context, ALL_PROJECTS):
        return None
    return context.project_id


def check_is_admin(enforcer, context):
    """Whether ``context_is_admin`` holds for the caller."""
    credentials = context.to_policy_values()
    return enforcer.authorize("context_is_admin", credentials, context)
