# The two commands a newcomer needs (see README.md).
.PHONY: demo test build
demo:  ## plan the bundled example (a zone file; no account needed)
	scripts/demo
test:  ## install what is missing, start the test servers on loopback, run every test
	scripts/test
build:
	swift build

# Installing (README.md "Install"). PREFIX and DESTDIR as usual:
#   make install                       # /usr/local/bin/mailplan, man pages, completions, schema
#   make install PREFIX=$HOME/.local
#   make install DESTDIR=/tmp/stage PREFIX=/usr
#   make uninstall [PREFIX=…]          # removes exactly the files install wrote
#   make release                       # .build/release/mailplan (static Swift runtime) and .build/dist/
#   make deb                           # .build/deb/mailplan_<version>_amd64.deb (scripts/deb)
.PHONY: release dist install uninstall deb
export PATH := $(if $(shell command -v swift),$(PATH),/opt/swift/usr/bin:$(PATH))
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man/man1
DATADIR ?= $(PREFIX)/share/mailplan
BASHDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHDIR ?= $(PREFIX)/share/zsh/site-functions
FISHDIR ?= $(PREFIX)/share/fish/vendor_completions.d
VERSION := $(shell sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/MailPlan/Render/PlanRenderer.swift)
COMMIT := $(shell git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
# The commit's date (not today) in the man pages, so the same commit gives the same pages.
DATE := $(shell git log -1 --format=%cs 2>/dev/null || date -u +%F)
DIST := .build/dist
MANPAGES := $(DIST)/man/mailplan.1

# The release binary needs only libc and the system libraries it names (libcurl, libldns,
# libidn2): the Swift runtime and Foundation are linked in. --version shows $(COMMIT), which
# only buildinfo.c sees (Sources/CBuildInfo/commit.h, written for the build), so a new commit
# recompiles one C file, not the package.
release:
	scripts/deps build
	printf '#define MAILPLAN_GIT_COMMIT "%s"\n' '$(COMMIT)' > Sources/CBuildInfo/commit.h
	touch Sources/CBuildInfo/buildinfo.c
	swift build -c release --static-swift-stdlib --product mailplan; s=$$?; \
		rm -f Sources/CBuildInfo/commit.h; touch Sources/CBuildInfo/buildinfo.c; exit $$s
	$(MAKE) --no-print-directory dist

# Man pages from the command definitions (swift-argument-parser's generate-manual plugin, one
# page per command) and completion scripts from the binary itself: nothing written by hand.
# The plugin builds the package in debug mode, so the release binary is left as it is.
dist:
	rm -rf $(DIST) && mkdir -p $(DIST)/man $(DIST)/completions
	swift package generate-manual --configuration debug --multi-page --date $(DATE)
	cp .build/plugins/GenerateManual/outputs/mailplan/*.1 $(DIST)/man/
	rm -f $(DIST)/man/mailplan.help.1
	.build/release/mailplan --generate-completion-script bash > $(DIST)/completions/mailplan.bash
	.build/release/mailplan --generate-completion-script zsh > $(DIST)/completions/_mailplan
	.build/release/mailplan --generate-completion-script fish > $(DIST)/completions/mailplan.fish

# install and deb use the release build when it is of this commit, else run `make release`.
.PHONY: built
built:
	@if .build/release/mailplan --version 2>/dev/null | grep -qF "(commit $(COMMIT))" && [ -f $(MANPAGES) ]; then \
		echo "using .build/release/mailplan of commit $(COMMIT)"; else $(MAKE) --no-print-directory release; fi

install: built
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(DATADIR) \
		$(DESTDIR)$(BASHDIR) $(DESTDIR)$(ZSHDIR) $(DESTDIR)$(FISHDIR)
	install -m 0755 .build/release/mailplan $(DESTDIR)$(BINDIR)/mailplan
	install -m 0644 $(DIST)/man/*.1 $(DESTDIR)$(MANDIR)/
	install -m 0644 $(DIST)/completions/mailplan.bash $(DESTDIR)$(BASHDIR)/mailplan
	install -m 0644 $(DIST)/completions/_mailplan $(DESTDIR)$(ZSHDIR)/_mailplan
	install -m 0644 $(DIST)/completions/mailplan.fish $(DESTDIR)$(FISHDIR)/mailplan.fish
	install -m 0644 schema/plan-file.schema.json $(DESTDIR)$(DATADIR)/plan-file.schema.json

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mailplan $(DESTDIR)$(MANDIR)/mailplan.1 $(DESTDIR)$(MANDIR)/mailplan.*.1 \
		$(DESTDIR)$(BASHDIR)/mailplan $(DESTDIR)$(ZSHDIR)/_mailplan $(DESTDIR)$(FISHDIR)/mailplan.fish \
		$(DESTDIR)$(DATADIR)/plan-file.schema.json
	-rmdir $(DESTDIR)$(DATADIR) 2>/dev/null

deb: built
	scripts/deb $(VERSION)
