package console_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
)

// TestShadowAction sets a circuit's shadow candidates through the JSON
// API, with the checks of every action, keeps those given again alike,
// refuses a bad spec with its column, and removes them all with an empty
// spec.
func TestShadowAction(t *testing.T) {
	k := newKit(t, func(r *http.Request) (string, error) {
		if u := r.Header.Get("X-User"); u != "" {
			return u, nil
		}
		return "", errors.New("no user")
	})
	alice := map[string]string{"X-User": "alice", "Origin": k.srv.URL}
	const cands = "shadow consecutive(1)@open=30s shadow lastn(0.5,10,20)"
	for _, c := range []struct {
		name, body string
		header     map[string]string
		code       int
	}{
		{"no reason", `{"name":"db","action":"shadow","spec":"` + cands + `","reason":" "}`, alice, 400},
		{"unauthorized", `{"name":"db","action":"shadow","spec":"` + cands + `","reason":"r"}`, map[string]string{}, 403},
		{"cross-origin", `{"name":"db","action":"shadow","spec":"` + cands + `","reason":"r"}`, map[string]string{"X-User": "alice", "Origin": "https://evil.example"}, 403},
		{"unknown circuit", `{"name":"nope","action":"shadow","spec":"` + cands + `","reason":"r"}`, alice, 404},
		{"fleet", `{"name":"db","action":"shadow","spec":"` + cands + `","reason":"r","fleet":true}`, alice, 400},
	} {
		if code, body := k.post(t, c.body, c.header); code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.code)
		}
	}
	type refusal struct {
		Error  string `json:"error"`
		Column int    `json:"column"`
		Caret  string `json:"caret"`
	}
	for _, c := range []struct {
		spec, field string
		column      int
	}{
		{"shadow rate(1.5,20,10s)", "Rate.ratio", 13},
		{" consecutive(3) shadow rate(0.5,20,10s)", "candidates only", 2},
	} {
		code, body := k.post(t, `{"name":"db","action":"shadow","spec":"`+c.spec+`","reason":"try"}`, alice)
		var bad refusal
		if err := json.Unmarshal([]byte(body), &bad); err != nil || code != 400 || bad.Column != c.column || !strings.Contains(bad.Error, c.field) ||
			bad.Caret != c.spec+"\n"+strings.Repeat(" ", c.column-1)+"^" {
			t.Errorf("%q: %d %s", c.spec, code, body)
		}
	}
	if len(k.db.Transitions()) != 0 || k.db.Shadows() != nil {
		t.Fatalf("a refused action changed the circuit: %+v", k.db.Transitions())
	}

	code, body := k.post(t, `{"name":"db","action":"shadow","spec":"`+cands+`","reason":"try a quicker one"}`, alice)
	if code != 200 || !strings.Contains(body, `"candidates":"shadow consecutive(1)@open=30s shadow lastn(0.5,10,20)"`) ||
		!strings.Contains(body, `"line":"consecutive(2)@open=1m,probes=3 shadow consecutive(1)@open=30s shadow lastn(0.5,10,20)"`) {
		t.Fatalf("shadow: %d %s", code, body)
	}
	tr := k.db.Transitions()[0]
	if e := tr.Evidence; tr.Cause != breaker.CauseReconfigure || !tr.Shadow || e.Action != "shadows" || e.Who != "alice" || e.Why != "try a quicker one" || e.Old != "" || e.New != cands {
		t.Fatalf("transition %+v, evidence %+v", tr, tr.Evidence)
	}
	fail(k.db) // trips consecutive(1) only
	if log := k.logs.String(); !strings.Contains(log, `who=alice action=shadow circuit=db why="try a quicker one" fleet=false old="" new="`+cands+`"`) {
		t.Errorf("log = %s", log)
	}

	// Again, one kept alike, one dropped.
	code, body = k.post(t, `{"name":"db","action":"shadow","spec":"shadow consecutive(1)@open=30s","reason":"lastn is no good"}`, alice)
	if code != 200 {
		t.Fatalf("shadow: %d %s", code, body)
	}
	if st := k.db.Shadows(); len(st) != 1 || st[0].State != breaker.Open || st[0].Calls != 1 {
		t.Fatalf("the kept candidate lost its state: %+v", st)
	}
	one := k.get(t, "/debug/tripwire/api/circuit?name=db")
	if !strings.Contains(one, `"action":"shadows"`) || !strings.Contains(one, `removed \"lastn(0.5,10,20)\"`) {
		t.Errorf("api/circuit: %s", one)
	}

	// An empty spec removes them all.
	code, body = k.post(t, `{"name":"db","action":"shadow","spec":" ","reason":"seen enough"}`, alice)
	if code != 200 || strings.Contains(body, `"candidates"`) || strings.Contains(body, `"shadows":[`) || k.db.Shadows() != nil {
		t.Fatalf("remove: %d %s", code, body)
	}
	if m := k.db.Metrics(); m.State != breaker.Closed {
		t.Fatalf("the live circuit moved: %+v", m)
	}
}
