# pathcheck: plain GNU make.  See README.md.
#
#   make            library, pkg-config file and tools into build/
#   make check      build and run every test
#   make run        check this machine's block devices, then show pathcheckd
#                   on simulated paths that fail, hang and recover
#   make bench      the benchmarks (docs/performance.md)
#   make multipath  multipathd checker plugins (docs/multipath.md)
#   make install    honours PREFIX and DESTDIR
#   SAN=address,undefined or SAN=thread builds into build-<san>/

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/pathcheck
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DESTDIR    ?=

# The one place the version is set: VERSION.  The release date is NEWS's
# first heading, "pathcheck X.Y.Z (YYYY-MM-DD)".  Both reach the tools
# (-DPC_VERSION), the .so name, pathcheck.pc and the man pages' .TH lines;
# tests/first_hour checks that include/pathcheck.h's MAJOR.MINOR agree.
VERSION  := $(shell cat VERSION)
RELDATE  := $(shell sed -n '1s/^pathcheck [^ ]* (\([0-9-]*\)).*/\1/p' NEWS)
SOMAJOR  := $(firstword $(subst ., ,$(VERSION)))

comma := ,
V ?= 0
Q := $(if $(filter 1,$(V)),,@)
SAN   ?=
ifeq ($(SAN),)
B ?= build
OPT ?= -O2
else
B ?= build-$(subst $(comma),-,$(SAN))
OPT ?= -O1
endif

CC      ?= cc
OBJCOPY ?= objcopy
CFLAGS  ?= $(OPT) -g
# WERROR= (debian/rules) builds where a newer compiler's new warning must not
# fail a package build; the project's own builds and CI keep -Werror.
WERROR  ?= -Werror
WARN    := -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wundef \
	   -Wvla -Wno-unused-parameter
PC_CPPFLAGS := -D_GNU_SOURCE -Iinclude -DPC_VERSION='"$(VERSION)"'
# Each top directory sees only its own headers besides include/: the tools
# never see the library's internals or the test library; the tests see
# tools/common, whose loop devices (loop.c) the test library links.
src_CPPFLAGS   := -Isrc
tools_CPPFLAGS := -Itools/common
tests_CPPFLAGS := -Itests/lib -Itools/common
# the checker drivers, tests/multipath_F.c, see family F's interface
tests_multipath_09_CPPFLAGS := -Imultipath/mpt-0.9
tests_multipath_11_CPPFLAGS := -Imultipath/mpt-0.11
dir_cppflags = $($(firstword $(subst /, ,$(1)))_CPPFLAGS)
PC_CFLAGS   := -std=gnu11 $(WARN) -fno-strict-aliasing -pthread
SAN_FLAGS   :=
ifneq ($(SAN),)
SAN_FLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer
ifneq ($(findstring undefined,$(SAN)),)
SAN_FLAGS += -fno-sanitize-recover=undefined
endif
ifneq ($(findstring thread,$(SAN)),)
PC_CPPFLAGS += -DPC_TSAN=1
endif
endif

LIB_LIBS  := -laio -lurcu-bp -lurcu-common -lpthread
FUSE_CFLAGS = $(shell pkg-config --cflags fuse3 2>/dev/null)
FUSE_LIBS   = $(shell pkg-config --libs fuse3 2>/dev/null)

# --- library ---------------------------------------------------------------
LIB_SRCS := $(wildcard src/*.c)
LIB_PIC  := $(LIB_SRCS:%.c=$(B)/obj/pic/%.o)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
SO       := $(B)/libpathcheck.so
SONAME   := libpathcheck.so.$(SOMAJOR)
A        := $(B)/libpathcheck.a
PCFILE   := $(B)/pathcheck.pc

# --- multipathd checker plugins: one per checker interface family ---------
# multipath/mpt-F/checkers.h is family F's interface; each plugin links
# libpathcheck and libc only (docs/multipath.md).
MPT_FAMILIES := 0.9 0.11
MPT_PLUGINS  := $(MPT_FAMILIES:%=$(B)/multipath/mpt-%/libcheckpathcheck.so)
MULTIPATHDIR ?= /lib/multipath

# --- tools: tools/NAME/*.c is build/NAME ------------------------------------
TOOL_DIRS  := $(patsubst tools/%/,%,$(filter-out tools/common/,$(sort $(dir $(wildcard tools/*/*.c)))))
TOOLS      := $(TOOL_DIRS:%=$(B)/%)
TOOL_COMMON_SRCS := $(wildcard tools/common/*.c)
TOOL_COMMON := $(TOOL_COMMON_SRCS:%.c=$(B)/obj/%.o)
# extra libraries of a tool
pathsim_LIBS      = $(FUSE_LIBS)
pathsim_CFLAGS    = $(FUSE_CFLAGS)
pathcheckd_LIBS   = -lm -ludev
pathcheck_LIBS    = -ledit
pathcheck-stress_LIBS = -lm

# --- tests: tests/NAME.c is build/tests/NAME ---------------------------------
# extra link flags of a test: NAME_TEST_LIBS
# (a test that needs its own is a binary of its own, named CONTRACT_wrap_FN)
shutdown_dlclose_TEST_LIBS             = -ldl
shutdown_wrap_pthread_create_TEST_LIBS = -Wl,--wrap=pthread_create
path_lifetime_wrap_malloc_TEST_LIBS    = -Wl,--wrap=malloc,--wrap=free
sync_checks_wrap_io_submit_TEST_LIBS   = -Wl,--wrap=io_submit
sync_untimed_wrap_io_getevents_TEST_LIBS = -Wl,--wrap=io_getevents
callbacks_once_wrap_mmap_TEST_LIBS     = -Wl,--wrap=mmap
daemon_config_doc_TEST_LIBS            = -lm
multipath_09_TEST_LIBS                 = -ldl
multipath_11_TEST_LIBS                 = -ldl
# the archive a test links: the shipped $(A), or the internal objects
read_buffers_pool_TEST_A               = $(INTERNAL_A)
TEST_SRCS  := $(wildcard tests/*.c)
TESTS      := $(TEST_SRCS:tests/%.c=$(B)/tests/%)
# tests/*.sh: tests of the build and the install tree, of the shipped
# contrib files; run by the plain `make check` only (nothing to sanitize).
SCRIPT_TESTS := $(if $(SAN),,$(filter-out tests/run.sh,$(sort $(wildcard tests/*.sh))))
TEST_LIB_SRCS := $(wildcard tests/lib/*.c)
TEST_LIB   := $(TEST_LIB_SRCS:%.c=$(B)/obj/%.o) $(B)/obj/tools/common/loop.o

# --- bench/NAME.c is build/bench/NAME: the benchmarks' own programs, which
# load the library under test themselves (bench/ab.sh); never installed.
BENCH_PROGS := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))

# CPPFLAGS and LDFLAGS from the environment too: dpkg-buildflags' hardening.
ALL_CFLAGS = $(PC_CPPFLAGS) $(CPPFLAGS) $(PC_CFLAGS) $(CFLAGS) $(SAN_FLAGS)

.PHONY: all lib tools tests check run bench install uninstall clean deps man deb multipath install-multipath FORCE
.DEFAULT_GOAL := all

all: $(B)/.deps lib tools man $(BENCH_PROGS)
lib: $(SO) $(A) $(PCFILE)
tools: $(TOOLS)
tests: $(TESTS)

# Installs missing Debian packages as root, or says what to run.
# NO_DEPS=1 (debian/rules: Build-Depends does it) skips that.
$(B)/.deps: scripts/deps.sh
	@mkdir -p $(B)
	@[ "$(NO_DEPS)" = 1 ] || sh scripts/deps.sh build
	@touch $@
deps:
	@sh scripts/deps.sh build

# Rewritten only when an install directory or the version changes: what
# embeds them (pathcheck.pc, the man pages) depends on it, so that
# `make install PREFIX=/usr` after a plain `make` rebuilds them.
INSTALL_VARS := $(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(BINDIR) $(SBINDIR) $(MANDIR) $(DOCDIR) $(VERSION) $(RELDATE)
$(B)/.install-vars: FORCE
	@mkdir -p $(B)
	@echo '$(INSTALL_VARS)' | cmp -s - $@ 2>/dev/null || echo '$(INSTALL_VARS)' > $@

$(B)/obj/pic/%.o: %.c $(B)/.deps VERSION
	@mkdir -p $(dir $@)
	@echo '  CC     $@'
	$(Q)$(CC) $(call dir_cppflags,$<) $(ALL_CFLAGS) -fPIC -MMD -MP -c -o $@ $<

$(B)/obj/%.o: %.c $(B)/.deps VERSION
	@mkdir -p $(dir $@)
	@echo '  CC     $@'
	$(Q)$(CC) $(call dir_cppflags,$<) $($(subst /,_,$(basename $<))_CPPFLAGS) $(ALL_CFLAGS) $($(notdir $(patsubst %/,%,$(dir $<)))_CFLAGS) -MMD -MP -c -o $@ $<

$(SO).$(VERSION): $(LIB_PIC) src/libpathcheck.map Makefile
	@echo '  LD     $@'
	$(Q)$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script=src/libpathcheck.map -Wl,-z,defs \
		-Wl,-z,nodelete \
		$(LDFLAGS) -o $@ $(LIB_PIC) $(LIB_LIBS)
$(SO): $(SO).$(VERSION)
	ln -sf $(notdir $<) $(B)/$(SONAME)
	ln -sf $(notdir $<) $@

multipath: $(MPT_PLUGINS)
$(B)/multipath/mpt-%/libcheckpathcheck.so: multipath/pathcheck.c multipath/mpt-%/checkers.h $(SO)
	@mkdir -p $(dir $@)
	@echo '  LD     $@'
	$(Q)$(CC) -Imultipath/mpt-$* $(ALL_CFLAGS) -fPIC -shared -Wl,-z,defs \
		-Wl,-z,nodelete $(LDFLAGS) -o $@ $< -L$(B) -lpathcheck

# The 0.9 family's plugin, where multipath-tools 0.9/0.10 look for checkers.
install-multipath: $(B)/multipath/mpt-0.9/libcheckpathcheck.so
	install -d $(DESTDIR)$(MULTIPATHDIR)
	install -m 0644 $< $(DESTDIR)$(MULTIPATHDIR)/

# The static library exports what the shared one does and nothing else:
# its objects are linked into one (ld -r) whose every global symbol not
# named in the version script is made local, so that a program may define
# its own heap_init or lock_group.  The names come from src/libpathcheck.map,
# their one home.  Unit tests of internals (NAME_TEST_A) link the objects
# as they are, from $(INTERNAL_A).  With LTO in CFLAGS (Ubuntu's
# dpkg-buildflags: fat objects) the archive keeps the objects' machine code,
# whose symbols objcopy hides, and drops their LTO bytecode, whose symbols
# it cannot.
INTERNAL_A := $(B)/obj/libpathcheck-internal.a
$(B)/obj/exports.txt: src/libpathcheck.map
	@mkdir -p $(dir $@)
	sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);$$/\1/p' $< > $@
$(B)/obj/libpathcheck.o: $(LIB_OBJS) $(B)/obj/exports.txt Makefile
	@echo '  LD -r  $@'
	$(Q)$(CC) $(CFLAGS) -fno-lto -nostdlib -r -o $@.tmp $(LIB_OBJS)
	$(Q)$(OBJCOPY) --keep-global-symbols=$(B)/obj/exports.txt \
		-R '.gnu.lto_*' -R '.gnu.debuglto_*' $@.tmp $@
	@rm -f $@.tmp
$(A): $(B)/obj/libpathcheck.o
	@rm -f $@
	$(AR) rcs $@ $^
$(INTERNAL_A): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(PCFILE): pathcheck.pc.in Makefile $(B)/.install-vars
	@mkdir -p $(B)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' $< > $@

# Man pages with the version, the release date and DOCDIR filled in.
MAN_SRCS := $(wildcard docs/man/*.[1358])
MANPAGES := $(MAN_SRCS:docs/man/%=$(B)/man/%)
man: $(MANPAGES)
$(B)/man/%: docs/man/% $(B)/.install-vars
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|^\.TH \([^ ]*\) \([^ ]*\) [^ ]* "pathcheck [^"]*"|.TH \1 \2 $(RELDATE) "pathcheck $(VERSION)"|' \
		-e 's|@DOCDIR@|$(DOCDIR)|g' $< > $@

.SECONDEXPANSION:
$(TOOLS): $(B)/%: $$(addprefix $(B)/obj/,$$(addsuffix .o,$$(basename $$(wildcard tools/$$*/*.c)))) $(TOOL_COMMON) $(A)
	@echo '  LD     $@'
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(A) $(LIB_LIBS) $($*_LIBS)

$(BENCH_PROGS): $(B)/bench/%: $(B)/obj/bench/%.o
	@mkdir -p $(dir $@)
	@echo '  LD     $@'
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< -laio -ldl

# The config table, linked into the test that holds the man page to it.
$(B)/tests/daemon_config_doc: $(addprefix $(B)/obj/tools/pathcheckd/,config.o config_settings.o \
	config_expand.o devtimeout.o) $(TOOL_COMMON)
$(TESTS): $(B)/tests/%: $(B)/obj/tests/%.o $(TEST_LIB) $(A) $(INTERNAL_A)
	@mkdir -p $(dir $@)
	@echo '  LD     $@'
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(filter %.o,$^) $(or $($*_TEST_A),$(A)) $(LIB_LIBS) -lcunit $($*_TEST_LIBS)

# The README's embedding example, compiled against the shared library.
$(B)/readme-example.c: README.md
	@mkdir -p $(B)
	sed -n '/^<!-- embed-example -->$$/,/^```$$/p' README.md | sed '1,2d;$$d' > $@
$(B)/readme-example: $(B)/readme-example.c $(SO)
	@echo '  LD     $@'
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< -L$(B) -lpathcheck -Wl,-rpath,$(abspath $(B))

check: all tests multipath $(B)/readme-example
	@PC_BUILD_DIR=$(B) SAN=$(SAN) sh tests/run.sh $(TESTS) $(SCRIPT_TESTS)

# This machine's block devices checked once, then pathcheckd on simulated
# paths that fail, hang and recover (root and /dev/fuse; without them it
# says so and exits 0).  scripts/demo.sh says what and why.
run: all
	@B=$(B) sh scripts/demo.sh

bench: all multipath $(B)/tests/multipath_09
	@echo "bench: compares with fio and multipath-tools' directio checker;" \
		"scripts/deps.sh installs them with apt-get if they are missing (as root)"
	@sh scripts/deps.sh bench
	@B=$(B) sh bench/run.sh
	@B=$(B) sh bench/daemon.sh
	@B=$(B) sh bench/reconf.sh 19000 $(B)/pathcheckd
	@echo "8. hotplug burst: measured by make check: PC_BUILD_DIR=$(B) $(B)/tests/daemon_hotplug burst"
	@B=$(B) sh bench/daemon_cpu.sh
	@B=$(B) sh bench/multipath.sh

# Debian packages (debian/), built from a copy of the source tree so that
# the tree stays clean: the .deb files and the build logs land in $(DEBOUT).
DEBOUT ?= build-deb
deb:
	@sh scripts/deps.sh deb
	rm -rf $(DEBOUT) && mkdir -p $(DEBOUT)/src/pathcheck-$(VERSION)
	tar --exclude=./.git --exclude=./build --exclude='./build-*' -cf - . | \
		tar -C $(DEBOUT)/src/pathcheck-$(VERSION) -xf -
	cd $(DEBOUT)/src/pathcheck-$(VERSION) && dpkg-buildpackage -us -uc -b
	mv $(DEBOUT)/src/*.deb $(DEBOUT)/src/*.changes $(DEBOUT)/src/*.buildinfo $(DEBOUT)/
	rm -rf $(DEBOUT)/src
	@ls -1 $(DEBOUT)

# The directories that `make install` made, for `make uninstall` to remove
# once empty (and only those: not /usr/local/share/man when it was there).
INSTALLED_DIRS := $(DOCDIR)/installed-dirs
install_dirs = sh scripts/install-dirs.sh '$(DESTDIR)' $(INSTALLED_DIRS)

install: all
	$(install_dirs) $(DOCDIR) $(LIBDIR)/pkgconfig $(INCLUDEDIR) $(BINDIR) $(SBINDIR) $(UNITDIR)
	install -m 0755 $(SO).$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libpathcheck.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libpathcheck.so
	install -m 0644 $(A) $(DESTDIR)$(LIBDIR)/
	install -m 0644 include/pathcheck.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 $(PCFILE) $(DESTDIR)$(LIBDIR)/pkgconfig/
	for t in $(filter-out $(B)/pathcheckd,$(TOOLS)); do install -m 0755 $$t $(DESTDIR)$(BINDIR)/; done
	if [ -f $(B)/pathcheckd ]; then install -m 0755 $(B)/pathcheckd $(DESTDIR)$(SBINDIR)/; fi
	sed -e 's|@SBINDIR@|$(SBINDIR)|g; s|@BINDIR@|$(BINDIR)|g' \
		tools/pathcheckd/pathcheckd.service > $(DESTDIR)$(UNITDIR)/pathcheckd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/pathcheckd.service
	install -m 0644 docs/pathcheckd.conf.example docs/pathsim.md docs/performance.md \
		$(DESTDIR)$(DOCDIR)/
	for s in 1 3 5 8; do \
		ls $(B)/man/*.$$s >/dev/null 2>&1 || continue; \
		$(install_dirs) $(MANDIR)/man$$s; \
		install -m 0644 $(B)/man/*.$$s $(DESTDIR)$(MANDIR)/man$$s/; \
	done
	@# Into the live system: let the dynamic linker find the new library.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libpathcheck.* $(DESTDIR)$(INCLUDEDIR)/pathcheck.h \
		$(DESTDIR)$(LIBDIR)/pkgconfig/pathcheck.pc
	for t in $(TOOL_DIRS); do rm -f $(DESTDIR)$(BINDIR)/$$t $(DESTDIR)$(SBINDIR)/$$t; done
	rm -f $(DESTDIR)$(UNITDIR)/pathcheckd.service
	for m in $(notdir $(MAN_SRCS)); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$$m; done
	@# Deepest first; a directory with anything else in it stays.
	dirs=$$(sort -r $(DESTDIR)$(INSTALLED_DIRS) 2>/dev/null); \
	rm -rf $(DESTDIR)$(DOCDIR); \
	for d in $$dirs; do rmdir "$(DESTDIR)$$d" 2>/dev/null || true; done
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

clean:
	rm -rf build build-*

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
