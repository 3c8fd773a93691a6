package console_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/console"
	"github.com/tripwire-go/tripwire/policy"
)

type kit struct {
	reg     *breaker.Registry
	db, api *breaker.Breaker[int]
	srv     *httptest.Server
	token   string
	logs    *bytes.Buffer
}

func newKit(t *testing.T, authorize func(*http.Request) (string, error)) *kit {
	t.Helper()
	k := &kit{reg: new(breaker.Registry), logs: new(bytes.Buffer)}
	var err error
	if k.db, err = breaker.New(breaker.Config[int]{Name: "db", Policy: policy.Consecutive(2), CountCalls: true}); err != nil {
		t.Fatal(err)
	}
	if k.api, err = breaker.New(breaker.Config[int]{Name: "api", CountCalls: true}); err != nil {
		t.Fatal(err)
	}
	if err := k.reg.Add(k.api, k.db); err != nil {
		t.Fatal(err)
	}
	c, err := console.New(k.reg, console.Options{Authorize: authorize, Logger: slog.New(slog.NewTextHandler(k.logs, nil)), Interval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/tripwire/", c)
	k.srv = httptest.NewServer(mux)
	t.Cleanup(func() { c.Close(); k.srv.Close() })
	page := k.get(t, "/debug/tripwire/")
	if i := strings.Index(page, `name="tw-token" content="`); i >= 0 {
		rest := page[i+len(`name="tw-token" content="`):]
		k.token = rest[:strings.IndexByte(rest, '"')]
	}
	return k
}

func (k *kit) get(t *testing.T, path string) string {
	t.Helper()
	r, err := http.Get(k.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(r.Body)
	if r.StatusCode != 200 {
		t.Fatalf("GET %s: %s: %s", path, r.Status, b.String())
	}
	return b.String()
}

func (k *kit) post(t *testing.T, body string, header map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, k.srv.URL+"/debug/tripwire/api/action", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(console.TokenHeader, k.token)
	for h, v := range header {
		if v == "" {
			req.Header.Del(h)
		} else {
			req.Header.Set(h, v)
		}
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(r.Body)
	return r.StatusCode, b.String()
}

func fail(b *breaker.Breaker[int]) {
	_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("connection refused") })
}

func TestListIsSortedByAttentionWithEvidence(t *testing.T) {
	k := newKit(t, nil)
	for range 3 {
		_, _ = k.api.Execute(context.Background(), func(context.Context) (int, error) { return 1, nil })
	}
	fail(k.db)
	fail(k.db) // trips
	var l struct {
		Circuits []struct {
			Name  string
			State string
			Last  *struct {
				Evidence struct{ Text string }
			}
			Timeline []struct{ State string }
		}
	}
	if err := json.Unmarshal([]byte(k.get(t, "/debug/tripwire/api/circuits")), &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Circuits) != 2 || l.Circuits[0].Name != "db" || l.Circuits[0].State != "open" {
		t.Fatalf("circuits = %+v, want db (open) first", l.Circuits)
	}
	if got := l.Circuits[0].Last.Evidence.Text; got != "consecutive: 2 failures in a row (threshold 2); last failure: connection refused" {
		t.Errorf("evidence = %q", got)
	}
	if tl := l.Circuits[0].Timeline; len(tl) != 2 || tl[0].State != "closed" || tl[1].State != "open" {
		t.Errorf("timeline = %+v, want closed then open", tl)
	}
	one := k.get(t, "/debug/tripwire/api/circuit?name=db")
	if !strings.Contains(one, `"history":[`) || !strings.Contains(one, `"rule":"consecutive"`) {
		t.Errorf("one circuit: %s", one)
	}
}

func TestActionsAreRefusedOnAReadOnlyConsole(t *testing.T) {
	k := newKit(t, nil)
	if k.token != "" {
		t.Errorf("a read-only console gave its page a token")
	}
	code, body := k.post(t, `{"name":"db","action":"force-open","reason":"test"}`, nil)
	if code != http.StatusForbidden || k.db.State() != breaker.Closed {
		t.Fatalf("action on a read-only console: %d %s; state %v", code, body, k.db.State())
	}
}

func TestActionChecks(t *testing.T) {
	k := newKit(t, func(r *http.Request) (string, error) {
		if r.Header.Get("X-User") == "" {
			return "", errors.New("no user")
		}
		return r.Header.Get("X-User"), nil
	})
	ok := map[string]string{"X-User": "alice"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{"X-User": "alice"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	refused := []struct {
		name   string
		body   string
		header map[string]string
		code   int
	}{
		{"cross-origin", `{"name":"db","action":"force-open","reason":"r"}`, with(map[string]string{"Origin": "https://evil.example"}), 403},
		{"cross-site", `{"name":"db","action":"force-open","reason":"r"}`, with(map[string]string{"Sec-Fetch-Site": "cross-site"}), 403},
		{"no token", `{"name":"db","action":"force-open","reason":"r"}`, with(map[string]string{console.TokenHeader: ""}), 403},
		{"wrong token", `{"name":"db","action":"force-open","reason":"r"}`, with(map[string]string{console.TokenHeader: "x"}), 403},
		{"form body", `name=db`, with(map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), 415},
		{"unauthorized", `{"name":"db","action":"force-open","reason":"r"}`, map[string]string{}, 403},
		{"no reason", `{"name":"db","action":"force-open","reason":"  "}`, ok, 400},
		{"unknown action", `{"name":"db","action":"explode","reason":"r"}`, ok, 400},
		{"bad for", `{"name":"db","action":"trip-for","for":"soon","reason":"r"}`, ok, 400},
		{"unknown circuit", `{"name":"nope","action":"trip","reason":"r"}`, ok, 404},
		{"fleet without a coordinator", `{"name":"db","action":"force-open","reason":"r","fleet":true}`, ok, 400},
	}
	for _, c := range refused {
		if code, body := k.post(t, c.body, c.header); code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.code)
		}
	}
	if k.db.State() != breaker.Closed {
		t.Fatalf("a refused action changed the circuit: %v", k.db.State())
	}
	req, _ := http.NewRequest(http.MethodGet, k.srv.URL+"/debug/tripwire/api/action", nil)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET of an action: %v %v", r.StatusCode, err)
	}

	code, body := k.post(t, `{"name":"db","action":"trip-for","for":"10m","reason":"failover drill"}`, with(map[string]string{"Origin": k.srv.URL}))
	if code != 200 || k.db.State() != breaker.Open {
		t.Fatalf("action: %d %s; state %v", code, body, k.db.State())
	}
	ts := k.db.Transitions()
	if e := ts[len(ts)-1].Evidence; e.Who != "alice" || e.Why != "failover drill" || e.Action != "trip-for 10m0s" {
		t.Errorf("evidence = %+v", e)
	}
	if log := k.logs.String(); !strings.Contains(log, "who=alice action=trip-for circuit=db why=\"failover drill\"") {
		t.Errorf("log = %s", log)
	}
}

func TestStreamSendsTransitionsAndCounts(t *testing.T) {
	k := newKit(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, k.srv.URL+"/debug/tripwire/api/events", nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(nil, 1<<20)
	// The first counts come once the hub listens: trip then.
	var sawCounts, sawTrip bool
	for sc.Scan() && !sawTrip {
		line := sc.Text()
		switch {
		case line == "event: counts" && !sawCounts:
			sawCounts = true
			fail(k.db)
			fail(k.db)
		case strings.HasPrefix(line, "data: ") && strings.Contains(line, `"to":"open"`) && strings.Contains(line, `"name":"db"`):
			sawTrip = true
		}
	}
	if !sawCounts || !sawTrip {
		t.Fatalf("stream: counts %v, trip %v (%v)", sawCounts, sawTrip, sc.Err())
	}
}
