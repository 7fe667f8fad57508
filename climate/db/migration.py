"""Alembic, driven from code: upgrade, current revision, new revision.

One history holds the core's revisions (``migrations/versions``) and those
of every installed resource plugin (``ResourcePlugin.migrations_dir``),
enabled or not, so a database has every installed plugin's tables.
"""

import importlib
import os

from alembic import command, script
from alembic import config as alembic_config
from alembic import migration as alembic_migration

from climate.db import engine, models

_SCRIPT_LOCATION = os.path.join(os.path.dirname(__file__), "migrations")
CORE_VERSIONS = os.path.join(_SCRIPT_LOCATION, "versions")


def _installed_plugins():
    # Imported here: the plugins sit above the database layer, which asks
    # them only which tables and revisions they bring.
    from climate import plugins

    return plugins.installed().values()


def version_locations():
    """The directories of the revisions: the core's, then the plugins'."""
    locations = [CORE_VERSIONS]
    for plugin_class in _installed_plugins():
        location = plugin_class.migrations_dir
        if location and location not in locations:
            locations.append(location)
    return locations


def metadata():
    """The metadata of every table: the core's and the installed plugins'.

    What the migrations must build (autogenerate and the tests compare
    them); importing a plugin's models module adds its tables.
    """
    for plugin_class in _installed_plugins():
        if plugin_class.models_module:
            importlib.import_module(plugin_class.models_module)
    return models.Base.metadata


def _config():
    cfg = alembic_config.Config()
    cfg.set_main_option("script_location", _SCRIPT_LOCATION)
    locations = os.pathsep.join(version_locations()).replace("%", "%%")
    cfg.set_main_option("version_locations", locations)
    # path_separator since Alembic 1.16 (read first, so the older name
    # warns of nothing), version_path_separator before.
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_path_separator", "os")
    return cfg


def scripts():
    """The revisions of the core and the installed plugins, as Alembic's
    ``ScriptDirectory``."""
    return script.ScriptDirectory.from_config(_config())


def upgrade(revision="head"):
    """Bring the configured database up to ``revision``."""
    command.upgrade(_config(), revision)


def current():
    """The database's revision, or None for an empty database."""
    with engine.ENGINES.get().writer.connect() as connection:
        context = alembic_migration.MigrationContext.configure(connection)
        return context.get_current_revision()


def revision(message, autogenerate=True, version_path=None):
    """Write a new migration script comparing the models to the database.

    :param version_path: the directory to write it in; default the
        core's.  A plugin's tables changed: its ``migrations_dir``.
    """
    command.revision(
        _config(),
        message=message,
        autogenerate=autogenerate,
        version_path=version_path or CORE_VERSIONS,
    )
