################################################################################
#
# leafbox
#
################################################################################

# Built from a local directory holding the `make dist` source tree with
# vendor/, so the build needs no network (Buildroot does not vendor Go
# modules for a local source).
LEAFBOX_VERSION = $(call qstrip,$(BR2_PACKAGE_LEAFBOX_VERSION))
LEAFBOX_SITE = $(call qstrip,$(BR2_PACKAGE_LEAFBOX_SRCDIR))
LEAFBOX_SITE_METHOD = local
LEAFBOX_LICENSE = Apache-2.0
LEAFBOX_LICENSE_FILES = LICENSE
LEAFBOX_GOMOD = github.com/leafbox/leafbox
LEAFBOX_BUILD_TARGETS = cmd/leafbox
# -trimpath comes from the golang-package infrastructure.
LEAFBOX_LDFLAGS = -s -w -X main.version=$(LEAFBOX_VERSION)
LEAFBOX_GO_ENV = CGO_ENABLED=0

$(eval $(golang-package))
