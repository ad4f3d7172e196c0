// Package flashtest tests scripts/flash, the SD card writer, against image
// files standing in for the card, with a fake sysfs and mount table so each
// safety refusal can be shown without a real device.
package flashtest
