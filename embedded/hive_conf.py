"""HiveServer2's hive-site.xml on this machine: production's file with this machine's addresses.

docker/config/hive/hive-site.xml is the one declaration of HiveServer2's metastore (PostgreSQL, its
schema settings, the password from the environment) and of its login. The embedded stack and the tests that
start production's HiveServer2 write it out with the addresses replaced (and, for the embedded stack, no
login): a value in hive-site.xml wins over ``--hiveconf``, so the replacement is made in the file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from clickstream.settings import REPO_ROOT, Settings

PRODUCTION_HIVE_SITE = REPO_ROOT / "docker" / "config" / "hive" / "hive-site.xml"
METASTORE_DB = "metastore"  # owned by `hive`: production's names, on the stack's PostgreSQL server
METASTORE_USER = "hive"


def hive_site(overrides: dict[str, str]) -> str:
    """Return production's hive-site.xml with the given properties' values replaced (all must exist)."""
    root = ET.parse(PRODUCTION_HIVE_SITE).getroot()
    missing = set(overrides)
    for prop in root.iter("property"):
        name = prop.findtext("name")
        if name in overrides:
            prop.find("value").text = overrides[name]
            missing.discard(name)
    if missing:
        raise KeyError(f"{PRODUCTION_HIVE_SITE} has no {sorted(missing)}")
    return ET.tostring(root, encoding="unicode")


def local_overrides(settings: Settings, *, database: str = METASTORE_DB, user: str = METASTORE_USER,
                    hive_port: int | None = None, warehouse: str | None = None,
                    login: bool = False) -> dict[str, str]:
    """Return what differs on this machine: the metastore database's address, the warehouse, the port.

    ``login``: keep production's authentication (a user and password); without it, sessions open without
    a login, the embedded runtime's local-only default (it listens on 127.0.0.1).
    """
    return ({} if login else {"hive.server2.authentication": "NONE"}) | {
        "javax.jdo.option.ConnectionURL": f"jdbc:postgresql://127.0.0.1:{settings.pg_port}/{database}",
        "javax.jdo.option.ConnectionUserName": user,
        "hive.metastore.warehouse.dir": warehouse or settings.warehouse_uri,
        "hive.server2.thrift.port": str(hive_port or settings.hive_port),
        "hive.server2.thrift.bind.host": settings.hive_host if hive_port is None else "127.0.0.1",
    }


def conf_dir(settings: Settings) -> Path:
    """Return the directory on HiveServer2's class path that holds its hive-site.xml."""
    return settings.run_dir / "hive-conf"


def write_conf(settings: Settings) -> Path:
    """Write the embedded HiveServer2's hive-site.xml; return its directory."""
    directory = conf_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hive-site.xml").write_text(hive_site(local_overrides(settings)))
    return directory
