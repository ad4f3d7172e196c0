package leaf

import (
	"strconv"

	"github.com/leafbox/leafbox/broker/proto"
)

// appendMsg appends an LMSG (or HMSG when hdr is not empty) for the hub:
//
//	LMSG <subject> [<reply>] <size>
//	LMSG <subject> + <reply> <q...> <size>    (reply and queue groups)
//	LMSG <subject> | <q...> <size>            (queue groups, no reply)
//	HMSG ... <hdr_size> <total_size>
//
// followed by the payload and CRLF. It allocates only to grow dst.
func appendMsg(dst, subj, reply []byte, queues [][]byte, hdr, data []byte) []byte {
	if len(hdr) > 0 {
		dst = append(dst, "HMSG "...)
	} else {
		dst = append(dst, "LMSG "...)
	}
	dst = append(dst, subj...)
	switch {
	case len(queues) > 0 && len(reply) > 0:
		dst = append(dst, " + "...)
		dst = append(dst, reply...)
	case len(queues) > 0:
		dst = append(dst, " |"...)
	case len(reply) > 0:
		dst = append(dst, ' ')
		dst = append(dst, reply...)
	}
	for _, q := range queues {
		dst = append(dst, ' ')
		dst = append(dst, q...)
	}
	dst = append(dst, ' ')
	return proto.AppendMsgBody(dst, len(hdr) > 0, hdr, data)
}

// appendSub appends LS+ for plain (weight 0) or queue interest.
func appendSub(dst []byte, subj, queue string, weight int) []byte {
	dst = append(dst, "LS+ "...)
	dst = append(dst, subj...)
	if queue != "" {
		dst = append(dst, ' ')
		dst = append(dst, queue...)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(weight), 10)
	}
	return append(dst, "\r\n"...)
}

// appendUnsub appends LS-.
func appendUnsub(dst []byte, subj, queue string) []byte {
	dst = append(dst, "LS- "...)
	dst = append(dst, subj...)
	if queue != "" {
		dst = append(dst, ' ')
		dst = append(dst, queue...)
	}
	return append(dst, "\r\n"...)
}
