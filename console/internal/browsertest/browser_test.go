package browsertest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/console"
	"github.com/tripwire-go/tripwire/policy"
)

var screenshot = flag.String("screenshot", "", "write a screenshot of the console to this PNG file")

// chromium finds a headless browser. Without one the tests skip, except
// in CI (CI=true), where .ci/run installs it and its absence is a failure.
func chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH; .ci/run installs Debian's chromium package")
	}
	t.Skip("no chromium on PATH (install Debian's chromium package to run this test)")
	return ""
}

// browser is one headless Chromium tab, with what its page logged as an
// error.
type browser struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	bin := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.WindowSize(1360, 760))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	// chromedp logs the DevTools events it does not know, which newer
	// browsers send: noise, not the page's errors (those are caught below).
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithErrorf(func(string, ...any) {}))
	t.Cleanup(bcancel)
	b := &browser{ctx: bctx}
	chromedp.ListenTarget(bctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeWarning {
				msg = fmt.Sprintf("console.%s: %v", ev.Type, ev.Args)
			}
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Error()
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.LevelError || ev.Entry.Level == cdplog.LevelWarning {
				msg = "log: " + ev.Entry.Text + " " + ev.Entry.URL
			}
		}
		if msg != "" {
			b.mu.Lock()
			b.errors = append(b.errors, msg)
			b.mu.Unlock()
		}
	})
	if err := chromedp.Run(bctx, cdplog.Enable(), runtime.Enable()); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) run(t testing.TB, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

func (b *browser) noErrors(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		t.Errorf("the page logged: %s", e)
	}
}

// service is a console over two breakers, on a local server, which
// records the status of every action request.
type service struct {
	db, api *breaker.Breaker[int]
	srv     *httptest.Server
	url     string
	mu      sync.Mutex
	actions []int
}

func newService(t *testing.T, authorize func(*http.Request) (string, error)) *service {
	t.Helper()
	s := &service{}
	s.db, _ = breaker.New(breaker.Config[int]{Name: "db", Policy: policy.Consecutive(2), CountCalls: true})
	s.api, _ = breaker.New(breaker.Config[int]{Name: "api", CountCalls: true})
	reg := new(breaker.Registry)
	if err := reg.Add(s.db, s.api); err != nil {
		t.Fatal(err)
	}
	c, err := console.New(reg, console.Options{Authorize: authorize, Interval: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/debug/tripwire/", c)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/api/action") {
			rec := &status{ResponseWriter: w, code: 200}
			mux.ServeHTTP(rec, r)
			s.mu.Lock()
			s.actions = append(s.actions, rec.code)
			s.mu.Unlock()
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { c.Close(); s.srv.Close() })
	s.url = s.srv.URL + "/debug/tripwire/"
	return s
}

type status struct {
	http.ResponseWriter
	code int
}

func (s *status) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }
func (s *status) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *service) fail(b *breaker.Breaker[int]) {
	_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("connection refused") })
}

func row(name, state string) string {
	return `tr[data-name="` + name + `"][data-state="` + state + `"]`
}

// The page loads with no console error; a circuit that trips shows as open
// through the stream, without a reload.
func TestPageShowsATripWithoutReload(t *testing.T) {
	s := newService(t, nil)
	b := newBrowser(t)
	b.run(t, chromedp.Navigate(s.url),
		chromedp.WaitVisible(row("db", "closed"), chromedp.ByQuery),
		chromedp.WaitVisible(`#live.on`, chromedp.ByQuery),
		chromedp.Evaluate(`window.__notReloaded = true`, nil))
	s.fail(s.db)
	s.fail(s.db)
	var same bool
	var why string
	b.run(t, chromedp.WaitVisible(row("db", "open"), chromedp.ByQuery),
		chromedp.Evaluate(`window.__notReloaded === true`, &same),
		chromedp.Text(row("db", "open")+` td.why`, &why, chromedp.ByQuery))
	if !same {
		t.Error("the page reloaded to show the trip")
	}
	if !strings.Contains(why, "consecutive: 2 failures in a row (threshold 2); last failure: connection refused") {
		t.Errorf("the row says why %q", why)
	}
	var first string
	b.run(t, chromedp.AttributeValue(`#rows tr`, "data-name", &first, nil, chromedp.ByQuery))
	if first != "db" {
		t.Errorf("first row %q, want the open circuit", first)
	}
	b.noErrors(t)
}

// With an authorizer, an action taken on the page takes effect, and its
// reason lands in the evidence.
func TestActionWithAuthorizerTakesEffect(t *testing.T) {
	s := newService(t, func(*http.Request) (string, error) { return "alice", nil })
	b := newBrowser(t)
	b.run(t, chromedp.Navigate(s.url),
		chromedp.WaitVisible(`button[data-act="api"]`, chromedp.ByQuery),
		chromedp.Click(`button[data-act="api"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#actdlg`, chromedp.ByQuery),
		chromedp.SetValue(`#actkind`, "force-open", chromedp.ByQuery),
		chromedp.SendKeys(`#actreason`, "maintenance window", chromedp.ByQuery),
		chromedp.Click(`#actgo`, chromedp.ByQuery),
		chromedp.WaitVisible(row("api", "open"), chromedp.ByQuery))
	if s.api.State() != breaker.Open || s.api.Metrics().Mode != breaker.ModeForcedOpen {
		t.Fatalf("api is %v, mode %v; want forced open", s.api.State(), s.api.Metrics().Mode)
	}
	ts := s.api.Transitions()
	if e := ts[len(ts)-1].Evidence; e.Who != "alice" || e.Why != "maintenance window" {
		t.Errorf("evidence = %+v", e)
	}
	b.noErrors(t)
}

// Without an authorizer the page offers no action, and one posted from the
// page anyway is refused; a cross-origin POST is refused too.
func TestActionsRefusedWithoutAuthorizerAndCrossOrigin(t *testing.T) {
	s := newService(t, nil)
	b := newBrowser(t)
	var buttons int
	var code int
	b.run(t, chromedp.Navigate(s.url),
		chromedp.WaitVisible(row("api", "closed"), chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("button[data-act]").length`, &buttons))
	b.noErrors(t) // before the refused POST, which the browser logs
	b.run(t, chromedp.Evaluate(`fetch("api/action", {method: "POST", headers: {"Content-Type": "application/json"},
			body: JSON.stringify({name: "api", action: "force-open", reason: "x"})}).then(r => r.status)`, &code,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if buttons != 0 || code != http.StatusForbidden {
		t.Errorf("read-only console: %d action buttons, a POST got %d", buttons, code)
	}

	// An authorizing console, and a page of another origin that posts to it
	// as a cross-site attacker would: a form, and a fetch.
	s = newService(t, func(*http.Request) (string, error) { return "anyone", nil })
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><form id="f" method="POST" action="%[1]sapi/action" enctype="text/plain">
<input name='{"name":"api","action":"force-open","reason":"x","pad":"' value='"}'></form>
<script>
fetch("%[1]sapi/action", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"},
  body: JSON.stringify({name: "api", action: "force-open", reason: "x"})})
  .finally(() => { document.title = "fetched"; document.getElementById("f").submit(); });
</script>`, s.url)
	}))
	defer evil.Close()
	b2 := newBrowser(t)
	b2.run(t, chromedp.Navigate(evil.URL), chromedp.WaitReady(`body`, chromedp.ByQuery))
	deadline := time.Now().Add(20 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.actions)
		s.mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		var title string
		b2.run(t, chromedp.Title(&title)) // a round trip to the browser, no sleep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.actions) < 2 {
		t.Fatalf("the cross-origin page made %d action requests, want 2", len(s.actions))
	}
	for _, code := range s.actions {
		if code < 400 {
			t.Errorf("a cross-origin action got %d", code)
		}
	}
	if s.api.State() != breaker.Closed {
		t.Errorf("a cross-origin action changed the circuit: %v", s.api.State())
	}
}

// TestScreenshot writes the screenshot of docs/console.md, with -screenshot
// FILE: circuits in every state, each with the evidence of its last
// transition.
func TestScreenshot(t *testing.T) {
	if *screenshot == "" {
		t.Skip("no -screenshot FILE")
	}
	reg := new(breaker.Registry)
	ctx := context.Background()
	mk := func(name string, p policy.Policy) *breaker.Breaker[int] {
		b, err := breaker.New(breaker.Config[int]{Name: name, Policy: p, CountCalls: true, OpenTimeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Add(b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	run := func(b *breaker.Breaker[int], ok, failed int, msg string) {
		for i := range ok + failed {
			_, _ = b.Execute(ctx, func(context.Context) (int, error) {
				if i%((ok+failed)/max(failed, 1)) == 0 && failed > 0 {
					failed--
					return 0, errors.New(msg)
				}
				return 1, nil
			})
		}
	}
	payments := mk("payments-api", policy.Rate(0.25, 20, 10*time.Second))
	run(payments, 19, 12, `POST https://payments.internal/v2/charge: 503 Service Unavailable`)
	search := mk("search", policy.Any(policy.Consecutive(5), policy.Slow(time.Second, 0.5, 20, time.Minute)))
	run(search, 40, 5, "search: dial tcp 10.0.3.7:9200: connect: connection refused")
	inventory := mk("inventory-db", nil)
	run(inventory, 120, 2, "pq: too many connections")
	_ = inventory.Act(breaker.Action{Kind: breaker.ActForceOpen, Who: "alice@ops", Why: "failover to the replica, INC-4312"})
	recs := mk("recommendations", policy.LastN(0.5, 10, 100))
	run(recs, 300, 30, "context deadline exceeded")
	_ = recs.Act(breaker.Action{Kind: breaker.ActDisable, Who: "bob@ops", Why: "false trips during the load test"})
	for _, n := range []string{"users", "auth", "cart", "shipping-quotes"} {
		run(mk(n, nil), 200+len(n)*37, len(n)%3, "EOF")
	}
	c, err := console.New(reg, console.Options{Title: "checkout-service", Authorize: func(*http.Request) (string, error) { return "you", nil }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	defer c.Close()
	b := newBrowser(t)
	var png []byte
	b.run(t, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(row("payments-api", "open"), chromedp.ByQuery),
		chromedp.WaitVisible(`#live.on`, chromedp.ByQuery), chromedp.FullScreenshot(&png, 100))
	if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	b.noErrors(t)
}

// A page over a thousand circuits shows every one of them, with no error.
// How long that takes is BenchmarkThousandCircuitsRender's to measure: a
// timed assertion here would fail on a loaded machine, not on a slow page.
func TestThousandCircuitsRender(t *testing.T) {
	srv := thousandCircuits(t)
	b := newBrowser(t)
	ms := renderRows(t, b, srv.URL)
	t.Logf("1000 circuits rendered %.0f ms after the navigation started", ms)
	b.noErrors(t)
}

// BenchmarkThousandCircuitsRender reports, as ms-to-render, the time from
// the start of a navigation to the last of a thousand rows in the
// document: the console's page must show a large service's circuits in
// under a second (docs/console.md).
func BenchmarkThousandCircuitsRender(b *testing.B) {
	srv := thousandCircuits(b)
	br := newBrowser(b)
	var total float64
	for b.Loop() {
		total += renderRows(b, br, srv.URL)
	}
	b.ReportMetric(total/float64(b.N), "ms-to-render")
}

// thousandCircuits serves a console over a thousand breakers, one in seven
// of them open.
func thousandCircuits(tb testing.TB) *httptest.Server {
	tb.Helper()
	reg := new(breaker.Registry)
	for i := range 1000 {
		b, err := breaker.New(breaker.Config[int]{Name: fmt.Sprintf("dep-%04d", i), Policy: policy.Consecutive(1), CountCalls: true})
		if err != nil {
			tb.Fatal(err)
		}
		if err := reg.Add(b); err != nil {
			tb.Fatal(err)
		}
		if i%7 == 0 {
			_, _ = b.Execute(context.Background(), func(context.Context) (int, error) { return 0, errors.New("down") })
		}
	}
	c, err := console.New(reg, console.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(c)
	tb.Cleanup(func() { c.Close(); srv.Close() })
	return srv
}

// renderRows loads the page and returns how many milliseconds after the
// start of the navigation its thousandth row was in the document.
func renderRows(tb testing.TB, b *browser, url string) float64 {
	tb.Helper()
	var ms float64
	b.run(tb, chromedp.Navigate(url+"/"),
		chromedp.Poll(`document.querySelectorAll("#rows tr").length === 1000`, nil, chromedp.WithPollingInterval(5*time.Millisecond)),
		chromedp.Evaluate(`Number(document.body.dataset.rendered)`, &ms))
	return ms
}

// The apply action, taken on the page, gives a circuit new settings that
// take effect at once (a threshold of one failure trips it), with the
// form prefilled with the circuit's settings; a bad spec is refused with
// its column, shown under the field with a caret.
func TestApplyTakesEffectAndABadSpecShowsItsColumn(t *testing.T) {
	s := newService(t, func(*http.Request) (string, error) { return "alice", nil })
	b := newBrowser(t)
	chooseApply := chromedp.Evaluate(`(() => { const k = document.getElementById("actkind"); k.value = "apply"; k.dispatchEvent(new Event("change")); })()`, nil)
	var prefilled string
	b.run(t, chromedp.Navigate(s.url),
		chromedp.WaitVisible(`button[data-act="db"]`, chromedp.ByQuery),
		chromedp.Click(`button[data-act="db"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#actdlg`, chromedp.ByQuery),
		chooseApply,
		chromedp.WaitVisible(`#actspec`, chromedp.ByQuery),
		chromedp.Value(`#actspec`, &prefilled, chromedp.ByQuery),
		chromedp.SetValue(`#actspec`, "consecutive(1)@open=30s,probes=1", chromedp.ByQuery),
		chromedp.SendKeys(`#actreason`, "trip sooner", chromedp.ByQuery),
		chromedp.Click(`#actgo`, chromedp.ByQuery),
		chromedp.WaitNotVisible(`#actdlg`, chromedp.ByQuery))
	if prefilled != "consecutive(2)@open=1m,probes=3" {
		t.Errorf("the form was prefilled with %q", prefilled)
	}
	if got := s.db.Settings().Text; got != "consecutive(1)@open=30s,probes=1" {
		t.Fatalf("db's settings are %q after apply", got)
	}
	ts := s.db.Transitions()
	if e := ts[len(ts)-1].Evidence; e.Action != "reconfigure" || e.Who != "alice" || e.Why != "trip sooner" || e.New != "consecutive(1)@open=30s,probes=1" {
		t.Errorf("evidence = %+v", e)
	}
	s.fail(s.db) // one failure trips it now
	var why string
	b.run(t, chromedp.WaitVisible(row("db", "open"), chromedp.ByQuery),
		chromedp.Text(row("db", "open")+` td.why`, &why, chromedp.ByQuery))
	if !strings.Contains(why, "1 failures in a row (threshold 1)") && !strings.Contains(why, "threshold 1") {
		t.Errorf("the row says why %q", why)
	}
	b.noErrors(t) // before the refused apply, whose 400 the browser logs

	var msg, caret string
	b.run(t, chromedp.Click(`button[data-act="db"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#actdlg`, chromedp.ByQuery),
		chooseApply,
		chromedp.WaitVisible(`#actspec`, chromedp.ByQuery),
		chromedp.SetValue(`#actspec`, "rate(1.5,20,10s)", chromedp.ByQuery),
		chromedp.SendKeys(`#actreason`, "typo", chromedp.ByQuery),
		chromedp.Click(`#actgo`, chromedp.ByQuery),
		chromedp.WaitVisible(`#actcaret`, chromedp.ByQuery),
		chromedp.Text(`#actmsg`, &msg, chromedp.ByQuery),
		chromedp.Text(`#actcaret`, &caret, chromedp.ByQuery))
	if !strings.Contains(msg, "column 6") || !strings.Contains(msg, "Rate.ratio") || caret != "rate(1.5,20,10s)\n     ^" {
		t.Errorf("a bad spec shows %q and caret %q", msg, caret)
	}
	if got := s.db.Settings().Text; got != "consecutive(1)@open=30s,probes=1" {
		t.Errorf("a refused apply changed the settings to %q", got)
	}
}

// The shadow action, taken on the page, puts candidates in force on a
// running circuit, with the form prefilled with its candidates (none at
// first), and an empty field removes them.
func TestShadowActionSetsCandidates(t *testing.T) {
	s := newService(t, func(*http.Request) (string, error) { return "alice", nil })
	b := newBrowser(t)
	// Clicked from the page's own script: the rows are rendered anew
	// while the test runs, and a node found before a render is gone.
	openDialog := chromedp.Evaluate(`document.querySelector('button[data-act="db"]').click()`, nil)
	chooseShadow := chromedp.Evaluate(`(() => { const k = document.getElementById("actkind"); k.value = "shadow"; k.dispatchEvent(new Event("change")); })()`, nil)
	var prefilled string
	b.run(t, chromedp.Navigate(s.url),
		chromedp.WaitVisible(`button[data-act="db"]`, chromedp.ByQuery),
		openDialog,
		chromedp.WaitVisible(`#actdlg`, chromedp.ByQuery),
		chooseShadow,
		chromedp.WaitVisible(`#actspec`, chromedp.ByQuery),
		chromedp.Value(`#actspec`, &prefilled, chromedp.ByQuery),
		chromedp.SetValue(`#actspec`, "shadow consecutive(1)@open=30s", chromedp.ByQuery),
		chromedp.SendKeys(`#actreason`, "try a quicker one", chromedp.ByQuery),
		chromedp.Click(`#actgo`, chromedp.ByQuery),
		chromedp.WaitNotVisible(`#actdlg`, chromedp.ByQuery))
	if prefilled != "" {
		t.Errorf("the form was prefilled with %q", prefilled)
	}
	if st := s.db.Shadows(); len(st) != 1 || st[0].Settings != "consecutive(1)@open=30s" {
		t.Fatalf("db's candidates are %+v", st)
	}
	b.run(t, // the page has the answer of the action: the candidates
		openDialog,
		chromedp.WaitVisible(`#actdlg`, chromedp.ByQuery),
		chooseShadow,
		chromedp.WaitVisible(`#actspec`, chromedp.ByQuery),
		chromedp.Value(`#actspec`, &prefilled, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById("actspec").value = ""`, nil),
		chromedp.SendKeys(`#actreason`, "seen enough", chromedp.ByQuery),
		chromedp.Click(`#actgo`, chromedp.ByQuery),
		chromedp.WaitNotVisible(`#actdlg`, chromedp.ByQuery))
	if prefilled != "shadow consecutive(1)@open=30s" {
		t.Errorf("the form was prefilled with %q", prefilled)
	}
	if st := s.db.Shadows(); st != nil {
		t.Fatalf("db's candidates are %+v after removing them", st)
	}
	b.noErrors(t)
}
