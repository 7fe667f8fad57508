"""The checked-in samples are what the oslo generators make of the code:
etc/climate.conf of the options, etc/policy.yaml.sample of the policies."""

import os
import subprocess
import sys

import pytest

from climate.conf import opts, service_credentials
from tests import helpers


@pytest.mark.parametrize(
    ("generator", "generator_conf", "sample"),
    [
        (
            "oslo-config-generator",
            "etc/climate-config-generator.conf",
            "etc/climate.conf",
        ),
        (
            "oslopolicy-sample-generator",
            "etc/climate-policy-generator.conf",
            "etc/policy.yaml.sample",
        ),
    ],
    ids=["config", "policy"],
)
def test_checked_in_sample_is_current(
    tmp_path, generator, generator_conf, sample
):
    generated = tmp_path / os.path.basename(sample)
    subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), generator),
            "--config-file",
            os.path.join(helpers.ROOT, generator_conf),
            "--output-file",
            str(generated),
        ],
        check=True,
        capture_output=True,
        cwd=helpers.ROOT,
    )
    with open(os.path.join(helpers.ROOT, sample)) as checked_in:
        assert generated.read_text() == checked_in.read(), (
            f"{sample} is stale: regenerate it with "
            f"{generator} --config-file {generator_conf}"
        )


def test_every_option_has_help():
    for group, group_opts in opts.list_opts():
        if getattr(group, "name", group) == service_credentials.GROUP:
            continue  # keystoneauth1's own options, and its own help
        for opt in group_opts:
            assert opt.help and len(opt.help) > 20, (group, opt.name)
