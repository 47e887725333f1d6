# The two commands a newcomer needs: `make run` and `make test`.
# Everything is installed into ./.venv (Python) and ./node_modules (npm); the test
# target also installs the Debian packages the tests drive (Chromium, Firefox ESR, WebKitGTK
# under Xvfb with GStreamer and a PulseAudio null sink, nginx, ffmpeg) and the load
# generators of the benchmarks (wrk; h2load, from nghttp2-client).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
APT_PACKAGES := chromium chromium-driver ffmpeg nginx-light wrk nghttp2-client openssl docker-compose docker.io debootstrap \
                firefox-esr pulseaudio webkit2gtk-driver xvfb gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav

.PHONY: run test install vendor system-deps images bench clean

run: install vendor
	$(BIN)/radiocalico serve

# Two passes: everything else on TEST_WORKERS processes (most tests wait on real-time audio,
# not on the CPU), then one at a time the tests marked `alone` (Firefox and WebKitGTK
# switches, timed to the millisecond) and the Docker stacks, last (their bridges and veths
# change the host's network under a browser). Both passes always run; either failing fails.
TEST_WORKERS ?= 2

# The Debian packages, the Python packages and the npm packages install side by side (each
# waits mostly on downloads and unpacking): on a fresh machine this saves most of a minute.
MAKEFLAGS += --jobs=3

test: install vendor system-deps
	@$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile -m "not docker and not alone"; first=$$?; \
	$(BIN)/pytest -m "alone or docker"; second=$$?; \
	[ $$first -eq 0 ] && [ $$second -eq 0 ]

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet -e '.[test,bench,vendor]'
	touch $@

# hls.js and the brand fonts come from npm and are served from our own origin.
vendor: install node_modules/.installed
	$(BIN)/python -m radiocalico.web.vendor

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Installs only what is missing, so a developer machine is not touched twice.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

# Every image the compose stacks use, built from Debian packages (deploy/README.md).
images:
	deploy/images/build.sh

bench: install vendor
	$(BIN)/python bench/api_load/run.py

clean:
	rm -rf $(VENV) node_modules instance src/radiocalico/web/static/vendor src/radiocalico/web/static/build
