"""etc/climate.conf is what oslo-config-generator makes of the options."""

import os
import subprocess
import sys

from climate.conf import opts, service_credentials
from tests import helpers

GENERATOR_CONF = os.path.join(
    helpers.ROOT, "etc", "climate-config-generator.conf"
)
SAMPLE = os.path.join(helpers.ROOT, "etc", "climate.conf")


def test_checked_in_sample_is_current(tmp_path):
    generated = tmp_path / "climate.conf"
    generator = os.path.join(
        os.path.dirname(sys.executable), "oslo-config-generator"
    )
    subprocess.run(
        [
            generator,
            "--config-file",
            GENERATOR_CONF,
            "--output-file",
            str(generated),
        ],
        check=True,
        capture_output=True,
        cwd=helpers.ROOT,
    )
    with open(SAMPLE) as checked_in:
        assert generated.read_text() == checked_in.read(), (
            "etc/climate.conf is stale: regenerate it with "
            "oslo-config-generator --config-file "
            "etc/climate-config-generator.conf"
        )


def test_every_option_has_help():
    for group, group_opts in opts.list_opts():
        if getattr(group, "name", group) == service_credentials.GROUP:
            continue  # keystoneauth1's own options, and its own help
        for opt in group_opts:
            assert opt.help and len(opt.help) > 20, (group, opt.name)


POLICY_GENERATOR_CONF = os.path.join(
    helpers.ROOT, "etc", "climate-policy-generator.conf"
)
POLICY_SAMPLE = os.path.join(helpers.ROOT, "etc", "policy.yaml.sample")


def test_checked_in_policy_sample_is_current(tmp_path):
    generated = tmp_path / "policy.yaml"
    generator = os.path.join(
        os.path.dirname(sys.executable), "oslopolicy-sample-generator"
    )
    subprocess.run(
        [
            generator,
            "--config-file",
            POLICY_GENERATOR_CONF,
            "--output-file",
            str(generated),
        ],
        check=True,
        capture_output=True,
        cwd=helpers.ROOT,
    )
    with open(POLICY_SAMPLE) as checked_in:
        assert generated.read_text() == checked_in.read(), (
            "etc/policy.yaml.sample is stale: regenerate it with "
            "oslopolicy-sample-generator --config-file "
            "etc/climate-policy-generator.conf"
        )
