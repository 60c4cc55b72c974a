# mailgate: two commands do all the set-up on Debian 12 with the Swift toolchain.
#   make run    install missing Debian packages, build, start `mailgate serve` on built-in defaults
#   make test   install missing packages (incl. test clients), build, run every test
#               (unit, policy transcripts in examples/transcripts, end-to-end)
#   make fuzz-ci    every libFuzzer target briefly (docs/security.md); make test-asan / test-tsan
.PHONY: run test deps test-deps build build-release unit policy-test e2e bench clean fuzz-ci test-asan test-tsan

RUN_PACKAGES  := liblua5.4-dev liblmdb-dev libcrypt-dev zlib1g-dev publicsuffix pkg-config openssl
TEST_PACKAGES := $(RUN_PACKAGES) swaks libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl libdigest-hmac-perl strace curl python3 python3-pytest lmdb-utils fetchmail getmail6 dnsmasq-base postfix python3-aiosmtpd isync offlineimap3 neomutt tmux \
                 python3-venv python3-dkim python3-nacl opendkim opendkim-tools python3-spf python3-authres rspamd libxml2-utils
SWIFT ?= swift
PYTHON ?= /usr/bin/python3

deps:
	@scripts/install-packages $(RUN_PACKAGES)

test-deps:
	@scripts/install-packages $(TEST_PACKAGES)
	@scripts/install-python-tools

build: deps
	$(SWIFT) build

build-release: deps
	$(SWIFT) build -c release -Xswiftc -cross-module-optimization

run: build-release
	./.build/release/mailgate serve

unit:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel

# Every transcript of the default policies, the plugins and examples/policies
# (docs/policy-api.md, "Testing policies"): offline, no store, canned DNS.
policy-test:
	$(SWIFT) build --product mailgate
	./.build/debug/mailgate policy test examples/transcripts/*.toml

e2e:
	$(SWIFT) build --product mailgate
	MAILGATE_BIN=$(CURDIR)/.build/debug/mailgate $(PYTHON) -m pytest -q Tests/EndToEndTests

test: test-deps unit policy-test e2e

# Each fuzz target for FUZZ_SECONDS from its committed seeds; fails on any crash.
FUZZ_SECONDS ?= 20
fuzz-ci: deps
	SWIFT=$(SWIFT) scripts/fuzz all $(FUZZ_SECONDS)

# Unit tests under AddressSanitizer / ThreadSanitizer, each in its own scratch path.
# SWIFT_BACKTRACE is off: Swift's backtracer and the sanitizers both want the crash.
test-asan: deps
	$(SWIFT) build --build-tests --sanitize address --scratch-path .build-asan
	SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 \
		$(SWIFT) test --skip-build --sanitize address --scratch-path .build-asan

test-tsan: deps
	$(SWIFT) build --build-tests --sanitize thread --scratch-path .build-tsan
	SWIFT_BACKTRACE=enable=no $(SWIFT) test --skip-build --sanitize thread --scratch-path .build-tsan

clean:
	rm -rf .build .build-fuzz .build-asan .build-tsan
