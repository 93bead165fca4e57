# pathcheck: plain GNU make.  See README.md.
#
#   make            library, pkg-config file and tools into build/
#   make check      build and run every test
#   make run        check every block device of this machine
#   make bench      the benchmarks (docs/performance.md)
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

VERSION  := 0.1.0
SOMAJOR  := 0

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
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wundef \
	   -Wvla -Wno-unused-parameter
PC_CPPFLAGS := -D_GNU_SOURCE -Iinclude -Isrc -Itests/lib
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

# --- tools: tools/NAME/*.c is build/NAME ------------------------------------
TOOL_DIRS  := $(patsubst tools/%/,%,$(filter-out tools/common/,$(sort $(dir $(wildcard tools/*/*.c)))))
TOOLS      := $(TOOL_DIRS:%=$(B)/%)
TOOL_COMMON_SRCS := $(wildcard tools/common/*.c)
TOOL_COMMON := $(TOOL_COMMON_SRCS:%.c=$(B)/obj/%.o)
# extra libraries of a tool
pathsim_LIBS      = $(FUSE_LIBS)
pathsim_CFLAGS    = $(FUSE_CFLAGS)
pathcheckd_LIBS   = -lm
pathcheck_LIBS    = -ledit
pathcheck-stress_LIBS = -lm

# --- tests: tests/NAME.c is build/tests/NAME ---------------------------------
TEST_SRCS  := $(wildcard tests/*.c)
TESTS      := $(TEST_SRCS:tests/%.c=$(B)/tests/%)
TEST_LIB_SRCS := $(wildcard tests/lib/*.c)
TEST_LIB   := $(TEST_LIB_SRCS:%.c=$(B)/obj/%.o)

ALL_CFLAGS = $(PC_CPPFLAGS) $(PC_CFLAGS) $(CFLAGS) $(SAN_FLAGS)

.PHONY: all lib tools tests check run bench install uninstall clean deps man
.DEFAULT_GOAL := all

all: $(B)/.deps lib tools
lib: $(SO) $(A) $(PCFILE)
tools: $(TOOLS)
tests: $(TESTS)

# Installs missing Debian packages as root, or says what to run.
$(B)/.deps: scripts/deps.sh
	@mkdir -p $(B)
	@sh scripts/deps.sh build
	@touch $@
deps:
	@sh scripts/deps.sh build

$(B)/obj/pic/%.o: %.c $(B)/.deps
	@mkdir -p $(dir $@)
	@echo '  CC     $@'
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -MMD -MP -c -o $@ $<

$(B)/obj/%.o: %.c $(B)/.deps
	@mkdir -p $(dir $@)
	@echo '  CC     $@'
	$(Q)$(CC) $(ALL_CFLAGS) $($(notdir $(patsubst %/,%,$(dir $<)))_CFLAGS) -MMD -MP -c -o $@ $<

$(SO).$(VERSION): $(LIB_PIC) src/libpathcheck.map
	@echo '  LD     $@'
	$(Q)$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script=src/libpathcheck.map -Wl,-z,defs \
		-o $@ $(LIB_PIC) $(LIB_LIBS)
$(SO): $(SO).$(VERSION)
	ln -sf $(notdir $<) $(B)/$(SONAME)
	ln -sf $(notdir $<) $@

$(A): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(PCFILE): pathcheck.pc.in Makefile
	@mkdir -p $(B)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' $< > $@

.SECONDEXPANSION:
$(TOOLS): $(B)/%: $$(addprefix $(B)/obj/,$$(addsuffix .o,$$(basename $$(wildcard tools/$$*/*.c)))) $(TOOL_COMMON) $(A)
	@echo '  LD     $@'
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(filter %.o,$^) $(A) $(LIB_LIBS) $($*_LIBS)

$(TESTS): $(B)/tests/%: $(B)/obj/tests/%.o $(TEST_LIB) $(A)
	@mkdir -p $(dir $@)
	@echo '  LD     $@'
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(filter %.o,$^) $(A) $(LIB_LIBS) -lcunit

# The README's embedding example, compiled against the shared library.
$(B)/readme-example.c: README.md
	@mkdir -p $(B)
	sed -n '/^<!-- embed-example -->$$/,/^```$$/p' README.md | sed '1,2d;$$d' > $@
$(B)/readme-example: $(B)/readme-example.c $(SO)
	@echo '  LD     $@'
	$(Q)$(CC) $(filter-out -Isrc -Itests/lib,$(ALL_CFLAGS)) -o $@ $< -L$(B) -lpathcheck -Wl,-rpath,$(abspath $(B))

check: all tests $(B)/readme-example
	@PC_BUILD_DIR=$(B) SAN=$(SAN) sh tests/run.sh $(TESTS)

# Succeeds when the check ran, whatever the states (exit 1: some path down).
run: all
	@$(B)/pathcheck; rc=$$?; [ $$rc -le 1 ] || exit $$rc

bench: all
	@sh scripts/deps.sh bench
	@B=$(B) sh bench/run.sh
	@B=$(B) sh bench/daemon.sh

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	install -m 0755 $(SO).$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libpathcheck.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libpathcheck.so
	install -m 0644 $(A) $(DESTDIR)$(LIBDIR)/
	install -m 0644 include/pathcheck.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 $(PCFILE) $(DESTDIR)$(LIBDIR)/pkgconfig/
	for t in $(filter-out $(B)/pathcheckd,$(TOOLS)); do install -m 0755 $$t $(DESTDIR)$(BINDIR)/; done
	if [ -f $(B)/pathcheckd ]; then install -m 0755 $(B)/pathcheckd $(DESTDIR)$(SBINDIR)/; fi
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g; s|@BINDIR@|$(BINDIR)|g' \
		tools/pathcheckd/pathcheckd.service > $(DESTDIR)$(UNITDIR)/pathcheckd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/pathcheckd.service
	install -m 0644 docs/pathcheckd.conf.example $(DESTDIR)$(DOCDIR)/
	for s in 1 3 5 8; do \
		ls docs/man/*.$$s >/dev/null 2>&1 || continue; \
		install -d $(DESTDIR)$(MANDIR)/man$$s; \
		install -m 0644 docs/man/*.$$s $(DESTDIR)$(MANDIR)/man$$s/; \
	done

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libpathcheck.* $(DESTDIR)$(INCLUDEDIR)/pathcheck.h \
		$(DESTDIR)$(LIBDIR)/pkgconfig/pathcheck.pc
	for t in $(TOOL_DIRS); do rm -f $(DESTDIR)$(BINDIR)/$$t $(DESTDIR)$(SBINDIR)/$$t; done
	rm -f $(DESTDIR)$(UNITDIR)/pathcheckd.service
	rm -rf $(DESTDIR)$(DOCDIR)

clean:
	rm -rf build build-*

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
