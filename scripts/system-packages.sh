#!/usr/bin/env bash
# Installs the Debian packages the test suite uses as real components: PostgreSQL 15 with
# PostGIS (started by the test harness itself), Chromium for the web UI tests, GDAL tools; and
# those the reports' PDF output needs at run time (WeasyPrint draws with Pango and HarfBuzz, in
# the DejaVu fonts the report templates name).
set -euo pipefail
need=()
for pkg in postgresql-15 postgresql-15-postgis-3 chromium chromium-driver \
           libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${need[*]} (run as root: apt-get install ${need[*]})" >&2
  exit 1
fi
echo "Installing Debian packages: ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
