"""The file system of a warehouse URI, for code that reads or writes table files from Python.

``file://`` (the embedded runtime) goes to pyarrow's local file system. ``hdfs://`` (cluster mode,
production) goes through WebHDFS, HDFS's REST API on the NameNode's web port
(``CLICKSTREAM_WEBHDFS_URL``), with fsspec's client wrapped as a pyarrow file system: plain HTTP, so
the Airflow services, the dashboard and the Spark driver's Python reach HDFS with no JNI, no
``libhdfs`` and no Hadoop classpath. Spark itself reads and writes through its own Hadoop client.
"""

from __future__ import annotations

from urllib.parse import urlparse

from pyarrow import fs as pafs

from clickstream.settings import Settings, get_settings

HDFS_USER = "hadoop"  # the user the warehouse's files belong to (hadoop.http.staticuser.user)


def _webhdfs(settings: Settings) -> pafs.FileSystem:
    from fsspec.implementations.webhdfs import WebHDFS

    url = urlparse(settings.webhdfs_url)
    client = WebHDFS(url.hostname, port=url.port or 9870, user=HDFS_USER, use_https=url.scheme == "https")
    return pafs.PyFileSystem(pafs.FSSpecHandler(client))


def from_uri(uri: str, settings: Settings | None = None) -> tuple[pafs.FileSystem, str]:
    """Return (file system, path in it) of a file:// or hdfs:// URI, like pyarrow's FileSystem.from_uri."""
    if uri.startswith("hdfs://"):
        return _webhdfs(settings or get_settings()), urlparse(uri).path or "/"
    return pafs.FileSystem.from_uri(uri)


def replace(filesystem: pafs.FileSystem, source: str, target: str) -> None:
    """Move source over target: one rename on a local disk; on HDFS, remove target first.

    WebHDFS's rename never replaces an existing file (it answers false and changes nothing), so
    there readers may find the target missing for the moment between the two calls.
    """
    missing = pafs.FileType.NotFound
    if isinstance(filesystem, pafs.PyFileSystem) and filesystem.get_file_info(target).type != missing:
        filesystem.delete_file(target)
    filesystem.move(source, target)
    if filesystem.get_file_info(source).type != missing:
        raise OSError(f"could not move {source} to {target}")
