package console_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/console"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/internal/epochs"
)

// With a coordinator, the console shows the fleet's record of each attached
// circuit, and takes fleet-wide actions through it; a timed trip, which a
// fleet has not, is refused.
func TestFleetViewAndActions(t *testing.T) {
	clk := epochs.Mock(epochs.Today)
	co, err := fleet.New(fleet.Config{Store: fleet.NewMemory(clk), Driven: true, Instance: "a", FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	db, _ := breaker.New(breaker.Config[int]{Name: "db", Clock: clk})
	if _, err := co.Attach(db); err != nil {
		t.Fatal(err)
	}
	co.Step()
	reg := new(breaker.Registry)
	_ = reg.Add(db)
	var logs bytes.Buffer
	c, err := console.New(reg, console.Options{Fleet: co, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Authorize: func(*http.Request) (string, error) { return "carol", nil }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	defer c.Close()

	var l struct {
		Fleet    struct{ Instance string }
		Circuits []struct {
			Fleet struct {
				Attached, Known, Degraded bool
				State                     string
			}
		}
	}
	get := func() {
		r, err := http.Get(srv.URL + "/api/circuits")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		if err := json.NewDecoder(r.Body).Decode(&l); err != nil {
			t.Fatal(err)
		}
	}
	get()
	if f := l.Circuits[0].Fleet; l.Fleet.Instance != "a" || !f.Attached || f.Degraded {
		t.Fatalf("fleet view = %+v of instance %q", f, l.Fleet.Instance)
	}
	page, _ := http.Get(srv.URL + "/")
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	token := strings.Split(strings.Split(string(body), `name="tw-token" content="`)[1], `"`)[0]
	post := func(body string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/action", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(console.TokenHeader, token)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if code := post(`{"name":"db","action":"trip-for","for":"1m","reason":"r","fleet":true}`); code != http.StatusBadRequest {
		t.Errorf("a fleet-wide trip-for: %d, want 400", code)
	}
	if code := post(`{"name":"db","action":"force-open","reason":"region evacuation","fleet":true}`); code != http.StatusOK {
		t.Fatalf("a fleet-wide force-open: %d", code)
	}
	if m := db.Metrics(); m.State != breaker.Open || m.Mode != breaker.ModeForcedOpen {
		t.Fatalf("db after a fleet force-open: %v %v", m.State, m.Mode)
	}
	get()
	if f := l.Circuits[0].Fleet; !f.Known || f.State != "open" {
		t.Errorf("fleet view after force-open = %+v", f)
	}
	if !strings.Contains(logs.String(), `who=carol action=force-open circuit=db why="region evacuation" fleet=true`) {
		t.Errorf("log = %s", logs.String())
	}
}
