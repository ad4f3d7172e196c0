include $(sort $(wildcard $(BR2_EXTERNAL_LEAFBOX_PATH)/package/*/*.mk))
