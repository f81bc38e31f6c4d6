#!/usr/bin/env bash
# The Debian packages the test suite uses as real components: PostgreSQL 15 with PostGIS
# (started by the test harness itself) and Chromium with its driver (the web UI tests); and
# those the reports' PDF output needs at run time (WeasyPrint draws with Pango and HarfBuzz,
# in the DejaVu fonts the report templates name); and a Java runtime, for ODK Validate (the
# form parser of ODK Collect, which pyxform runs to check every XLSForm).
#
# As root, installs the missing ones. As any other user, says which are missing and the exact
# command to install them, and carries on (exit 0): the tests that need them skip, saying so,
# and everything else runs. CI runs as root, so there nothing is ever skipped.
set -euo pipefail
packages=(postgresql-15 postgresql-15-postgis-3 chromium chromium-driver
          libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
          default-jre-headless)
need=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  cat >&2 <<MSG
Missing Debian packages: ${need[*]}
Install them with:
    sudo apt-get install -y --no-install-recommends ${need[*]}
Until then the tests that need them (PostGIS: postgresql-15*; the browser: chromium*; PDF
output: libpango*, fonts-dejavu-core; ODK Validate of the forms: default-jre-headless) are
skipped, each saying why; every other test runs.
MSG
  exit 0
fi
echo "Installing Debian packages: ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
