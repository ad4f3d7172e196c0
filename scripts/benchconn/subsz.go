package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// errSubsTimeout reports that the subscription count did not reach the minimum.
var errSubsTimeout = errors.New("benchconn: subscription count did not reach the minimum in time")

// subsPollInterval paces the /subsz polling.
const subsPollInterval = 10 * time.Millisecond

// subsz holds the one /subsz field the benchmark needs (nats-server's name).
type subsz struct {
	NumSubscriptions *int `json:"num_subscriptions"`
}

// numSubs reads num_subscriptions from monitor's /subsz.
func numSubs(ctx context.Context, client *http.Client, monitor string) (int, error) {
	url := strings.TrimSuffix(monitor, "/") + "/subsz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("subs: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("subs: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("subs: GET %s: %s", url, resp.Status)
	}
	var s subsz
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return 0, fmt.Errorf("subs: decode %s: %w", url, err)
	}
	if s.NumSubscriptions == nil {
		return 0, fmt.Errorf("subs: %s has no num_subscriptions", url)
	}
	return *s.NumSubscriptions, nil
}

// waitSubs polls /subsz until num_subscriptions is at least minSubs and returns it.
func waitSubs(ctx context.Context, monitor string, minSubs int, timeout time.Duration) (int, error) {
	client := &http.Client{Timeout: timeout}
	deadline := time.Now().Add(timeout)
	for {
		n, err := numSubs(ctx, client, monitor)
		if err != nil {
			return 0, err
		}
		if n >= minSubs {
			return n, nil
		}
		if !time.Now().Before(deadline) {
			return n, fmt.Errorf("%d of %d after %v: %w", n, minSubs, timeout, errSubsTimeout)
		}
		select {
		case <-ctx.Done():
			return n, fmt.Errorf("subs: %w", ctx.Err())
		case <-time.After(subsPollInterval):
		}
	}
}
