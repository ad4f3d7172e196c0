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

# Optional parts: each one switched off in menuconfig is left out of the
# binary with its leafbox_omit_<tag> build tag (README "Build tags").
ifneq ($(BR2_PACKAGE_LEAFBOX_MQTT_BRIDGE),y)
LEAFBOX_TAGS += leafbox_omit_mqttbridge
endif
ifneq ($(BR2_PACKAGE_LEAFBOX_MQTT),y)
LEAFBOX_TAGS += leafbox_omit_mqtt
endif
ifneq ($(BR2_PACKAGE_LEAFBOX_SERIAL),y)
LEAFBOX_TAGS += leafbox_omit_serial
endif
ifneq ($(BR2_PACKAGE_LEAFBOX_GPIO),y)
LEAFBOX_TAGS += leafbox_omit_gpio
endif
ifneq ($(BR2_PACKAGE_LEAFBOX_MODBUS),y)
LEAFBOX_TAGS += leafbox_omit_modbus
endif
ifneq ($(BR2_PACKAGE_LEAFBOX_OTA_HTTP),y)
LEAFBOX_TAGS += leafbox_omit_otahttp
endif
ifneq ($(BR2_PACKAGE_LEAFBOX_OTA_OBJSTORE),y)
LEAFBOX_TAGS += leafbox_omit_otaobjstore
endif
ifneq ($(BR2_PACKAGE_LEAFBOX_WEBSOCKET),y)
LEAFBOX_TAGS += leafbox_omit_websocket
endif
ifneq ($(BR2_PACKAGE_LEAFBOX_S2),y)
LEAFBOX_TAGS += leafbox_omit_s2
endif
ifneq ($(BR2_PACKAGE_LEAFBOX_ZSTD),y)
LEAFBOX_TAGS += leafbox_omit_zstd
endif

$(eval $(golang-package))
