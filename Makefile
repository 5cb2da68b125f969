# kidgate: two commands do all the set-up.
#   make run    create the virtual environment, install, start the proxy on the shipped default
#   make test   install what the tests need (Chromium, iptables, WireGuard, PostgreSQL, OpenLDAP)
#               and run them

VENV    := .venv
PY      := $(VENV)/bin/python
# The first Python 3.12+ on this machine (python3.12 may be a pyenv shim without a version).
PYTHON  ?= $(shell for p in python3.12 python3.13 python3 $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3; do \
             $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)

.PHONY: run test test-dates fuzz soak bench chromium iptables wireguard postgresql ldap clean

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "kidgate needs Python 3.12 or newer (install python3.12)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/kidgate run $(ARGS)

# Browser tests drive Debian's Chromium; install it when we may (root), else they are skipped.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium not installed: browser tests will be skipped"; }

# The transparent-mode tests redirect traffic with iptables and with the nftables rules of
# kidgate gateway-rules inside network namespaces they make.
iptables:
	@{ command -v iptables && command -v nft; } >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables nftables >/dev/null) \
	  || echo "iptables/nftables not installed: the transparent-mode tests will be skipped (outside CI)"; }

# The WireGuard test runs phones with Debian's userspace WireGuard (no kernel module needed).
wireguard:
	@{ command -v wireguard-go && command -v wg; } >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wireguard-go wireguard-tools >/dev/null) \
	  || echo "wireguard-go not installed: the WireGuard test will be skipped (outside CI)"; }

# Storage tests run against a real PostgreSQL server that the suite starts itself (a throwaway
# cluster on a free port, stopped at the end); only the binaries are needed. A "main" cluster
# that Debian's package starts on installing is stopped again: the tests never use it.
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
	   && { pg_lsclusters -h 2>/dev/null | awk '$$4 == "online" {print $$1, $$2}' | \
	        while read v c; do pg_ctlcluster $$v $$c stop || true; done; }) \
	  || echo "postgresql not installed: PostgreSQL storage tests will be skipped (outside CI)"; }

# The proxy sign-in tests start their own OpenLDAP server (Debian's slapd) on a free port;
# the package's own server, if Debian starts one, is stopped again and never used.
ldap:
	@{ command -v slapd || test -x /usr/sbin/slapd; } >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils >/dev/null \
	   && { service slapd stop >/dev/null 2>&1 || true; }) \
	  || echo "slapd not installed: the LDAP sign-in tests will be skipped (outside CI)"; }

test: $(VENV)/.installed-test chromium iptables wireguard postgresql ldap
	$(PY) -m pytest -q $(PYTEST_ARGS)
	$(PY) -m tests.run_at_dates

# The date-sensitive tests again with the clock moved to midnight, new year, the end of February
# and the next daylight-saving changes: the suite must pass on any day.
test-dates: $(VENV)/.installed-test
	$(PY) -m tests.run_at_dates $(PYTEST_ARGS)

# The property-based tests with ten times the cases of make test (KIDGATE_FUZZ_SCALE=N to choose).
fuzz: $(VENV)/.installed-test
	KIDGATE_FUZZ_SCALE=$${KIDGATE_FUZZ_SCALE:-10} $(PY) -m pytest -q tests/robustness $(PYTEST_ARGS)

# Ten minutes at 80% of the measured capacity (nginx + wrk), memory, descriptors, log and
# database checked; SOAK_SECONDS to choose. The suite runs a one-minute version.
soak: $(VENV)/.installed
	$(PY) -m bench.soak --seconds $${SOAK_SECONDS:-600}

bench: $(VENV)/.installed
	$(PY) -m pip install -q -c constraints.txt -e ".[bench]"
	$(PY) -m bench

clean:
	rm -rf $(VENV) build *.egg-info
