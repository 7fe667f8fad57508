"""``ClimateFilter``, a nova-scheduler host filter.

Enable it in nova.conf (README, "Nova scheduler filter")::

    [filter_scheduler]
    available_filters = nova.scheduler.filters.all_filters
    available_filters = climate.scheduler.filters.ClimateFilter
    enabled_filters = ...,ClimateFilter

It runs inside nova-scheduler, so it needs nova installed beside Climate
(the ``nova`` extra of the ``climate-leases`` distribution);
``climate.scheduler.decision`` holds the decision itself and does not.
"""

from oslo_config import cfg

from climate.scheduler import decision

try:
    from nova.scheduler import filters as nova_filters
except ImportError as exc:
    if not (exc.name or "").split(".")[0] == "nova":
        raise
    raise ImportError(
        "climate.scheduler.filters.ClimateFilter is a nova-scheduler filter "
        "and needs nova, which is not installed: install Climate with its "
        "nova extra (climate-leases[nova]) in nova-scheduler's environment",
        name=exc.name,
    ) from exc

CONF = cfg.CONF

# Registered on nova-scheduler's configuration, not Climate's.
climate_group = cfg.OptGroup("climate", title="Climate scheduler filter")
climate_opts = [
    cfg.StrOpt(
        "freepool_name",
        default="freepool",
        help="Name of Climate's free pool aggregate; hosts in it never "
        "take servers.  Must equal Climate's [compute] freepool_name.",
    ),
]
CONF.register_group(climate_group)
CONF.register_opts(climate_opts, group=climate_group)


class ClimateFilter(nova_filters.BaseHostFilter):
    """Keeps reserved hosts for their lease's project, free hosts idle.

    See ``climate.scheduler.decision.host_passes``.
    """

    run_filter_once_per_request = False
    RUN_ON_REBUILD = False

    def host_passes(self, host_state, spec_obj):
        aggregates = [
            (aggregate.name, aggregate.metadata)
            for aggregate in host_state.aggregates
        ]
        hint = spec_obj.get_scheduler_hint(decision.HINT)
        specs = {}
        if spec_obj.obj_attr_is_set("flavor"):
            specs = spec_obj.flavor.extra_specs or {}
        return decision.host_passes(
            aggregates,
            {decision.HINT: hint},
            spec_obj.project_id,
            freepool_name=CONF.climate.freepool_name,
            flavor_specs=specs,
            instance_uuid=(
                spec_obj.instance_uuid
                if spec_obj.obj_attr_is_set("instance_uuid")
                else None
            ),
        )
