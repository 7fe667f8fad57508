"""The OpenStackClient plugin: ``openstack reservation ...``."""
