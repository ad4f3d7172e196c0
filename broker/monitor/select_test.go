package monitor

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func errorsIs(err, target error) bool {
	if target == nil {
		return err == nil
	}
	return errors.Is(err, target)
}

func TestNewConnzTiesAndPaging(t *testing.T) {
	conns := []ConnInfo{{Cid: 5, OutMsgs: 1}, {Cid: 2, OutMsgs: 1}, {Cid: 9, OutMsgs: 3}, {Cid: 1, OutMsgs: 1}}
	tests := []struct {
		opts ConnzOptions
		want []uint64
	}{
		{ConnzOptions{Sort: ByOutMsgs}, []uint64{9, 1, 2, 5}},
		{ConnzOptions{Sort: ByOutMsgs, Offset: 1, Limit: 2}, []uint64{1, 2}},
		{ConnzOptions{}, []uint64{1, 2, 5, 9}},
		{ConnzOptions{Sort: "nonsense"}, []uint64{1, 2, 5, 9}}, // falls back to cid
		{ConnzOptions{CID: 5, Limit: 100}, []uint64{5}},
	}
	for _, tc := range tests {
		cz := NewConnz("S", slices.Clone(conns), tc.opts, t0)
		var got []uint64
		for _, c := range cz.Conns {
			got = append(got, c.Cid)
		}
		if !slices.Equal(got, tc.want) || cz.NumConns != len(tc.want) || !cz.Now.Equal(t0) {
			t.Errorf("%+v: cids %v (num %d), want %v", tc.opts, got, cz.NumConns, tc.want)
		}
	}
}

func TestNewSubszPaging(t *testing.T) {
	subs := []SubDetail{{Subject: "a"}, {Subject: "b"}, {Subject: "c"}}
	tests := []struct {
		opts SubszOptions
		want []string
	}{
		{SubszOptions{}, nil},
		{SubszOptions{Subscriptions: true}, []string{"a", "b", "c"}},
		{SubszOptions{Subscriptions: true, Offset: 2}, []string{"c"}},
		{SubszOptions{Subscriptions: true, Offset: -1, Limit: 1}, []string{"a"}},
		{SubszOptions{Subscriptions: true, Test: "bad.*"}, []string{"a", "b", "c"}},
	}
	for _, tc := range tests {
		sz := NewSubsz("S", SublistStats{NumSubs: 3}, subs, tc.opts, time.Time{})
		var got []string
		for _, s := range sz.Subs {
			got = append(got, s.Subject)
		}
		if !slices.Equal(got, tc.want) || sz.Total != 3 || sz.NumSubs != 3 {
			t.Errorf("%+v: %v total %d, want %v", tc.opts, got, sz.Total, tc.want)
		}
	}
}
