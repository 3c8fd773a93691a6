package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// The demo starts, its console lists every circuit (four breakers and the
// cache shards of a group, which appear as the load reaches them), and it
// stops with everything it started once its context is done.
func TestDemoServesTheConsole(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", true, func(url string) { urls <- url }) }()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatal(err)
	}
	r, err := http.Get(url + "api/circuits")
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Writable bool
		Circuits []struct{ Name string }
	}
	err = json.NewDecoder(r.Body).Decode(&l)
	r.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Circuits) < 4 || l.Writable {
		t.Errorf("the demo lists %d circuits, writable %v; want at least 4, read-only", len(l.Circuits), l.Writable)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
