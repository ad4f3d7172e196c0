// Package modbus polls Modbus devices from register maps and publishes
// their values, and writes to them from command subjects.
//
// A Bridge is one line: a serial port speaking Modbus RTU (through
// go.bug.st/serial, like the serial bridge, with the same RS-485 options)
// or a TCP address speaking Modbus TCP (one connection, reused across
// requests and unit ids). All devices (unit ids) of a line are served by
// one goroutine, so requests on a line never overlap: polls of every
// group and queued write commands take turns.
//
// Polling. The points of a poll group are coalesced into as few reads as
// the protocol allows (125 registers or 2000 bits a read, or less with
// max_registers), joining points of a table that are at most max_gap
// registers apart. Each poll decodes every point (bool, 16/32/64-bit
// integers, float32/64, strings, a bit of a register; byte and word
// order; scale and offset) and publishes one JSON message per group, or
// one per point, on every poll, on change beyond a deadband, or both.
//
// Quality. A point that could not be read publishes null with its
// quality: "timeout", "crc", "exception", "malformed", "io", or "invalid"
// for a float that is not finite. A bad value is never published as a
// good one.
//
// Faults. Every request's outcome is counted on its device. A read that
// gets no answer ends that poll of the device (the group's other points
// get the same quality) so a silent unit holds the line for one timeout,
// not one per read. A device that answers nothing in a poll is down: its groups are retried with a
// doubling back-off (retry_min to retry_max) while the other devices of
// the line keep their schedule. Only a line failure (a serial port that
// disappears) ends Run; the bridge supervisor then reopens it.
//
// The Modbus codec (RTU framing and CRC, the MBAP header, function codes
// 1 to 6, 15 and 16 and exception responses) is this package's own, in
// frame.go: it is small, fuzzed, and brings in no dependency.
package modbus
