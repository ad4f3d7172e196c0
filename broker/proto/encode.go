package proto

import "strconv"

// Protocol lines the server sends as they are.
const (
	ProtoPing = "PING\r\n"
	ProtoPong = "PONG\r\n"
	ProtoOK   = "+OK\r\n"
)

// AppendMsg appends "MSG <subject> <sid> [reply] <len>\r\n<payload>\r\n" to dst. The reply is
// left out when empty. It does not allocate when dst has room.
func AppendMsg(dst, subject, sid, reply, payload []byte) []byte {
	dst = append(dst, "MSG "...)
	dst = appendSubjectSidReply(dst, subject, sid, reply)
	return AppendMsgBody(dst, false, nil, payload)
}

// AppendHMsg appends "HMSG <subject> <sid> [reply] <hdrLen> <total>\r\n<msg>\r\n" to dst, where
// msg is headers followed by payload and total is len(msg). The reply is left out when empty.
func AppendHMsg(dst, subject, sid, reply []byte, hdrLen int, msg []byte) []byte {
	return AppendHMsgSplit(dst, subject, sid, reply, msg[:hdrLen], msg[hdrLen:])
}

// AppendHMsgSplit is AppendHMsg for a message whose headers and payload are
// in separate buffers, as in-process publishers hand them over.
func AppendHMsgSplit(dst, subject, sid, reply, hdr, payload []byte) []byte {
	dst = append(dst, "HMSG "...)
	dst = appendSubjectSidReply(dst, subject, sid, reply)
	return AppendMsgBody(dst, true, hdr, payload)
}

// AppendMsgBody appends what ends every message operation, client (MSG, HMSG) and leafnode
// (LMSG, HMSG) alike: the size fields, CRLF, the message and CRLF. With headers it appends
// "<hdrLen> <total>\r\n<hdr><payload>\r\n", total being len(hdr)+len(payload); without,
// "<len>\r\n<payload>\r\n" and hdr is ignored. It does not allocate when dst has room.
func AppendMsgBody(dst []byte, headers bool, hdr, payload []byte) []byte {
	if headers {
		dst = strconv.AppendInt(dst, int64(len(hdr)), 10)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(len(hdr)+len(payload)), 10)
		dst = append(dst, "\r\n"...)
		dst = append(dst, hdr...)
	} else {
		dst = strconv.AppendInt(dst, int64(len(payload)), 10)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, payload...)
	return append(dst, "\r\n"...)
}

func appendSubjectSidReply(dst, subject, sid, reply []byte) []byte {
	dst = append(dst, subject...)
	dst = append(dst, ' ')
	dst = append(dst, sid...)
	dst = append(dst, ' ')
	if len(reply) > 0 {
		dst = append(dst, reply...)
		dst = append(dst, ' ')
	}
	return dst
}

// AppendErr appends "-ERR '<text>'\r\n" to dst, the form nats-server uses for every error.
func AppendErr(dst []byte, text string) []byte {
	dst = append(dst, "-ERR '"...)
	dst = append(dst, text...)
	return append(dst, "'\r\n"...)
}
