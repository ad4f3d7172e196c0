package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// checkFile walks a bbolt file's page tree by reading the file, before
// bbolt opens it. bbolt itself treats a damaged page as a broken invariant:
// it panics, and with NoFreelistSync it does so on a goroutine of its own
// while rebuilding the freelist at open, which no recover can catch. So
// every page bbolt will follow at open is checked here first, with the
// rules bbolt's own check applies: valid meta page, page ids and types,
// pages within the high water mark and the file, each page referenced once,
// element offsets inside their page, keys ordered within pages and between
// parent and child. The layout is read little endian, bbolt's byte order on
// every platform leafbox runs on.
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		// bbolt would initialize it as a new store, but bbolt never leaves
		// a file it made empty: this one lost its contents.
		return errors.New("empty file")
	}
	w := &pageWalker{f: f, size: fi.Size()}
	m, err := w.readMeta()
	if err != nil {
		return err
	}
	return w.walk(m.root, uint64(m.pageSize), m.pgid)
}

// walk checks the page tree under the root bucket's page root, in a file
// of page size ps whose high water mark is hwm pages.
func (w *pageWalker) walk(root, ps, hwm uint64) error {
	w.ps, w.hwm = ps, hwm
	if w.hwm < 2 || w.hwm*w.ps > uint64(w.size) {
		return fmt.Errorf("high water mark %d pages of %d bytes is beyond the file (%d bytes)", w.hwm, w.ps, w.size)
	}
	w.seen = make([]uint64, (hwm+63)/64)
	return w.bucket(root, nil, 0)
}

// errStopped ends a walk whose stop channel was closed.
var errStopped = errors.New("storage: verification stopped")

// fileMeta reads the current meta page of the file at path (the one bbolt
// would use).
func fileMeta(path string) (meta, error) {
	f, err := os.Open(path)
	if err != nil {
		return meta{}, err
	}
	defer f.Close()
	w := &pageWalker{f: f}
	return w.readMeta()
}

const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	pageHeaderSize  = 16
	elemSize        = 16
	bucketHdrSize   = 16
	flagBranch      = 0x01
	flagLeaf        = 0x02
	leafBucketFlag  = 0x01
	maxBucketDepth  = 32
	maxMetaPageSize = 1 << 16
)

type meta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64
	txid     uint64
}

// noFreelist is the freelist page id of a file written with
// NoFreelistSync: bbolt rebuilds its freelist at open by reading every page.
const noFreelist = ^uint64(0)

type pageWalker struct {
	f    *os.File
	size int64
	ps   uint64
	hwm  uint64
	// seen has a bit per page below hwm.
	seen []uint64
	// stop, when not nil, ends the walk with errStopped once closed.
	stop  <-chan struct{}
	pages uint
}

// readMeta returns the valid meta page with the highest transaction id, as
// bbolt does.
func (w *pageWalker) readMeta() (meta, error) {
	m0, err0 := w.metaAt(0)
	ps := int64(4096)
	if err0 == nil {
		ps = int64(m0.pageSize)
	}
	m1, err1 := w.metaAt(ps)
	if err0 != nil && err1 != nil {
		// The first meta page gave no page size: try the sizes bbolt tries.
		for p := int64(1024); p <= maxMetaPageSize && err1 != nil; p <<= 1 {
			m1, err1 = w.metaAt(p)
		}
	}
	switch {
	case err0 != nil && err1 != nil:
		return meta{}, fmt.Errorf("no valid meta page: %v; %v", err0, err1)
	case err0 != nil:
		return m1, nil
	case err1 != nil || m0.txid >= m1.txid:
		return m0, nil
	}
	return m1, nil
}

func (w *pageWalker) metaAt(off int64) (meta, error) {
	var b [pageHeaderSize + 64]byte
	if _, err := w.f.ReadAt(b[:], off); err != nil {
		return meta{}, fmt.Errorf("meta page at %d: %w", off, err)
	}
	le := binary.LittleEndian
	body := b[pageHeaderSize:]
	h := fnv.New64a()
	h.Write(body[:56])
	switch {
	case le.Uint32(body[0:]) != boltMagic:
		return meta{}, fmt.Errorf("meta page at %d: not a bbolt file", off)
	case le.Uint32(body[4:]) != boltVersion:
		return meta{}, fmt.Errorf("meta page at %d: version %d", off, le.Uint32(body[4:]))
	case le.Uint64(body[56:]) != h.Sum64():
		return meta{}, fmt.Errorf("meta page at %d: checksum", off)
	}
	m := meta{
		pageSize: le.Uint32(body[8:]),
		root:     le.Uint64(body[16:]),
		freelist: le.Uint64(body[32:]),
		pgid:     le.Uint64(body[40:]),
		txid:     le.Uint64(body[48:]),
	}
	if m.pageSize < 512 || m.pageSize > maxMetaPageSize || m.pageSize&(m.pageSize-1) != 0 {
		return meta{}, fmt.Errorf("meta page at %d: page size %d", off, m.pageSize)
	}
	return m, nil
}

// bucket checks a bucket whose root is page root, or the inline page
// inline when root is 0.
func (w *pageWalker) bucket(root uint64, inline []byte, depth int) error {
	if depth > maxBucketDepth {
		return errors.New("buckets nested too deep")
	}
	if root == 0 {
		if len(inline) < pageHeaderSize {
			return errors.New("inline bucket too short")
		}
		_, err := w.elements(inline, flagLeaf, nil, nil, depth)
		return err
	}
	_, err := w.page(root, nil, nil, depth)
	return err
}

// page checks page id and its subtree; keys must be in [lo, hi). It
// returns the largest key of the subtree.
func (w *pageWalker) page(id uint64, lo, hi []byte, depth int) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, fmt.Errorf("page %d: outside [2, %d)", id, w.hwm)
	}
	if w.stop != nil {
		if w.pages++; w.pages%1024 == 0 {
			select {
			case <-w.stop:
				return nil, errStopped
			default:
			}
		}
	}
	var hdr [pageHeaderSize]byte
	if _, err := w.f.ReadAt(hdr[:], int64(id*w.ps)); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	le := binary.LittleEndian
	overflow := uint64(le.Uint32(hdr[12:]))
	switch {
	case le.Uint64(hdr[0:]) != id:
		return nil, fmt.Errorf("page %d: identifies as %d", id, le.Uint64(hdr[0:]))
	case id+overflow >= w.hwm:
		return nil, fmt.Errorf("page %d: overflow %d passes the high water mark", id, overflow)
	}
	for i := id; i <= id+overflow; i++ {
		if w.seen[i/64]&(1<<(i%64)) != 0 {
			return nil, fmt.Errorf("page %d: referenced twice", i)
		}
		w.seen[i/64] |= 1 << (i % 64)
	}
	buf := make([]byte, (overflow+1)*w.ps)
	if _, err := w.f.ReadAt(buf, int64(id*w.ps)); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	flags := le.Uint16(hdr[8:])
	if flags != flagBranch && flags != flagLeaf {
		return nil, fmt.Errorf("page %d: type %#x is not branch or leaf", id, flags)
	}
	max, err := w.elements(buf, flags, lo, hi, depth)
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	return max, nil
}

// elements checks the elements of page p (a file page or an inline one).
func (w *pageWalker) elements(p []byte, flags uint16, lo, hi []byte, depth int) ([]byte, error) {
	le := binary.LittleEndian
	if le.Uint16(p[8:]) != flags {
		return nil, fmt.Errorf("type %#x, want %#x", le.Uint16(p[8:]), flags)
	}
	count := uint64(le.Uint16(p[10:]))
	if pageHeaderSize+count*elemSize > uint64(len(p)) {
		return nil, fmt.Errorf("%d elements do not fit", count)
	}
	prev := lo
	var max []byte
	for i := range count {
		e := pageHeaderSize + i*elemSize
		pos := uint64(le.Uint32(p[e+4:]))
		ksize := uint64(le.Uint32(p[e+8:]))
		vsize := uint64(0)
		if flags == flagBranch {
			pos, ksize = uint64(le.Uint32(p[e:])), uint64(le.Uint32(p[e+4:]))
		} else {
			vsize = uint64(le.Uint32(p[e+12:]))
		}
		start := e + pos
		if start+ksize+vsize > uint64(len(p)) {
			return nil, fmt.Errorf("element %d: outside its page", i)
		}
		key := p[start : start+ksize]
		if prev != nil && (bytes.Compare(prev, key) > 0 || (i > 0 && bytes.Equal(prev, key))) {
			return nil, fmt.Errorf("element %d: key out of order", i)
		}
		if hi != nil && bytes.Compare(key, hi) >= 0 {
			return nil, fmt.Errorf("element %d: key not below its parent's next key", i)
		}
		if flags == flagBranch {
			next := hi
			if i+1 < count {
				ne := pageHeaderSize + (i+1)*elemSize
				npos, nk := uint64(le.Uint32(p[ne:])), uint64(le.Uint32(p[ne+4:]))
				if ne+npos+nk > uint64(len(p)) {
					return nil, fmt.Errorf("element %d: outside its page", i+1)
				}
				next = p[ne+npos : ne+npos+nk]
			}
			m, err := w.page(le.Uint64(p[e+8:]), key, next, depth)
			if err != nil {
				return nil, err
			}
			prev, max = m, m
			continue
		}
		prev, max = key, key
		if le.Uint32(p[e:])&leafBucketFlag != 0 {
			v := p[start+ksize : start+ksize+vsize]
			if len(v) < bucketHdrSize {
				return nil, fmt.Errorf("element %d: bucket header too short", i)
			}
			if err := w.bucket(le.Uint64(v), v[bucketHdrSize:], depth+1); err != nil {
				return nil, fmt.Errorf("bucket %q: %w", key, err)
			}
		}
	}
	return max, nil
}
