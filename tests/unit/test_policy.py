"""Policy defaults in code and the entry points oslo.policy's tools use."""

from oslo_policy import policy as oslo_policy
from stevedore import driver

from climate import context, exceptions, policies, policy

EXPECTED = {
    "climate:leases:get",
    "climate:leases:get:all_projects",
    "climate:leases:post",
    "climate:leases:put",
    "climate:leases:delete",
    "climate:oshosts:get",
    "climate:oshosts:post",
    "climate:oshosts:put",
    "climate:oshosts:delete",
    "climate:oshosts:properties:get",
    "climate:oshosts:properties:patch",
    "climate:allocations:get",
}


def _ctx(roles, project="p1"):
    return context.RequestContext(
        user_id="u", project_id=project, roles=roles, overwrite=False
    )


def test_one_documented_rule_per_api_action():
    rules = {r.name: r for r in policies.list_rules()}

    assert EXPECTED <= set(rules)
    for name in EXPECTED:
        assert isinstance(rules[name], oslo_policy.DocumentedRuleDefault)
        assert rules[name].scope_types == ["project"]


def test_the_entry_points_give_the_defaults_and_an_enforcer(config):
    listed = driver.DriverManager(
        "oslo.policy.policies", "climate", invoke_on_load=False
    ).driver
    assert {r.name for r in listed()} >= EXPECTED
    make = driver.DriverManager(
        "oslo.policy.enforcer", "climate", invoke_on_load=False
    ).driver
    enforcer = make()
    assert EXPECTED <= set(enforcer.registered_rules)


def test_defaults(config):
    enforcer = policy.get_enforcer()
    own = {"project_id": "p1"}
    other = {"project_id": "p2"}

    def allowed(roles, action, target):
        return policy.check(enforcer, _ctx(roles), action, target)

    assert allowed(["reader"], "climate:leases:get", own)
    assert not allowed(["reader"], "climate:leases:post", own)
    assert allowed(["member"], "climate:leases:put", own)
    assert not allowed(["member", "reader"], "climate:leases:get", other)
    assert allowed(["admin"], "climate:leases:delete", other)
    assert not allowed(["member"], "climate:oshosts:get", own)
    assert allowed(["admin"], "climate:allocations:get", own)
    assert policy.check_is_admin(enforcer, _ctx(["admin"]))
    assert not policy.check_is_admin(enforcer, _ctx(["administrator"]))


def test_a_refusal_names_the_rule(config):
    enforcer = policy.get_enforcer()

    try:
        policy.authorize(enforcer, _ctx(["reader"]), "climate:leases:post")
    except exceptions.PolicyNotAuthorized as exc:
        assert exc.code == 403
        assert exc.message == (
            "Policy does not allow climate:leases:post to be performed; "
            "it requires rule:project_member_or_admin"
        )
    else:
        raise AssertionError("not refused")
