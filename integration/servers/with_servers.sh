#!/usr/bin/env bash
# ctest runs every integration suite through this launcher: `with_servers.sh COMMAND [ARGS...]`.
#
# `make test` starts one set of servers per parallel ctest job (integration/servers/up.sh) and runs
# ctest with a resource spec of that many "servers" slots; ctest then tells each suite which set
# it holds in CTEST_RESOURCE_GROUP_0_SERVERS ("id:<n>,slots:1"). This exports the variables of set
# <n> (the n-th directory of SLUICE_TEST_SERVER_SETS, colon-separated) and runs the suite, so two
# suites never share a PostgreSQL, MariaDB or broker. Without a resource spec (a developer's
# `ctest` after `make servers-up`), the environment is used as it is.
set -euo pipefail

if [[ -n ${CTEST_RESOURCE_GROUP_0_SERVERS:-} ]]; then
  if [[ -z ${SLUICE_TEST_SERVER_SETS:-} ]]; then
    echo "with_servers.sh: ctest assigned servers '$CTEST_RESOURCE_GROUP_0_SERVERS' but" \
      "SLUICE_TEST_SERVER_SETS (the servers' directories) is not set; run through make test" >&2
    exit 2
  fi
  id=${CTEST_RESOURCE_GROUP_0_SERVERS#id:}
  id=${id%%,*}
  IFS=: read -ra sets <<<"$SLUICE_TEST_SERVER_SETS"
  if ! [[ $id =~ ^[0-9]+$ ]] || ((id >= ${#sets[@]})); then
    echo "with_servers.sh: ctest assigned servers id '$id', but SLUICE_TEST_SERVER_SETS names" \
      "${#sets[@]} set(s): $SLUICE_TEST_SERVER_SETS" >&2
    exit 2
  fi
  env_file=${sets[$id]}/servers.env
  if [[ ! -r $env_file ]]; then
    echo "with_servers.sh: $env_file is missing: servers set $id did not start" >&2
    exit 2
  fi
  set -a
  # shellcheck source=/dev/null
  source "$env_file"
  set +a
fi
exec "$@"
