package monitor

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ErrBadQuery is returned for a query parameter that does not parse; the
// handler answers 400 with its text.
var ErrBadQuery = errors.New("monitor: bad query parameter")

func queryBool(q url.Values, name string) (bool, error) {
	s := q.Get(name)
	if s == "" {
		return false, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%w: %s=%q is not a boolean", ErrBadQuery, name, s)
	}
	return v, nil
}

func queryInt(q url.Values, name string) (int, error) {
	s := q.Get(name)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q is not an integer", ErrBadQuery, name, s)
	}
	return v, nil
}

func queryUint64(q url.Values, name string) (uint64, error) {
	s := q.Get(name)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q is not an unsigned integer", ErrBadQuery, name, s)
	}
	return v, nil
}

// connzOptions decodes /connz parameters: sort, auth, subs (1|true|detail),
// offset, limit, cid and state (open|closed|any|all).
func connzOptions(q url.Values) (ConnzOptions, error) {
	var o ConnzOptions
	var err error
	o.Sort = SortOpt(strings.ToLower(q.Get("sort")))
	if o.Username, err = queryBool(q, "auth"); err != nil {
		return o, err
	}
	if strings.EqualFold(q.Get("subs"), "detail") {
		o.SubscriptionsDetail = true
	} else if o.Subscriptions, err = queryBool(q, "subs"); err != nil {
		return o, err
	}
	if o.Offset, err = queryInt(q, "offset"); err != nil {
		return o, err
	}
	if o.Limit, err = queryInt(q, "limit"); err != nil {
		return o, err
	}
	if o.CID, err = queryUint64(q, "cid"); err != nil {
		return o, err
	}
	switch st := strings.ToLower(q.Get("state")); st {
	case "", "open":
		o.State = ConnOpen
	case "closed":
		o.State = ConnClosed
	case "any", "all":
		o.State = ConnAll
	default:
		return o, fmt.Errorf("%w: state=%q is not open, closed or any", ErrBadQuery, st)
	}
	return o.normalize()
}

// subszOptions decodes /subsz parameters: subs, offset, limit and test.
func subszOptions(q url.Values) (SubszOptions, error) {
	var o SubszOptions
	var err error
	if o.Subscriptions, err = queryBool(q, "subs"); err != nil {
		return o, err
	}
	if o.Offset, err = queryInt(q, "offset"); err != nil {
		return o, err
	}
	if o.Limit, err = queryInt(q, "limit"); err != nil {
		return o, err
	}
	o.Test = q.Get("test")
	return o.normalize()
}
