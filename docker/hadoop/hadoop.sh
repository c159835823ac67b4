#!/bin/bash
# `hdfs` and `yarn` of the production images (installed as /opt/hadoop/bin/hdfs, yarn a link to it).
# Hadoop 3.5.0 comes from Maven Central as jars (jvm/hadoop/pom.xml), not as a distribution with its own
# scripts: this launcher runs the same main classes, with the same Java 17 options, as the embedded
# cluster mode (embedded/hadoop.py MAIN_CLASS, TOOL_CLASS, JAVA_OPENS; tests/unit/test_production.py
# keeps the two equal).
#   hdfs namenode [-format -nonInteractive] | datanode | dfs … | fsck … | dfsadmin …
#   yarn resourcemanager | nodemanager | application … | applicationattempt … | container … | node … | logs …
# HADOOP_HEAPSIZE_MAX sets the heap (default 256m); HADOOP_USER_NAME who the client acts as.
set -euo pipefail

command=$(basename "$0")
sub=${1:-}
[ $# -gt 0 ] && shift
first=()
case "$command $sub" in
  "hdfs namenode") class=org.apache.hadoop.hdfs.server.namenode.NameNode ;;
  "hdfs datanode") class=org.apache.hadoop.hdfs.server.datanode.DataNode ;;
  "hdfs dfs") class=org.apache.hadoop.fs.FsShell ;;
  "hdfs fsck") class=org.apache.hadoop.hdfs.tools.DFSck ;;
  "hdfs dfsadmin") class=org.apache.hadoop.hdfs.tools.DFSAdmin ;;
  "yarn resourcemanager") class=org.apache.hadoop.yarn.server.resourcemanager.ResourceManager ;;
  "yarn nodemanager") class=org.apache.hadoop.yarn.server.nodemanager.NodeManager ;;
  # ApplicationCLI reads which listing from its first argument, as Hadoop's own `yarn` passes it.
  "yarn application" | "yarn applicationattempt" | "yarn container")
    class=org.apache.hadoop.yarn.client.cli.ApplicationCLI; first=("$sub") ;;
  "yarn node") class=org.apache.hadoop.yarn.client.cli.NodeCLI ;;
  "yarn logs") class=org.apache.hadoop.yarn.client.cli.LogsCLI ;;
  *)
    echo "usage: hdfs {namenode|datanode|dfs|fsck|dfsadmin} … | yarn {resourcemanager|nodemanager|application|applicationattempt|container|node|logs} …" >&2
    exit 2 ;;
esac

# Java 17 closes the JDK internals Hadoop's RPC and web layers reach into, as Hadoop's own scripts open them.
opens=()
for pkg in java.lang java.lang.reflect java.io java.net java.nio java.util java.util.concurrent \
           java.util.concurrent.atomic sun.nio.ch sun.nio.cs sun.security.action sun.util.calendar; do
  opens+=("--add-opens=java.base/$pkg=ALL-UNNAMED")
done

exec "${JAVA_HOME:-/usr/lib/jvm/default-java}/bin/java" "-Xmx${HADOOP_HEAPSIZE_MAX:-256m}" "${opens[@]}" \
  "-Dhadoop.log.dir=${HADOOP_LOG_DIR:-/opt/hadoop/logs}" \
  -cp "${HADOOP_CONF_DIR:-/opt/hadoop/etc/hadoop}:${HADOOP_HOME:-/opt/hadoop}/lib/*" \
  "$class" "${first[@]}" "$@"
