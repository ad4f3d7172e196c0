package bridge

import (
	"strconv"
	"strings"
)

// Status codes of error replies, as HTTP and the NATS services framework
// use them.
const (
	CodeBadRequest  = 400
	CodeTimeout     = 408
	CodeUnavailable = 503
	CodeInternal    = 500
)

// ErrorHeader is the header block of an error reply in the NATS services
// convention (Nats-Service-Error and Nats-Service-Error-Code), so clients
// built on nats.go's micro package recognise it.
func ErrorHeader(code int, text string) []byte {
	text = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, text)
	b := make([]byte, 0, 64+len(text))
	b = append(b, "NATS/1.0\r\nNats-Service-Error: "...)
	b = append(b, text...)
	b = append(b, "\r\nNats-Service-Error-Code: "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, "\r\n\r\n"...)
	return b
}

// ReplyError answers a request with an error: the header from ErrorHeader
// and text as the body.
func ReplyError(p Publisher, reply []byte, code int, text string) error {
	return p.Publish(Msg{Subject: reply, Header: ErrorHeader(code, text), Data: []byte(text)})
}
