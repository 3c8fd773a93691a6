package console_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
)

// TestApply gives a circuit new settings through the JSON API, with the
// checks of every action, and refuses a bad spec with its column.
func TestApply(t *testing.T) {
	k := newKit(t, func(r *http.Request) (string, error) {
		if u := r.Header.Get("X-User"); u != "" {
			return u, nil
		}
		return "", errors.New("no user")
	})
	alice := map[string]string{"X-User": "alice", "Origin": k.srv.URL}
	fail(k.db) // a streak of 1 under Consecutive(2): carried over

	for _, c := range []struct {
		name, body string
		header     map[string]string
		code       int
	}{
		{"no reason", `{"name":"db","action":"apply","spec":"consecutive(3)","reason":" "}`, alice, 400},
		{"unauthorized", `{"name":"db","action":"apply","spec":"consecutive(3)","reason":"r"}`, map[string]string{}, 403},
		{"cross-origin", `{"name":"db","action":"apply","spec":"consecutive(3)","reason":"r"}`, map[string]string{"X-User": "alice", "Origin": "https://evil.example"}, 403},
		{"unknown circuit", `{"name":"nope","action":"apply","spec":"consecutive(3)","reason":"r"}`, alice, 404},
		{"fleet", `{"name":"db","action":"apply","spec":"consecutive(3)","reason":"r","fleet":true}`, alice, 400},
	} {
		if code, body := k.post(t, c.body, c.header); code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.code)
		}
	}

	code, body := k.post(t, `{"name":"db","action":"apply","spec":"rate(1.5,20,10s)@open=30s","reason":"tune"}`, alice)
	var bad struct {
		Error  string `json:"error"`
		Column int    `json:"column"`
		Caret  string `json:"caret"`
	}
	if err := json.Unmarshal([]byte(body), &bad); err != nil || code != 400 || bad.Column != 6 || !strings.Contains(bad.Error, "Rate.ratio") || bad.Caret != "rate(1.5,20,10s)@open=30s\n     ^" {
		t.Fatalf("bad spec: %d %s", code, body)
	}
	if len(k.db.Transitions()) != 0 {
		t.Fatalf("a refused apply changed the circuit: %+v", k.db.Transitions())
	}

	code, body = k.post(t, `{"name":"db","action":"apply","spec":"consecutive(2)@open=30s,probes=1","reason":"shorter outages"}`, alice)
	if code != 200 || !strings.Contains(body, `"settings":"consecutive(2)@open=30s,probes=1"`) {
		t.Fatalf("apply: %d %s", code, body)
	}
	ts := k.db.Transitions()
	e := ts[len(ts)-1].Evidence
	if ts[len(ts)-1].Cause != breaker.CauseReconfigure || e.Who != "alice" || e.Why != "shorter outages" || e.Old != "consecutive(2)@open=1m,probes=3" || e.New != "consecutive(2)@open=30s,probes=1" {
		t.Fatalf("transition %+v, evidence %+v", ts[len(ts)-1], e)
	}
	fail(k.db) // the second failure in a row: the streak carried over
	if m := k.db.Metrics(); m.State != breaker.Open || !m.Until.Equal(m.Since.Add(30e9)) {
		t.Fatalf("after the second failure: %v until %v (since %v), want open for the new 30s", m.State, m.Until, m.Since)
	}
	if log := k.logs.String(); !strings.Contains(log, `who=alice action=apply circuit=db why="shorter outages" fleet=false old="consecutive(2)@open=1m,probes=3" new="consecutive(2)@open=30s,probes=1"`) {
		t.Errorf("log = %s", log)
	}
	one := k.get(t, "/debug/tripwire/api/circuit?name=db")
	if !strings.Contains(one, `"cause":"reconfigure"`) || !strings.Contains(one, `"old":"consecutive(2)@open=1m,probes=3"`) {
		t.Errorf("api/circuit: %s", one)
	}
}
