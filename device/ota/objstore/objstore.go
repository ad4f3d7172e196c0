// Package objstore downloads an object from a JetStream object store over
// any NATS connection that can publish and subscribe (in leafbox, an
// in-process client of the broker, reaching the hub through the leafnode
// uplink). It speaks the store's wire layout directly:
//
//   - the object's info is the last message on $O.<bucket>.M.<base64url(name)>
//     of the stream OBJ_<bucket>, fetched with a direct get
//     ($JS.API.DIRECT.GET.OBJ_<bucket>, {"last_by_subj": ...});
//   - its chunks are the messages on $O.<bucket>.C.<nuid>, fetched in
//     batches with direct gets ({"seq", "next_by_subj", "batch"}), each batch
//     ending with a "204 EOB" status; the next batch starts after the
//     highest Nats-Sequence seen, so a download is resumable by sequence;
//   - the digest is "SHA-256=<base64url>" over the whole object.
//
// The stream must allow direct gets (object stores created by nats.go do).
package objstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Sentinel errors.
var (
	ErrNotFound = errors.New("objstore: object not found")
	ErrTimeout  = errors.New("objstore: no response")
	ErrDigest   = errors.New("objstore: object digest mismatch")
	ErrProtocol = errors.New("objstore: unexpected response")
)

// Conn is the NATS connection the download uses. Subscribe's handler gets
// the NATS/1.0 header block (possibly empty) and the payload, valid only
// during the call, and must not block.
type Conn interface {
	Publish(subject, reply string, data []byte) error
	Subscribe(subject string, h func(hdr, data []byte)) (unsubscribe func(), err error)
}

// Info is the part of the object's info the download needs.
type Info struct {
	Name    string `json:"name"`
	NUID    string `json:"nuid"`
	Size    int64  `json:"size"`
	Chunks  int64  `json:"chunks"`
	Digest  string `json:"digest"`
	Deleted bool   `json:"deleted"`
}

// Source is an OTA bundle stored as an object.
type Source struct {
	Conn   Conn
	Bucket string
	Name   string
	// Timeout bounds every request (default 10s); Batch is the chunks per
	// request (default 8).
	Timeout time.Duration
	Batch   int
}

type reply struct {
	hdr, data []byte
}

// Open implements ota.Source: it fetches the object's info and streams the
// chunks, checking the size and digest at the end.
func (s Source) Open(ctx context.Context) (io.ReadCloser, error) {
	if s.Timeout == 0 {
		s.Timeout = 10 * time.Second
	}
	if s.Batch == 0 {
		s.Batch = 8
	}
	inbox := "_INBOX.ota." + nuid()
	ch := make(chan reply, 4*s.Batch+4)
	unsub, err := s.Conn.Subscribe(inbox, func(hdr, data []byte) {
		select {
		case ch <- reply{bytes.Clone(hdr), bytes.Clone(data)}:
		default: // more than asked for: dropped, the request times out
		}
	})
	if err != nil {
		return nil, fmt.Errorf("objstore: %w", err)
	}
	api := "$JS.API.DIRECT.GET.OBJ_" + s.Bucket
	meta := "$O." + s.Bucket + ".M." + base64.URLEncoding.EncodeToString([]byte(s.Name))
	req, _ := json.Marshal(map[string]any{"last_by_subj": meta})
	if err := s.Conn.Publish(api, inbox, req); err != nil {
		unsub()
		return nil, fmt.Errorf("objstore: %w", err)
	}
	r, err := wait(ctx, ch, s.Timeout)
	if err != nil {
		unsub()
		return nil, err
	}
	if code := status(r.hdr); code == "404" {
		unsub()
		return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, s.Bucket, s.Name)
	} else if code != "" {
		unsub()
		return nil, fmt.Errorf("%w: status %s", ErrProtocol, code)
	}
	var info Info
	if err := json.Unmarshal(r.data, &info); err != nil || info.NUID == "" {
		unsub()
		return nil, fmt.Errorf("%w: object info: %v", ErrProtocol, err)
	}
	if info.Deleted {
		unsub()
		return nil, fmt.Errorf("%w: %s/%s is deleted", ErrNotFound, s.Bucket, s.Name)
	}
	pr, pw := io.Pipe()
	go func() {
		defer unsub()
		pw.CloseWithError(s.stream(ctx, ch, api, inbox, info, pw))
	}()
	return pr, nil
}

// stream fetches the chunks in batches and writes them to w.
func (s Source) stream(ctx context.Context, ch chan reply, api, inbox string, info Info, w io.Writer) error {
	chunks := "$O." + s.Bucket + ".C." + info.NUID
	h := sha256.New()
	var got int64
	next := uint64(1)
	for got < info.Size {
		req, _ := json.Marshal(map[string]any{"seq": next, "next_by_subj": chunks, "batch": s.Batch})
		if err := s.Conn.Publish(api, inbox, req); err != nil {
			return fmt.Errorf("objstore: %w", err)
		}
		for n := 0; ; n++ {
			r, err := wait(ctx, ch, s.Timeout)
			if err != nil {
				return err
			}
			code := status(r.hdr)
			if code == "204" {
				if n == 0 {
					return fmt.Errorf("%w: object ends at %d of %d bytes", ErrProtocol, got, info.Size)
				}
				break
			}
			if code == "404" {
				return fmt.Errorf("%w: object ends at %d of %d bytes", ErrNotFound, got, info.Size)
			}
			if code != "" {
				return fmt.Errorf("%w: status %s", ErrProtocol, code)
			}
			seq, err := strconv.ParseUint(header(r.hdr, "Nats-Sequence"), 10, 64)
			if err != nil || seq < next {
				return fmt.Errorf("%w: chunk sequence %q", ErrProtocol, header(r.hdr, "Nats-Sequence"))
			}
			next = seq + 1
			got += int64(len(r.data))
			if got > info.Size {
				return fmt.Errorf("%w: more than %d bytes", ErrDigest, info.Size)
			}
			h.Write(r.data)
			if _, err := w.Write(r.data); err != nil {
				return err
			}
		}
	}
	want, ok := bytes.CutPrefix([]byte(info.Digest), []byte("SHA-256="))
	sum := h.Sum(nil)
	if !ok {
		return fmt.Errorf("%w: digest %q", ErrProtocol, info.Digest)
	}
	if dec, err := base64.URLEncoding.DecodeString(string(want)); err != nil || !bytes.Equal(dec, sum) {
		return fmt.Errorf("%w: got %s", ErrDigest, hex.EncodeToString(sum))
	}
	return nil
}

func wait(ctx context.Context, ch chan reply, d time.Duration) (reply, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-ch:
		return r, nil
	case <-t.C:
		return reply{}, ErrTimeout
	case <-ctx.Done():
		return reply{}, ctx.Err()
	}
}

// status returns the status code of a header block ("" when none).
func status(hdr []byte) string {
	line, _, _ := bytes.Cut(hdr, []byte("\r\n"))
	f := bytes.Fields(line)
	if len(f) >= 2 {
		return string(f[1])
	}
	return ""
}

// header returns the value of key in a header block.
func header(hdr []byte, key string) string {
	for _, line := range bytes.Split(hdr, []byte("\r\n"))[1:] {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && string(bytes.TrimSpace(k)) == key {
			return string(bytes.TrimSpace(v))
		}
	}
	return ""
}

// nuid returns a random inbox token.
func nuid() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
