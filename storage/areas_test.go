package storage

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestIdentifiers(t *testing.T) {
	cfg := testConfig(t, Limits{})
	s := openTest(t, cfg)
	d := s.Identifiers()
	if _, ok, err := d.Get("ota"); ok || err != nil {
		t.Fatalf("absent key: %v %v", ok, err)
	}
	if err := d.Put("ota", []byte("pending:1.2.3")); err != nil {
		t.Fatal(err)
	}
	if err := d.Put("", []byte("x")); !errors.Is(err, ErrEmptyKey) {
		t.Fatalf("empty key: %v", err)
	}
	closeChecked(t, s)
	s = openTest(t, cfg)
	d = s.Identifiers()
	if v, ok, err := d.Get("ota"); !ok || err != nil || string(v) != "pending:1.2.3" {
		t.Fatalf("after reopen: %q %v %v", v, ok, err)
	}
	if err := d.Delete("ota"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := d.Get("ota"); ok {
		t.Fatal("deleted key still there")
	}
}

// entries lists a table as "key=version:value" in key order.
func entries(t *testing.T, tb Table, prefix string) []string {
	t.Helper()
	var out []string
	err := tb.ForEach([]byte(prefix), func(k []byte, ver uint64, v []byte) error {
		out = append(out, fmt.Sprintf("%s=%d:%s", k, ver, v))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTable(t *testing.T) {
	cfg := testConfig(t, Limits{})
	s := openTest(t, cfg)
	tb := s.Table("things")
	if _, _, ok, err := tb.Get([]byte("a")); ok || err != nil {
		t.Fatalf("absent key of a table never written: %v %v", ok, err)
	}
	if got := entries(t, tb, ""); len(got) != 0 {
		t.Fatalf("new table: %v", got)
	}
	for _, e := range []struct {
		k   string
		ver uint64
		v   string
	}{{"b/2", 1, "two"}, {"a", 300, ""}, {"b/1", 2, "one"}, {"c", 1, "three"}} {
		if err := tb.Put([]byte(e.k), e.ver, []byte(e.v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tb.Put(nil, 1, []byte("x")); !errors.Is(err, ErrEmptyKey) {
		t.Fatalf("empty key: %v", err)
	}
	// Update commits all or nothing.
	boom := errors.New("boom")
	err := tb.Update(func(tx TableTx) error {
		if err := tx.Put([]byte("c"), 9, []byte("changed")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failed update: %v", err)
	}
	err = tb.Update(func(tx TableTx) error {
		if _, v, ok, err := tx.Get([]byte("b/1")); !ok || err != nil || string(v) != "one" {
			t.Errorf("Get in tx: %q %v %v", v, ok, err)
		}
		if err := tx.Delete([]byte("b/1")); err != nil {
			return err
		}
		return tx.Put([]byte("b/3"), 1, []byte("three"))
	})
	if err != nil {
		t.Fatal(err)
	}
	closeChecked(t, s)
	s = openTest(t, cfg)
	tb = s.Table("things")
	want := []string{"a=300:", "b/2=1:two", "b/3=1:three", "c=1:three"}
	if got := entries(t, tb, ""); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after reopen: %v, want %v", got, want)
	}
	if got := entries(t, tb, "b/"); fmt.Sprint(got) != fmt.Sprint(want[1:3]) {
		t.Fatalf("prefix b/: %v", got)
	}
	if ver, v, ok, err := tb.Get([]byte("a")); !ok || err != nil || ver != 300 || len(v) != 0 {
		t.Fatalf("Get a: %d %q %v %v", ver, v, ok, err)
	}
	if got := entries(t, s.Table("other"), ""); len(got) != 0 {
		t.Fatalf("tables share entries: %v", got)
	}
	if err := tb.Delete([]byte("nothing")); err != nil {
		t.Fatalf("delete absent key: %v", err)
	}
	stop := errors.New("stop")
	n := 0
	if err := tb.ForEach(nil, func([]byte, uint64, []byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("ForEach stop: %v after %d", err, n)
	}
}

// TestUpgradeLegacy opens a file with areas in top-level buckets of their
// own, as the store kept them before tables: they become tables with the
// same bytes, flat areas keep their keys, nested ones get path keys.
func TestUpgradeLegacy(t *testing.T) {
	cfg := testConfig(t, Limits{})
	s := openTest(t, cfg)
	mustAppend(t, s.Queue("Q"), rec(1, 10))
	if err := s.Identifiers().Put("forward.id", []byte("gw")); err != nil {
		t.Fatal(err)
	}
	closeChecked(t, s)

	db, err := bolt.Open(filepath.Join(cfg.Dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		flat, err := tx.CreateBucket([]byte("flat"))
		if err != nil {
			return err
		}
		if err := flat.Put([]byte("a/b"), []byte{1, 'x'}); err != nil {
			return err
		}
		nested, err := tx.CreateBucket([]byte("nested"))
		if err != nil {
			return err
		}
		if err := nested.Put([]byte("top"), []byte("v")); err != nil {
			return err
		}
		dev, err := nested.CreateBucket([]byte("dev"))
		if err != nil {
			return err
		}
		if err := dev.Put([]byte("subs"), []byte("S")); err != nil {
			return err
		}
		in, err := dev.CreateBucket([]byte("in"))
		if err != nil {
			return err
		}
		if err := in.Put([]byte{0, 7}, []byte("I")); err != nil {
			return err
		}
		_, err = nested.CreateBucket([]byte("empty"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, cfg)
	if got := entries(t, s.Table("flat"), ""); fmt.Sprint(got) != "[a/b=0:\x01x]" {
		t.Fatalf("flat area: %q", got)
	}
	want := []string{
		"\x03dev=0:",
		"\x03dev\x02in=0:",
		"\x03dev\x02in\x02\x00\x07=0:I",
		"\x03dev\x04subs=0:S",
		"\x03top=0:v",
		"\x05empty=0:",
	}
	if got := entries(t, s.Table("nested"), ""); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("nested area:\n%q\nwant\n%q", got, want)
	}
	if v, ok, err := s.Identifiers().Get("forward.id"); !ok || err != nil || string(v) != "gw" {
		t.Fatalf("identifier after upgrade: %q %v %v", v, ok, err)
	}
	if got := readAll(t, s.Queue("Q")); len(got) != 1 {
		t.Fatalf("queue after upgrade: %v", got)
	}
	err = s.view(func(tx *bolt.Tx) error {
		for _, name := range []string{"flat", "nested"} {
			if tx.Bucket([]byte(name)) != nil {
				return fmt.Errorf("legacy bucket %s still there", name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The entries carry version 0 as they are; the owner rewrites them.
	if ver, v, ok, _ := s.Table("flat").Get([]byte("a/b")); !ok || ver != 0 || !bytes.Equal(v, []byte{1, 'x'}) {
		t.Fatalf("flat entry: %d %q %v", ver, v, ok)
	}
}
