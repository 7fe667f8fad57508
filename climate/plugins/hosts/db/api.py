"""The physical:host plugin's database facade.

Like ``climate.db.api`` for the core, this is the module the plugin's code
imports to reach its tables: functions are verb-first, open (or join) a
reader or writer transaction of ``climate.db.engine``, take and return
plain dicts, and raise Climate's ``NotFound`` subclasses.  Inside a lease's
transaction they join it, so an allocation commits or rolls back with the
lease that owns it.
"""

from climate.db.engine import reader, writer  # noqa: F401
from climate.plugins.hosts.db.allocations import (  # noqa: F401
    host_allocate,
    host_allocation_blockers,
    host_allocations_conflicting,
    host_allocations_delete,
    host_allocations_list,
    host_allocations_lock,
    host_allocations_move,
    host_allocations_of,
    host_busy_windows,
    host_calendar,
    host_next_allocation_start,
    host_previous_holders,
)
from climate.plugins.hosts.db.hosts import (  # noqa: F401
    host_create,
    host_destroy,
    host_get,
    host_ids_matching,
    host_leases_holding,
    host_list,
    host_lock,
    host_properties_list,
    host_property_update,
    host_query_check_fields,
    host_reservations_using,
    host_update,
)
from climate.plugins.hosts.db.power import (  # noqa: F401
    host_allocations_meeting,
    host_allocations_of_host,
    host_power_get,
    host_power_move,
    host_power_overview,
    host_power_set,
    host_power_target,
)
from climate.plugins.hosts.db.provisioning import (  # noqa: F401
    block_create,
    block_destroy,
    block_get,
    block_list,
    block_slot_update,
    host_access_condition,
    host_count_reservable,
    host_provisioning_get,
    host_provisioning_set,
    image_create,
    image_destroy,
    image_get,
    image_list,
    leases_started,
    load_counts,
    load_durations,
    load_record,
    loads_of,
    loads_plan,
    loads_planned,
    loads_unplan,
    reservation_image_delete,
    reservation_image_fields,
    reservation_image_set,
)
from climate.plugins.hosts.db.reservations import (  # noqa: F401
    host_counts_by_lease,
    host_reservation_create,
    host_reservation_fields,
    host_reservation_update,
    reservation_hosts,
    reservations_to_hand_over,
)
from climate.plugins.hosts.db.shares import (  # noqa: F401
    host_share_allocate,
    host_share_largest,
    host_share_timeline,
    host_shares_of,
)
