"""The configuration of the embedded cluster's daemons and clients: production's site files
(``docker/config/hadoop/*.xml``) with the few values a single machine must change — addresses on the
loopback interface, directories under ``<data dir>/hadoop``, sizes (embedded/hadoop.py runs the daemons).
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

from clickstream.settings import REPO_ROOT, Settings

PRODUCTION_CONF = REPO_ROOT / "docker" / "config" / "hadoop"
SITE_FILES = ("core-site.xml", "hdfs-site.xml", "yarn-site.xml", "capacity-scheduler.xml")


def home(settings: Settings) -> Path:
    """Return the directory holding everything the embedded cluster keeps."""
    return settings.data_dir / "hadoop"


def conf_dir(settings: Settings) -> Path:
    """Return HADOOP_CONF_DIR of the embedded cluster (and of every client of it)."""
    return home(settings) / "conf"


def production_properties(name: str) -> dict[str, str]:
    """Return the properties of one of production's site files, in file order."""
    path = PRODUCTION_CONF / name
    if not path.is_file():
        return {}
    root = ET.parse(path).getroot()
    return {p.findtext("name", "").strip(): p.findtext("value", "").strip() for p in root.iter("property")}


def local_overrides(settings: Settings) -> dict[str, dict[str, str]]:
    """Return what one machine changes in production's site files: addresses, directories, sizes."""
    h, lo = home(settings), "127.0.0.1"
    return {
        "core-site.xml": {
            "fs.defaultFS": f"hdfs://{lo}:{settings.namenode_port}",
            "hadoop.tmp.dir": str(h / "tmp"),
        },
        "hdfs-site.xml": {
            "dfs.namenode.rpc-address": f"{lo}:{settings.namenode_port}",
            "dfs.namenode.http-address": f"{lo}:{settings.namenode_http_port}",
            "dfs.namenode.rpc-bind-host": lo,
            "dfs.namenode.http-bind-host": lo,
            "dfs.namenode.name.dir": (h / "namenode").as_uri(),
            # Each DataNode gets its directory and its ports on its command line (datanode_command).
            "dfs.datanode.data.dir": (h / "datanode-1").as_uri(),
            # Containers reach DataNodes by name in production; here every daemon is on loopback.
            "dfs.client.use.datanode.hostname": "false",
            "dfs.datanode.use.datanode.hostname": "false",
            # Out of safe mode 3 s after the blocks are reported, not 30 s: a restart is not a failover.
            "dfs.namenode.safemode.extension": "3000",
        },
        "yarn-site.xml": {
            "yarn.resourcemanager.hostname": lo,
            "yarn.resourcemanager.address": f"{lo}:{settings.yarn_port}",
            "yarn.resourcemanager.scheduler.address": f"{lo}:{settings.yarn_scheduler_port}",
            "yarn.resourcemanager.resource-tracker.address": f"{lo}:{settings.yarn_tracker_port}",
            "yarn.resourcemanager.admin.address": f"{lo}:{settings.yarn_admin_port}",
            "yarn.resourcemanager.webapp.address": f"{lo}:{settings.yarn_web_port}",
            "yarn.resourcemanager.bind-host": lo,
            "yarn.nodemanager.address": f"{lo}:0",
            "yarn.nodemanager.localizer.address": f"{lo}:0",
            "yarn.nodemanager.webapp.address": f"{lo}:0",
            "yarn.nodemanager.bind-host": lo,
            # Production's MapReduce shuffle service (port 13562, every interface): Spark does not use it.
            "yarn.nodemanager.aux-services": "",
            # The ResourceManager's state on local disk: it starts beside HDFS, not after it.
            "yarn.resourcemanager.fs.state-store.uri": (h / "rm-state").as_uri(),
            "yarn.nodemanager.local-dirs": str(h / "nm-local"),
            "yarn.nodemanager.log-dirs": str(h / "nm-logs"),
            # No history server here: `yarn logs` reads the aggregated logs from HDFS.
            "yarn.log.server.url": "",
            # One NodeManager offers what two of production's do: the streaming application, an hourly
            # and the daily job at once. Their JVMs use less than YARN reserves for them.
            "yarn.nodemanager.resource.memory-mb": "12288",
            "yarn.scheduler.maximum-allocation-mb": "12288",
            # The NodeManager checks its disks; a laptop's nearly full disk must not take it out of service.
            "yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage": "99",
        },
        "capacity-scheduler.xml": {},
    }


def site_files(settings: Settings) -> dict[str, dict[str, str]]:
    """Return every site file's properties: production's, with the local overrides applied."""
    overrides = local_overrides(settings)
    files = {}
    for name in SITE_FILES:
        props = production_properties(name)
        props.update(overrides[name])
        files[name] = {k: v for k, v in props.items() if v != ""}
    return files


def render(properties: Mapping[str, str]) -> str:
    """Render a Hadoop configuration file."""
    root = ET.Element("configuration")
    for name, value in properties.items():
        prop = ET.SubElement(root, "property")
        ET.SubElement(prop, "name").text = name
        ET.SubElement(prop, "value").text = value
    ET.indent(root)
    header = '<?xml version="1.0"?>\n<!-- Written by embedded/hadoop_conf.py from docker/config/hadoop. -->\n'
    return header + ET.tostring(root, encoding="unicode") + "\n"


def write_conf(settings: Settings) -> Path:
    """Write the cluster's (and its clients') configuration directory; return it."""
    directory = conf_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    for name, props in site_files(settings).items():
        (directory / name).write_text(render(props))
    shutil.copyfile(PRODUCTION_CONF / "log4j.properties", directory / "log4j.properties")
    return directory
