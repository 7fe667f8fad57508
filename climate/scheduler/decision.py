"""Whether a reserved or on-demand request may land on a host.

A pure function of what nova-scheduler knows: the host's aggregates (name
and metadata), the request's scheduler hints and its project.  It imports
nothing from nova, so it is tested without it.
"""

OWNER_KEY = "climate:owner"
FREEPOOL_KEY = "climate:freepool"
HINT = "reservation"
#: The extra spec of an instance reservation's flavor naming it.
FLAVOR_KEY = "climate:reservation"
#: The metadata of a reserved server's pool naming the server.
SERVER_KEY = "climate:server"


def host_passes(
    aggregates,
    hints,
    project_id,
    freepool_name="freepool",
    flavor_specs=None,
    instance_uuid=None,
):
    """Decide whether a request may use a host.

    * a host in the free pool never passes (it waits for leases);
    * a request without the ``reservation`` hint passes only on hosts in
      no Climate pool;
    * a request with ``reservation=<id>`` passes only on a host in the
      pool named ``<id>``, and only when the request's project owns it;
    * a request whose flavor is an instance reservation's (extra spec
      ``climate:reservation=<id>``) passes only on a host in the pool
      ``<id>`` the request's project owns, even a host also in the free
      pool (instance reservations share hosts kept from other use);
    * a reserved server (its pool's ``climate:server`` metadata names
      it) passes on its pool's hosts when its project owns the pool,
      even hosts also in the free pool: the plugin unshelves it there.

    :param aggregates: the host's aggregates as ``(name, metadata)`` pairs.
    :param hints: the request's scheduler hints; nova gives each value as
        a list, a plain string is accepted too.
    :param project_id: the project the request is made in.
    :param freepool_name: the free pool's name, if its aggregate lacks
        the ``climate:freepool`` mark.
    :param flavor_specs: the extra specs of the request's flavor.
    :param instance_uuid: the server the request is for.
    :returns: bool.
    """
    if instance_uuid and any(
        (metadata or {}).get(SERVER_KEY) == instance_uuid
        and (metadata or {}).get(OWNER_KEY) == project_id
        for _, metadata in aggregates
    ):
        return True
    flavored = (flavor_specs or {}).get(FLAVOR_KEY)
    if flavored:
        return any(
            name == flavored and (metadata or {}).get(OWNER_KEY) == project_id
            for name, metadata in aggregates
        )
    owned = {}
    for name, metadata in aggregates:
        metadata = metadata or {}
        if name == freepool_name or FREEPOOL_KEY in metadata:
            return False
        if OWNER_KEY in metadata:
            owned[name] = metadata[OWNER_KEY]
    wanted = _hint(hints)
    if wanted is None:
        return not owned
    return wanted in owned and owned[wanted] == project_id


def _hint(hints):
    value = (hints or {}).get(HINT)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return value or None
